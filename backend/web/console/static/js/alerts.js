// Alarms. Safety ones (noodknop, assistance, man-down, missed check-in) each get a banner in the safety lane:
// never collapsed, rendered at once from the AlertView and sounding until acknowledged; the context (crew,
// buurt, task, nearest units) is fetched afterwards and filled in. Routine ones (outside the beat, stale, duo
// apart) go to a collapsible list with "Alles gezien". An alert that arrives again (escalated) updates in place.
import { api } from "/web/static/js/api.js";
import { ALERT, ALERT_RANK, SAFETY, STATUS, TASK, clock, esc, metres, seconds } from "/web/static/js/format.js";

const CONTEXT_EVERY_MS = 30_000;
const ADDRESS_EVERY_MS = 2_000;
const SILENT = "STIL ALARM — niet terugbellen, via portofoon afstemmen";
const SOUND = {  // per level: 1 an open safety alarm, 2 an escalated one (louder, faster, higher)
  1: { every: 1500, gain: 0.08, tones: [880, 660, 880] },
  2: { every: 700, gain: 0.3, tones: [1320, 990, 1320] },
};

export class Alerts {
  constructor({ lane, laneList, laneCount, list, count, toggle, allSeen, soundButton, onAck, host }) {
    Object.assign(this, { lane, laneList, laneCount, list, count, toggle, allSeen, soundButton, onAck, host });
    this.alerts = new Map();
    this.cards = new Map();     // alert_id -> banner element in the safety lane
    this.context = new Map();   // alert_id -> AlertContext (or {error})
    this.notes = new Map();     // alert_id -> what the operator did from the banner ("A-03 gestuurd")
    this.contextAt = new Map(); // alert_id -> when its context was asked for (asked again every 30 s)
    this.pending = new Set();   // alert_ids whose context is being fetched
    this.audio = null;
    this.beeping = null;
    this.level = 0;
    this.collapsed = false;
    soundButton.addEventListener("click", () => { this.unlockAudio(); this.render(); });
    toggle.addEventListener("click", () => { this.collapsed = !this.collapsed; this.renderList(); });
    allSeen.addEventListener("click", () => this.acknowledgeRoutine());
    list.addEventListener("click", (e) => {
      const ack = e.target.closest("button[data-ack]");
      if (ack) { this.acknowledge(ack); return; }
      const li = e.target.closest("li[data-id]");
      if (li) this.host.focus(this.alerts.get(Number(li.dataset.id)));
    });
    laneList.addEventListener("click", (e) => this.onBannerClick(e));
  }

  // the acknowledgement travels over the socket; while it is down, say so and keep the alarm open
  acknowledge(button) {
    button.disabled = true;
    if (!this.onAck(Number(button.dataset.ack))) {
      button.disabled = false;
      button.textContent = "Geen verbinding — opnieuw";
    }
  }

  // "Alles gezien": every open routine alarm, one ack_alert each; a safety alarm is never among them
  acknowledgeRoutine() {
    const routine = [...this.alerts.values()].filter((a) => !a.acknowledged_at && !SAFETY.has(a.kind));
    let failed = false;
    for (const a of routine) if (!this.onAck(a.alert_id)) failed = true;
    this.allSeen.textContent = failed ? "Geen verbinding — opnieuw" : "Alles gezien";
    this.allSeen.disabled = !failed;
  }

  // Browsers allow sound only after a user gesture: the login click, or the button in the top bar.
  unlockAudio() {
    if (!this.audio) {
      try { this.audio = new AudioContext(); } catch (e) { return; }
    }
    if (this.audio.state === "suspended") this.audio.resume();
  }

  replace(list) {
    this.alerts = new Map(list.filter((a) => !a.resolved_at).map((a) => [a.alert_id, a]));
    this.render();
  }

  put(alert) {
    // a routine alarm whose condition has cleared for a while comes back resolved: it leaves the list
    if (alert.resolved_at) { this.alerts.delete(alert.alert_id); this.render(); return; }
    const before = this.alerts.get(alert.alert_id);
    this.alerts.set(alert.alert_id, alert);
    this.render();
    // an escalated alarm arrives again: fetch its context anew (the unit may have moved meanwhile)
    if (before && before.escalation_level !== alert.escalation_level && this.cards.has(alert.alert_id)) {
      this.loadContext(alert.alert_id);
    }
  }

  sorted() {
    return [...this.alerts.values()].sort((a, b) =>
      (a.acknowledged_at ? 1 : 0) - (b.acknowledged_at ? 1 : 0)
      || (ALERT_RANK[a.kind] ?? 9) - (ALERT_RANK[b.kind] ?? 9)
      || Date.parse(b.at) - Date.parse(a.at));
  }

  openSafety() {
    return [...this.alerts.values()].filter((a) => !a.acknowledged_at && SAFETY.has(a.kind)).sort((a, b) =>
      (b.escalation_level || 0) - (a.escalation_level || 0) || Date.parse(b.at) - Date.parse(a.at));
  }

  render() {
    this.renderLane();
    this.renderList();
    const urgent = this.openSafety();
    const level = urgent.length === 0 ? 0 : urgent.some((a) => (a.escalation_level || 0) >= 1) ? 2 : 1;
    this.soundButton.hidden = !(urgent.length && (!this.audio || this.audio.state !== "running"));
    this.sound(level);
  }

  // --- the safety lane ---------------------------------------------------------------------------------

  renderLane() {
    const open = this.openSafety();
    for (const [id, card] of this.cards) {
      if (!open.some((a) => a.alert_id === id)) {
        card.remove(); this.cards.delete(id); this.context.delete(id); this.contextAt.delete(id);
      }
    }
    for (const a of open) {
      let card = this.cards.get(a.alert_id);
      if (!card) {
        card = document.createElement("article");
        card.dataset.alert = a.alert_id;
        this.cards.set(a.alert_id, card);
      }
      this.fill(card, a);
      if (!this.context.has(a.alert_id)) this.loadContext(a.alert_id);
    }
    // newest and escalated first; move nodes only when the order changed (a click in a banner survives)
    const order = open.map((a) => this.cards.get(a.alert_id));
    if (order.some((card, i) => this.laneList.children[i] !== card)) this.laneList.replaceChildren(...order);
    this.lane.hidden = open.length === 0;
    this.laneCount.textContent = open.length === 1 ? "1 veiligheidsalarm open"
      : `${open.length} veiligheidsalarmen open${open.length > 2 ? " — scroll voor alle" : ""}`;
  }

  // the banner is already shown (and sounding); a refresh keeps showing the previous context meanwhile
  async loadContext(id) {
    if (this.pending.has(id)) return;
    this.pending.add(id);
    this.contextAt.set(id, Date.now());
    let ctx;
    try { ctx = await api("GET", `/api/alerts/${id}/context`); } catch (e) { ctx = { error: e.message }; }
    this.pending.delete(id);
    if (ctx.error && this.context.get(id) && !this.context.get(id).error) return;  // keep what we had
    this.context.set(id, ctx);
    this.refresh(id);
  }

  refresh(id) {
    const card = this.cards.get(id);
    const a = this.alerts.get(id);
    if (card && a) this.fill(card, a);
  }

  // a unit moved or changed status: its banners show the new buurt and position age
  unitChanged(unitId) {
    for (const a of this.openSafety()) if (a.unit_id === unitId) this.refresh(a.alert_id);
  }

  fill(card, a) {
    const level = a.escalation_level || 0;
    card.className = `alarm kind-${a.kind}${level >= 1 ? " escalated" : ""}${a.silent ? " silent" : ""}`;
    const html = this.bannerHtml(a, this.context.get(a.alert_id), this.host.unitView(a.unit_id));
    // rewrite only what changed, so a live update never swallows the click the operator is making
    if (card.dataset.html !== html) { card.innerHTML = html; card.dataset.html = html; this.tick(Date.now(), card); }
  }

  bannerHtml(a, ctx, unit) {
    const level = a.escalation_level || 0;
    const loading = ctx === undefined;
    const failed = ctx && ctx.error;
    const c = loading || failed ? null : ctx;
    // where: the unit as the live picture has it now (it keeps moving after the alarm); else the context's
    // (or the alarm's own) position
    const live = unit && unit.lon != null;
    const beatNames = live ? unit.beat_ids.map((b) => this.host.beatNames.get(b)).filter(Boolean)
      : (c ? c.beats.map((b) => b.name) : []);
    const lon = live ? unit.lon : c?.lon ?? a.lon, lat = live ? unit.lat : c?.lat ?? a.lat;
    const at = live ? unit.at : c?.position_at ?? null;
    const accuracy = live ? unit.accuracy_m : c?.accuracy_m ?? null;
    const where = [
      beatNames.length ? `<b>${beatNames.map(esc).join(", ")}</b>` : (lon == null ? "<b>positie onbekend</b>" : "buiten bekende buurten"),
      at ? `positie <span class="age" data-at="${esc(at)}"></span> oud` : (lon != null ? "positie uit het alarm" : ""),
      accuracy != null ? `± ${Math.round(accuracy)} m` : "",
      lon != null ? `<span class="coords">${lat.toFixed(5)}, ${lon.toFixed(5)}</span>` : "",
    ].filter(Boolean).join(" · ");
    // the address is looked up after the alarm is stored (never before it reaches the console)
    const address = c?.address ? esc(c.address)
      : c && (c.address_state === "unreachable" || c.address_state === "off") ? '<span class="muted">adres onbekend — geocoder niet bereikbaar</span>'
      : c && c.address_state === "none" ? '<span class="muted">geen adres bij deze plaats bekend</span>'
      : '<span class="muted">adres wordt opgezocht…</span>';
    const phone = (p, r) => [p ? `☎ ${esc(p)}` : "", r ? `portofoon ${esc(r)}` : ""].filter(Boolean).join(" · ");
    let who;
    if (c) {
      const crew = c.crew.length ? c.crew.map((m) => `<span class="person"><b>${esc(m.name)}</b> ${phone(m.phone, m.portofoon)}</span>`).join("")
        : '<span class="muted">geen namen bij deze dienst</span>';
      const own = phone(c.unit_phone, c.unit_portofoon);
      who = `${crew}${own ? `<span class="person">eenheid ${own}</span>` : ""}`;
    } else who = `<span class="muted">${failed ? `niet op te halen: ${esc(ctx.error)}` : "namen en nummers worden opgehaald…"}</span>`;
    const task = c ? (c.task ? `${esc(c.task.title)} (${esc(TASK[c.task.state] || c.task.state)})` : "geen taak") : this.localTask(a);
    const nearest = c ? (c.nearest.length ? c.nearest.map((n) => `<span class="near"><b>${esc(n.call_sign)}</b> ${metres(n.distance_m)}${n.stale ? " (positie verouderd)" : ""}
        <button class="small" data-send="${n.unit_id}" data-call-sign="${esc(n.call_sign)}">Stuur</button></span>`).join("")
      : '<span class="muted">geen beschikbare eenheid met positie</span>') : '<span class="muted">…</span>';
    const note = this.notes.get(a.alert_id);
    return `
      <header>
        <button data-ack="${a.alert_id}">Bevestigen</button>
        <span class="title">⚠ ${esc(ALERT[a.kind] || a.kind)} ${esc(a.call_sign || "onbekende eenheid")}</span>
        <time>om ${clock(a.at)}</time>
        ${level >= 1 ? `<span class="esc">NIET BEVESTIGD — GEËSCALEERD${level > 1 ? ` (stap ${level})` : ""}${a.escalated_at ? ` om ${clock(a.escalated_at)}` : ""}</span>` : ""}
        ${unit?.status === "emergency" ? `<span class="pill st-emergency">${STATUS.emergency}</span>` : ""}
      </header>
      ${a.silent ? `<p class="silent-note">${SILENT}</p>` : ""}
      ${a.text ? `<p class="text">“${esc(a.text)}”</p>` : ""}
      <dl>
        <dt>Waar</dt><dd>${where} <span class="addr">${address}</span></dd>
        <dt>Wie</dt><dd class="who">${who}</dd>
        <dt>Taak</dt><dd>${task}</dd>
        <dt>Dichtbij</dt><dd class="nearest">${nearest}</dd>
      </dl>
      <div class="actions">
        <button class="small ghost" data-zoom>Zoom naar eenheid</button>
        <button class="small ghost" data-melding>Melding maken</button>
        <span class="note">${note ? esc(note) : ""}</span>
      </div>`;
  }

  localTask(a) {
    const t = a.unit_id == null ? null : this.host.taskOf(a.unit_id);
    return t ? `${esc(t.incident.category)} (${esc(TASK[t.state] || t.state)})` : '<span class="muted">…</span>';
  }

  // every second: the position ages in the banners, without touching anything else
  tick(now = Date.now(), root = this.laneList) {
    for (const span of root.querySelectorAll(".age[data-at]")) {
      span.textContent = seconds((now - Date.parse(span.dataset.at)) / 1000);
    }
    if (root !== this.laneList) return;
    // the nearest units move and get tasks: an open banner asks for its context again now and then
    for (const id of this.cards.keys()) {
      const ctx = this.context.get(id);
      // an address still being looked up is asked for again soon, not only every 30 s
      const every = ctx && !ctx.error && ctx.address_state == null ? ADDRESS_EVERY_MS : CONTEXT_EVERY_MS;
      if (now - (this.contextAt.get(id) || 0) > every) this.loadContext(id);
    }
  }

  async onBannerClick(e) {
    const b = e.target.closest("button");
    const card = e.target.closest("article[data-alert]");
    if (!b || !card) return;
    const a = this.alerts.get(Number(card.dataset.alert));
    if (!a) return;
    const ctx = this.context.get(a.alert_id);
    const c = ctx && !ctx.error ? ctx : null;
    if (b.dataset.ack) this.acknowledge(b);
    else if (b.dataset.zoom !== undefined) this.host.zoomTo(a, c);
    else if (b.dataset.melding !== undefined) this.host.makeMelding(a, c);
    else if (b.dataset.send) {
      b.disabled = true;
      const name = b.dataset.callSign;
      try {
        await this.host.send(a, c, Number(b.dataset.send));
        this.notes.set(a.alert_id, `${name} gestuurd ✓`);
        this.loadContext(a.alert_id);  // the sent unit is no longer free: fetch the nearest anew
      } catch (err) {
        this.notes.set(a.alert_id, `${name} niet gestuurd: ${err.message}`);
      }
      this.render();
    }
  }

  // --- the routine list (and what was acknowledged) ----------------------------------------------------

  renderList() {
    const items = this.sorted().filter((a) => !SAFETY.has(a.kind) || a.acknowledged_at).slice(0, 200);
    const open = items.filter((a) => !a.acknowledged_at);
    this.count.textContent = open.length || "";
    this.allSeen.hidden = open.length === 0;
    if (open.length) { this.allSeen.disabled = false; this.allSeen.textContent = "Alles gezien"; }
    this.toggle.textContent = this.collapsed ? "Uitklappen ▸" : "Inklappen ▾";
    this.toggle.setAttribute("aria-expanded", String(!this.collapsed));
    this.list.hidden = this.collapsed;
    this.list.innerHTML = items.length ? items.map((a) => `
      <li data-id="${a.alert_id}" class="${a.acknowledged_at ? "acked" : "open"} ${a.kind}">
        <span class="what"><span class="kind">${esc(ALERT[a.kind] || a.kind)}</span> — ${esc(a.call_sign || "onbekende eenheid")}
          ${a.text ? `: ${esc(a.text)}` : ""}
          <small>${clock(a.at)}${a.acknowledged_at ? ` · bevestigd door ${esc(a.acknowledged_by || "?")} om ${clock(a.acknowledged_at)}` : ""}</small>
        </span>
        ${a.acknowledged_at ? "" : `<button class="small" data-ack="${a.alert_id}">Bevestigen</button>`}
      </li>`).join("") : '<li class="empty">Geen routinealarmen.</li>';
  }

  // --- sound --------------------------------------------------------------------------------------------

  sound(level) {
    window.__schakel.alarmLevel = level;
    if (level === this.level) return;
    if (this.beeping) { clearInterval(this.beeping); this.beeping = null; }
    this.level = level;
    if (level > 0) {
      this.beeping = setInterval(() => this.beep(), SOUND[level].every);
      this.beep();
    }
  }

  beep() {
    const ctx = this.audio;
    const { gain: volume, tones } = SOUND[this.level] || SOUND[1];
    if (!ctx || ctx.state !== "running") return;
    tones.forEach((freq, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      osc.type = "square";
      gain.gain.value = volume;
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + i * 0.2);
      osc.stop(ctx.currentTime + i * 0.2 + 0.16);
    });
    window.__schakel.beeps = (window.__schakel.beeps || 0) + 1;
    window.__schakel.beepGain = volume;
  }
}
