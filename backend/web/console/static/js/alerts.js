// One alert queue: unacknowledged first, most urgent first, newest first. Noodknop: banner and sound until acked.
import { ALERT, ALERT_RANK, clock, esc } from "/web/static/js/format.js";

const SAFETY = new Set(["noodknop", "assistance"]);

export class Alerts {
  constructor({ list, count, banner, soundButton, onAck, onFocus }) {
    Object.assign(this, { list, count, banner, soundButton, onAck, onFocus });
    this.alerts = new Map();
    this.audio = null;
    this.beeping = null;
    soundButton.addEventListener("click", () => { this.unlockAudio(); this.render(); });
    list.addEventListener("click", (e) => {
      const ack = e.target.closest("button[data-ack]");
      if (ack) { this.acknowledge(ack); return; }
      const li = e.target.closest("li[data-id]");
      if (li) this.onFocus(this.alerts.get(Number(li.dataset.id)));
    });
    banner.addEventListener("click", (e) => {
      const ack = e.target.closest("button[data-ack]");
      if (ack) this.acknowledge(ack);
    });
  }

  // the acknowledgement travels over the socket; while it is down, say so and keep the alarm open
  acknowledge(button) {
    button.disabled = true;
    if (!this.onAck(Number(button.dataset.ack))) {
      button.disabled = false;
      button.textContent = "Geen verbinding — opnieuw";
    }
  }

  // Browsers allow sound only after a user gesture: the login click, or the button in the top bar.
  unlockAudio() {
    if (!this.audio) {
      try { this.audio = new AudioContext(); } catch (e) { return; }
    }
    if (this.audio.state === "suspended") this.audio.resume();
  }

  replace(list) { this.alerts = new Map(list.map((a) => [a.alert_id, a])); this.render(); }

  put(alert) { this.alerts.set(alert.alert_id, alert); this.render(); }

  sorted() {
    return [...this.alerts.values()].sort((a, b) =>
      (a.acknowledged_at ? 1 : 0) - (b.acknowledged_at ? 1 : 0)
      || (ALERT_RANK[a.kind] ?? 9) - (ALERT_RANK[b.kind] ?? 9)
      || Date.parse(b.at) - Date.parse(a.at));
  }

  render() {
    const items = this.sorted().slice(0, 200);
    const open = items.filter((a) => !a.acknowledged_at);
    this.count.textContent = open.length || "";
    this.list.innerHTML = items.length ? items.map((a) => `
      <li data-id="${a.alert_id}" class="${a.acknowledged_at ? "acked" : "open"} ${a.kind}">
        <span class="what"><span class="kind">${esc(ALERT[a.kind] || a.kind)}</span> — ${esc(a.call_sign || "onbekende eenheid")}
          ${a.text ? `: ${esc(a.text)}` : ""}
          <small>${clock(a.at)}${a.acknowledged_at ? ` · bevestigd door ${esc(a.acknowledged_by || "?")} om ${clock(a.acknowledged_at)}` : ""}</small>
        </span>
        ${a.acknowledged_at ? "" : `<button class="small" data-ack="${a.alert_id}">Bevestigen</button>`}
      </li>`).join("") : '<li class="empty">Geen alarmen.</li>';
    const urgent = open.filter((a) => SAFETY.has(a.kind));
    this.banner.hidden = urgent.length === 0;
    this.banner.innerHTML = urgent.map((a) => `
      <span>⚠ ${esc(ALERT[a.kind])} ${esc(a.call_sign || "")} om ${clock(a.at)}${a.text ? " — " + esc(a.text) : ""}</span>
      <button data-ack="${a.alert_id}">Bevestigen</button>`).join("");
    this.soundButton.hidden = !(urgent.length && (!this.audio || this.audio.state !== "running"));
    this.sound(urgent.length > 0);
  }

  sound(on) {
    if (on && !this.beeping) {
      this.beeping = setInterval(() => this.beep(), 1500);
      this.beep();
    } else if (!on && this.beeping) {
      clearInterval(this.beeping);
      this.beeping = null;
    }
  }

  beep() {
    const ctx = this.audio;
    if (!ctx || ctx.state !== "running") return;
    for (const [offset, freq] of [[0, 880], [0.25, 660], [0.5, 880]]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      osc.type = "square";
      gain.gain.value = 0.08;
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + offset);
      osc.stop(ctx.currentTime + offset + 0.2);
    }
    window.__schakel.beeps = (window.__schakel.beeps || 0) + 1;
  }
}
