// The operator websocket: hello, snapshot, then deltas and alerts. Reconnects by itself.
import { token, refresh } from "/web/static/js/api.js";

export const frameTimes = [];  // ms spent handling each snapshot/delta frame (for the benchmark)
window.__schakel = { frameTimes };

export class Live {
  constructor(handlers) {
    this.h = handlers;  // {onSnapshot, onDelta, onAlert, onError, onState}
    this.ws = null;
    this.backoff = 1000;
    this.stopped = false;
  }

  start() { this.stopped = false; this.connect(); }

  stop() { this.stopped = true; if (this.ws) this.ws.close(); }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) { this.ws.send(JSON.stringify(frame)); return true; }
    return false;
  }

  connect() {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/operator`;
    const ws = new WebSocket(url);
    this.ws = ws;
    let fatal = null;
    ws.onopen = () => ws.send(JSON.stringify({ kind: "hello", token: token() }));
    ws.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      const t0 = performance.now();
      if (frame.kind === "snapshot") { this.backoff = 1000; this.h.onState(true); this.h.onSnapshot(frame); }
      else if (frame.kind === "delta") this.h.onDelta(frame);
      else if (frame.kind === "alert") this.h.onAlert(frame.alert);
      else if (frame.kind === "error") { if (frame.fatal) fatal = frame; this.h.onError(frame); }
      if (frame.kind === "snapshot" || frame.kind === "delta") {
        frameTimes.push(performance.now() - t0);
        if (frameTimes.length > 5000) frameTimes.splice(0, 1000);
      }
    };
    ws.onclose = async () => {
      if (this.ws !== ws) return;
      this.h.onState(false);
      if (this.stopped) return;
      if (fatal && fatal.code === "unauthorized") await refresh();
      setTimeout(() => { if (!this.stopped) this.connect(); }, this.backoff);
      this.backoff = Math.min(this.backoff * 2, 10000);
    };
  }
}
