// The meldkamer console: login, then the live picture over the operator socket and the dispatch API.
import { api, current, logout, resume, setLoggedOutHandler } from "/web/static/js/api.js";
import { bindLogin } from "/web/static/js/login.js";
import { Live } from "./live.js";
import { LiveMap } from "./map.js";
import { Alerts } from "./alerts.js";
import { UnitList } from "./units.js";
import { Incidents } from "./incidents.js";
import { RoosterNow } from "./rooster.js";
import { AreaAlerts } from "./areaalerts.js";
import { ALERT, STATUS, TASK, age, clock, esc } from "/web/static/js/format.js";
import { ICONS } from "./icons.js";

const $ = (id) => document.getElementById(id);
let app = null;

function showLogin() {
  if (app) { app.live.stop(); app.rooster.stop(); }
  $("console").hidden = true;
  $("login").hidden = false;
}

// a logged-out console starts over; on the login screen (a refused role) the refusal message must stay
setLoggedOutHandler(() => { if (app) location.reload(); });

bindLogin({
  form: $("login-form"),
  error: $("login-error"),
  roles: ["operator", "teamlead", "admin"],
  denied: "Dit account heeft geen toegang tot de meldkamer.",
  onLoggedIn: () => start(true),
});

async function start(gesture) {
  $("login").hidden = true;
  $("console").hidden = false;
  const session = current();
  $("who").textContent = session.display_name;
  // a team lead or administrator also has the workspace; the console links to it
  const workspace = { teamlead: "/teamleider/", admin: "/beheer/" }[session.role];
  $("workspace-link").hidden = !workspace;
  if (workspace) {
    $("workspace-link").href = workspace;
    $("workspace-link").textContent = session.role === "admin" ? "Beheer" : "Teamleider";
  }
  const config = await fetch("/meldkamer/config.json").then((r) => r.json());
  app = new Console(config);
  window.__schakel.app = app;  // for tests and the frame-time benchmark
  if (gesture) app.alerts.unlockAudio();
  await app.loadBeats();
  app.live.start();
  app.rooster.start();
}

class Console {
  constructor(config) {
    this.beatNames = new Map();
    this.unitViews = new Map();
    this.map = new LiveMap($("map"), config, {
      onUnitClick: (id) => this.showUnit(id),
      onIncidentClick: (id) => { this.tab("incidents"); this.incidents.open(id); },
      onMapClick: (lon, lat) => { if (!$("tab-new").hidden) this.incidents.pick(lon, lat); },
    });
    this.alerts = new Alerts({
      lane: $("emergency"), laneList: $("safety-list"), laneCount: $("safety-count"),
      list: $("alert-list"), count: $("alert-count"), toggle: $("alerts-toggle"), allSeen: $("alerts-seen"),
      soundButton: $("sound"),
      onAck: (id) => this.live.send({ kind: "ack_alert", alert_id: id }),
      host: {
        unitView: (id) => this.unitViews.get(id),
        beatNames: this.beatNames,
        taskOf: (id) => this.incidents.taskOf(id),
        focus: (a) => { if (a.lon != null) this.map.focus(a.lon, a.lat); else if (a.unit_id) this.map.focusUnit(a.unit_id); },
        zoomTo: (a, ctx) => this.zoomToAlarm(a, ctx),
        makeMelding: (a, ctx) => this.meldingFromAlarm(a, ctx),
        send: (a, ctx, unitId) => this.sendToAlarm(a, ctx, unitId),
      },
    });
    this.areaAlerts = new AreaAlerts({
      panel: $("area-alerts"), list: $("area-alert-list"), count: $("area-alert-count"), map: this.map.map,
      callSign: (id) => this.unitViews.get(id)?.call_sign,
    });
    this.incidents = new Incidents({
      list: $("incident-list"), count: $("incident-count"), detail: $("detail"), form: $("incident-form"),
      formError: $("incident-error"), picked: $("picked"), map: this.map, showTab: (t) => this.tab(t),
      beatNames: this.beatNames, suggestions: $("address-suggestions"), geocoderState: $("geocoder-state"),
    });
    this.incidents.onOpen = () => { this.shownUnit = null; this.map.clearReplay(); };
    this.units = new UnitList({
      rows: $("unit-rows"), filter: $("unit-filter"), statusFilter: $("status-filter"),
      head: document.querySelector("table.units thead"), onSelect: (id) => { this.map.focusUnit(id); this.showUnit(id); },
      beatNames: this.beatNames, taskOf: (id) => this.incidents.taskOf(id),
    });
    this.rooster = new RoosterNow({
      list: $("tab-rooster"), count: $("rooster-count"),
      onShowUnit: (id) => { this.map.focusUnit(id); this.showUnit(id); },
    });
    this.live = new Live({
      onSnapshot: (s) => this.snapshot(s), onDelta: (d) => this.delta(d), onAlert: (a) => this.alerts.put(a),
      onError: (e) => { if (e.fatal && e.code !== "unauthorized") $("conn").textContent = `Geweigerd: ${e.message}`; },
      onState: (up) => this.connection(up),
    });
    for (const b of document.querySelectorAll(".tabs button")) {
      b.addEventListener("click", () => { this.closeDetail(); this.tab(b.dataset.tab); });
    }
    $("logout").addEventListener("click", () => logout());
    $("detail").addEventListener("click", (e) => this.onUnitDetailClick(e));
    setInterval(() => this.everySecond(), 1000);
  }

  async loadBeats() {
    try {
      const beats = await api("GET", "/api/beats");
      for (const f of beats.features) this.beatNames.set(f.properties.id, f.properties.name);
      this.map.setBeats(beats);
    } catch (e) { console.warn("beats", e); }
  }

  tab(name) {
    for (const b of document.querySelectorAll(".tabs button")) b.classList.toggle("active", b.dataset.tab === name);
    for (const t of ["units", "incidents", "rooster", "new"]) $(`tab-${t}`).hidden = t !== name;
    if (name === "units") this.units.render();
    if (name === "rooster") this.rooster.load();
    if (name !== "new") this.map.clearPick();
  }

  // the detail covers the lower part of the side panel; a tab click brings the whole list back
  closeDetail() {
    if (this.incidents.selected != null) this.incidents.close();
    if (this.shownUnit != null) { this.shownUnit = null; this.map.clearReplay(); }
    $("detail").hidden = true;
    $("detail").dataset.kind = "";
  }

  connection(up) {
    $("offline").hidden = up;
    $("conn").className = `conn ${up ? "conn-up" : "conn-down"}`;
    $("conn").textContent = up ? "Verbonden" : "Verbinding verbroken";
  }

  snapshot(s) {
    this.unitViews = new Map(s.units.map((u) => [u.unit_id, u]));
    for (const id of [...this.map.units.keys()]) if (!this.unitViews.has(id)) this.map.putUnit({ unit_id: id });
    for (const u of s.units) this.map.putUnit(u);
    this.units.replace(s.units);
    this.incidents.replace(s.incidents || []);
    this.alerts.replace(s.alerts);
    this.areaAlerts.replace(s.area_alerts || []);
    this.counts();
    this.units.render();
  }

  delta(d) {
    let newUnit = false;
    for (const u of d.units) {
      if (!this.unitViews.has(u.unit_id)) newUnit = true;
      this.unitViews.set(u.unit_id, u); this.map.putUnit(u); this.units.put(u); this.alerts.unitChanged(u.unit_id);
    }
    for (const a of d.alerts || []) this.alerts.put(a);
    for (const i of d.incidents || []) this.incidents.put(i);
    if (d.timeline && d.timeline.length) this.incidents.addTimeline(d.timeline);
    for (const m of d.messages || []) this.messageChanged(m);
    if (newUnit) this.areaAlerts.unitsChanged();  // "bereikt" names a unit by its call sign once known
    for (const a of d.area_alerts || []) this.areaAlerts.put(a);
    if (d.units.length) this.counts();
    if (this.shownUnit != null && d.units.some((u) => u.unit_id === this.shownUnit)) this.renderUnit();
  }

  counts() {
    let on = 0, stale = 0;
    for (const u of this.unitViews.values()) { if (u.status !== "off_duty") on++; if (u.stale) stale++; }
    $("counts").textContent = `${on} eenheden in dienst${stale ? ` · ${stale} verouderd` : ""}`;
  }

  everySecond() {
    this.map.tickAges();
    this.alerts.tick();
    this.areaAlerts.tick();
    if (!$("tab-units").hidden) this.units.render();
  }

  // --- from an alarm banner: zoom, melding, send a unit ------------------------------------------------------

  // where the alarm is now: the unit on the map, else the context's position, else the alarm's own
  alarmPlace(a, ctx) {
    const u = a.unit_id == null ? null : this.unitViews.get(a.unit_id);
    if (u && u.lon != null) return { lon: u.lon, lat: u.lat };
    if (ctx && ctx.lon != null) return { lon: ctx.lon, lat: ctx.lat };
    if (a.lon != null) return { lon: a.lon, lat: a.lat };
    return null;
  }

  zoomToAlarm(a, ctx) {
    const p = this.alarmPlace(a, ctx);
    if (p) this.map.zoomTo(p.lon, p.lat, 18);  // street level, not the city view
  }

  // the melding of an alarm: source "alarm" with the alert id, so "Stuur" and "Melding maken" share one
  alarmIncident(a, ctx) {
    const p = this.alarmPlace(a, ctx);
    const beats = ctx ? ctx.beats.map((b) => b.name).join(", ") : "";
    return {
      category: `${ALERT[a.kind] || a.kind} ${a.call_sign || ""}`.trim().slice(0, 80), priority: 1,
      description: `Alarm ${ALERT[a.kind] || a.kind} van ${a.call_sign || "onbekende eenheid"} om ${clock(a.at)}`
        + `${a.silent ? " — STIL ALARM: niet terugbellen" : ""}${a.text ? ` — ${a.text}` : ""}`,
      address: (ctx && ctx.address) || beats, ...(p || {}), org_id: a.org_id, source: "alarm", external_id: String(a.alert_id),
    };
  }

  meldingFromAlarm(a, ctx) {
    this.closeDetail();
    this.tab("new");
    this.incidents.prefill(this.alarmIncident(a, ctx));
  }

  async sendToAlarm(a, ctx, unitId) {
    const asked = this.incidents.liveCount;
    const incident = await api("POST", "/api/incidents", this.alarmIncident(a, ctx));
    this.incidents.answered(incident, asked);
    await api("POST", `/api/incidents/${incident.incident_id}/tasks`, { unit_id: unitId });
  }

  // --- unit detail: status, message, replay ---------------------------------------------------------------

  async showUnit(id) {
    if (this.incidents.selected != null) this.incidents.close();
    this.shownUnit = id;
    this.messages = [];
    this.renderUnit();
    let read;
    try { read = await api("GET", `/api/units/${id}/messages`); } catch (e) { read = []; }
    if (this.shownUnit !== id) return;
    // what came in live while the list was read is at least as new as the read
    const live = this.messages;
    this.messages = read;
    for (const m of live) this.keep(m);
    this.renderUnit();
  }

  messageChanged(m) {
    if (m.unit_id !== this.shownUnit) return;
    this.keep(m);
    this.renderUnit();
  }

  // delivered never goes back: an older view (a slow answer, a read) does not undo "afgeleverd"
  keep(m) {
    const i = this.messages.findIndex((x) => x.message_id === m.message_id);
    if (i < 0) this.messages.push(m);
    else if (!this.messages[i].delivered_at || m.delivered_at) this.messages[i] = m;
  }

  renderUnit() {
    const u = this.unitViews.get(this.shownUnit);
    const d = $("detail");
    if (!u || this.incidents.selected != null) return;
    if (d.dataset.kind !== "unit" || Number(d.dataset.unit) !== u.unit_id) {
      // the skeleton once per unit, so typing a message is not disturbed by live updates
      d.hidden = false;
      d.dataset.kind = "unit";
      d.dataset.unit = u.unit_id;
      d.innerHTML = `
        <h3><span id="unit-title"></span><button class="small ghost close" data-close-unit>Sluiten ✕</button></h3>
        <div id="unit-info"></div>
        <h4>Bericht</h4>
        <form class="row" id="message-form"><input id="message-text" maxlength="500" autocomplete="off"
          placeholder="Kort bericht aan ${esc(u.call_sign)}"><button>Versturen</button></form>
        <ul id="messages"></ul>
        <h4>Spoor afspelen</h4>
        <div class="row"><select id="replay-hours"><option value="1">laatste uur</option>
          <option value="4" selected>laatste 4 uur</option><option value="8">laatste 8 uur</option></select>
          <input id="replay-reason" value="nazorg melding" maxlength="200"
            aria-label="Reden van inzage" title="Het spoor is een persoonsgegeven; de reden wordt vastgelegd">
          <button class="ghost" data-replay>Afspelen</button></div>
        <div id="replay-slot"></div>
        <p class="error" id="unit-error"></p>`;
      d.querySelector("#message-form").addEventListener("submit", (e) => { e.preventDefault(); this.sendMessage(); });
      this.map.clearReplay();
    }
    const task = this.incidents.taskOf(u.unit_id);
    const beats = (ids) => ids.filter((b) => this.beatNames.has(b)).map((b) => esc(this.beatNames.get(b))).join(", ") || "—";
    $("unit-title").innerHTML = `${esc(u.call_sign)} <span class="pill st-${u.status}">${STATUS[u.status]}</span>`;
    $("unit-info").innerHTML = `
      <div>${STATUS[u.status]} sinds ${clock(u.status_since)} (${age(u.status_since)}) · positie ${u.at ? `${age(u.at)} oud` : "onbekend"}${u.stale ? " — <b>verouderd</b>" : ""}</div>
      <div>Gebied: ${beats(u.beat_ids)} · toegewezen: ${beats(u.assigned_beat_ids)}${u.outside_assigned ? " — <b>buiten toegewezen gebied</b>" : ""}</div>
      <div>Taak: ${task ? `${esc(task.incident.category)} (${TASK[task.state]})` : "geen"}</div>`;
    $("messages").innerHTML = this.messages.slice(-8).map((m) => `<li><time>${clock(m.sent_at)}</time><span class="grow">${esc(m.text)}</span>
      ${m.delivered_at ? `<span class="delivered">${ICONS.delivered} afgeleverd ${clock(m.delivered_at)}</span>` : `<span class="pending">${ICONS.pending} verzonden</span>`}</li>`).join("");
  }

  async sendMessage() {
    const input = $("message-text");
    const text = input.value.trim();
    if (!text) return;
    try {
      const m = await api("POST", `/api/units/${this.shownUnit}/messages`, { text });
      input.value = "";
      this.messageChanged(m);
    } catch (e) { $("unit-error").textContent = e.message; }
  }

  async onUnitDetailClick(e) {
    const d = $("detail");
    if (d.dataset.kind !== "unit") return;
    const b = e.target.closest("button");
    if (!b) return;
    if (b.dataset.closeUnit !== undefined) {
      this.shownUnit = null; d.hidden = true; d.dataset.kind = ""; this.map.clearReplay(); return;
    }
    if (b.dataset.replay === undefined) return;
    // the reason is typed in the row itself: no blocking dialog, so alarms keep coming while it is filled in
    const reason = $("replay-reason").value.trim();
    if (!reason) {
      $("unit-error").textContent = "Geef een reden: inzage in het spoor van een eenheid wordt vastgelegd.";
      return;
    }
    try {
      const hours = $("replay-hours").value;
      const track = await api("GET", `/api/units/${this.shownUnit}/track?hours=${hours}&reason=${encodeURIComponent(reason)}`);
      const move = this.map.replay(track.points);
      const slot = d.querySelector("#replay-slot, #replay-ui");
      const ui = document.createElement("div");
      ui.id = "replay-ui";
      ui.className = "replay";
      ui.innerHTML = track.points.length
        ? `<input type="range" min="0" max="${track.points.length - 1}" value="0"><span>${track.points.length} ${track.points.length === 1 ? "positie" : "posities"} sinds ${clock(track.since)} — schuif om af te spelen</span>`
        : "<span>Geen posities in deze periode.</span>";
      slot.replaceWith(ui);
      const range = ui.querySelector("input");
      if (range && move) { move(0); range.addEventListener("input", () => move(Number(range.value))); }
    } catch (err) { $("unit-error").textContent = err.message; }
  }
}

if (resume()) start(false).catch(showLogin); else showLogin();
