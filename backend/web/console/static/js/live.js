// The operator websocket: hello, snapshot, then deltas and alerts. Reconnects by itself.
// Keep-alive: a ping every PING_EVERY_MS; a socket that brings nothing (no pong, no frame) for SILENT_MS after
// a ping (or after connecting) is dropped and a new one opened (hello + a fresh snapshot), so a console on a
// hung instance (its sockets open, nothing answering) moves to a working one instead of waiting for the
// proxy's tunnel timeout. Silence is counted from the unanswered ping, not from the last frame, so a
// background tab whose timers the browser slows down is not dropped for a quiet minute.
import { token, refresh } from "/web/static/js/api.js";

const PING_EVERY_MS = 2000;
const SILENT_MS = 8000;
const WATCH_EVERY_MS = 1000;

export const frameTimes = [];  // ms spent handling each snapshot/delta frame (for the benchmark)
window.__schakel = { frameTimes };

export class Live {
  constructor(handlers) {
    this.h = handlers;  // {onSnapshot, onDelta, onAlert, onError, onState}
    this.ws = null;
    this.backoff = 1000;
    this.stopped = false;
    this.heardAt = 0;  // when the current socket last brought anything
    this.askedAt = 0;  // when it was opened or sent the oldest ping not yet answered
    this.nonce = 0;
    this.watchdog = null;
  }

  start() { this.stopped = false; this.connect(); }

  stop() { this.stopped = true; clearInterval(this.watchdog); if (this.ws) this.ws.close(); }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) { this.ws.send(JSON.stringify(frame)); return true; }
    return false;
  }

  connect() {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/operator`;
    const ws = new WebSocket(url);
    this.ws = ws;
    this.heardAt = 0;
    this.askedAt = Date.now();
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => this.keepAlive(ws), WATCH_EVERY_MS);
    let fatal = null;
    ws.onopen = () => ws.send(JSON.stringify({ kind: "hello", token: token() }));
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;  // a socket given up on
      this.heardAt = Date.now();
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
      this.ws = null;
      clearInterval(this.watchdog);
      this.h.onState(false);
      if (this.stopped) return;
      if (fatal && fatal.code === "unauthorized") await refresh();
      this.reconnect();
    };
  }

  reconnect() {
    setTimeout(() => { if (!this.stopped) this.connect(); }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, 10000);
  }

  keepAlive(ws) {
    if (this.ws !== ws) return;
    const now = Date.now();
    if (this.heardAt < this.askedAt && now - this.askedAt > SILENT_MS) {
      // the server went silent (hung instance, dead path): its close handshake would never come either
      this.ws = null;
      clearInterval(this.watchdog);
      try { ws.close(); } catch { /* already closing */ }
      this.h.onState(false);
      if (!this.stopped) this.reconnect();
      return;
    }
    // the next ping once the previous one was answered and PING_EVERY_MS have passed since it
    if (ws.readyState === WebSocket.OPEN && this.heardAt >= this.askedAt && now - this.askedAt >= PING_EVERY_MS) {
      this.askedAt = now;
      this.nonce = (this.nonce + 1) % 1000000;
      ws.send(JSON.stringify({ kind: "ping", nonce: this.nonce }));
    }
  }
}
