// Meldingen: the open list, the create form, and the detail with proposals, one-click assign and the timeline.
import { api } from "/web/static/js/api.js";
import { ACTIVE_TASK, STATUS, TASK, age, clock, esc, metres } from "/web/static/js/format.js";
import { AddressSearch } from "./address.js";

// how the proposal's travel estimate is made (backend/dispatch/logic.py: DETOUR_FACTOR, WALK_KMH, BIKE_KMH)
const ESTIMATE = "Schatting: hemelsbrede afstand × 1,3 (straten lopen niet recht), lopend 5 km/u, fietsend 15 km/u";

// A drill or test melding (CAP status Exercise/Test, docs/bridge.md §11): marked on sight, never mistaken for real.
const DRILL = { exercise: "OEFENING", test: "TEST" };
const drill = (i) => (DRILL[i.exercise] ? ` <span class="pill drill">${DRILL[i.exercise]}</span>` : "");

// the units on a melding's active tasks, as one comparable string
const activeUnits = (i) => i.tasks.filter((t) => ACTIVE_TASK.has(t.state)).map((t) => t.unit_id).sort().join(",");

export class Incidents {
  constructor({ list, count, detail, form, formError, picked, map, showTab, beatNames, suggestions, geocoderState }) {
    Object.assign(this, { list, count, detail, form, formError, picked, map, showTab, beatNames });
    this.search = new AddressSearch({
      input: form.elements.address, list: suggestions, state: geocoderState,
      onChosen: (a) => {
        this.pickedAt = { lon: a.lon, lat: a.lat };
        this.picked.textContent = `Plaats: ${a.weergavenaam}${a.buurtnaam ? ` (${a.buurtnaam})` : ""}`;
        this.map.showPick(a.lon, a.lat);
        this.map.zoomTo(a.lon, a.lat, 17);
      },
    });
    this.incidents = new Map();
    // a view read by a request may be older than one the socket brought meanwhile (the address filler, a
    // tablet): live views count up here, and a read answer never replaces a live view newer than its request
    this.liveCount = 0;
    this.liveAt = new Map();  // incident id -> liveCount when its last live view came in
    this.selected = null;     // incident id shown in the detail
    this.timeline = [];
    this.pickedAt = null;
    list.addEventListener("click", (e) => { const li = e.target.closest("li[data-id]"); if (li) this.open(Number(li.dataset.id)); });
    form.addEventListener("submit", (e) => { e.preventDefault(); this.create(); });
    detail.addEventListener("click", (e) => this.onDetailClick(e));
  }

  replace(list) {
    this.incidents = new Map(list.map((i) => [i.incident_id, i]));
    this.liveCount++;
    for (const i of list) this.liveAt.set(i.incident_id, this.liveCount);
    this.map.clearIncidents();
    for (const i of list) this.map.putIncident(i);
    this.renderList();
    if (this.selected) this.open(this.selected);
  }

  // a view from the socket (snapshot or delta): the newest there is. When the open melding's units change
  // (another operator assigned one, or a P1 took its unit over), its proposals are asked for again.
  put(view) {
    const before = this.incidents.get(view.incident_id);
    this.liveAt.set(view.incident_id, ++this.liveCount);
    this.show(view);
    if (this.selected === view.incident_id && this.proposals != null && before && activeUnits(before) !== activeUnits(view)) {
      this.refreshProposals();
    }
  }

  // a view an API call answered; `asked` is this.liveCount when the call went out
  answered(view, asked) {
    if ((this.liveAt.get(view.incident_id) ?? 0) <= asked) this.show(view);
  }

  show(view) {
    this.incidents.set(view.incident_id, view);
    this.map.putIncident(view);
    this.renderList();
    if (this.selected === view.incident_id) this.renderDetail();
  }

  addTimeline(entries) {
    const mine = entries.filter((e) => e.incident_id === this.selected && !this.timeline.some((t) => t.event_id === e.event_id));
    if (mine.length) { this.timeline.push(...mine); this.renderDetail(); }
  }

  // the active task of a unit, for the unit list
  taskOf(unitId) {
    for (const incident of this.incidents.values()) {
      for (const t of incident.tasks) if (t.unit_id === unitId && ACTIVE_TASK.has(t.state)) return { ...t, incident };
    }
    return null;
  }

  renderList() {
    const open = [...this.incidents.values()].filter((i) => i.state === "open")
      .sort((a, b) => a.priority - b.priority || Date.parse(a.created_at) - Date.parse(b.created_at));
    this.count.textContent = open.length || "";
    this.list.innerHTML = open.length ? open.map((i) => {
      const tasks = i.tasks.filter((t) => ACTIVE_TASK.has(t.state));
      return `<li data-id="${i.incident_id}" class="${i.incident_id === this.selected ? "selected" : ""}">
        <span class="pill prio-${i.priority}">P${i.priority}</span>${drill(i)} <b>${esc(i.category)}</b> ${esc(i.address)}
        <br><small>${clock(i.created_at)} · ${tasks.length ? tasks.map((t) => `${esc(t.call_sign)} ${TASK[t.state]}`).join(", ") : "nog geen eenheid"}</small>
      </li>`;
    }).join("") : '<li class="hint">Geen open meldingen.</li>';
  }

  pick(lon, lat, { lookUp = true } = {}) {
    this.pickedAt = { lon, lat };
    const where = `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
    this.picked.textContent = `Plaats op de kaart: ${where}${lookUp ? " — adres zoeken…" : ""}`;
    this.map.showPick(lon, lat);
    if (!lookUp) return;
    const asked = this.pickedAt;
    this.search.reverse(lon, lat).then(({ address, buurt }) => {
      if (this.pickedAt !== asked) return;  // clicked again meanwhile
      this.picked.textContent = address ? `Plaats op de kaart: ${address.weergavenaam}${buurt ? ` (${buurt})` : ""}`
        : `Plaats op de kaart: ${where}${buurt ? ` (${buurt})` : ""} — geen adres bekend`;
    });
  }

  async create() {
    const f = new FormData(this.form);
    const body = { category: f.get("category").trim(), priority: Number(f.get("priority")),
                   description: f.get("description").trim(), address: f.get("address").trim(),
                   required_domain: Number(f.get("required_domain") || 1) };
    if (f.get("exercise")) body.exercise = "exercise";  // a drill: marked everywhere, never counted
    if (this.pickedAt) Object.assign(body, this.pickedAt);
    Object.assign(body, this.search.extra());  // a looked-up address: its BAG id and buurtcode
    if (this.origin) Object.assign(body, this.origin);  // made from an alarm: its org, source and alert id
    this.formError.textContent = "";
    try {
      const asked = this.liveCount;
      const view = await api("POST", "/api/incidents", body);
      this.form.reset();
      this.search.reset();
      this.pickedAt = null;
      this.origin = null;
      this.picked.textContent = "Of klik op de kaart om de plaats aan te wijzen.";
      this.map.clearPick();
      this.answered(view, asked);
      this.showTab("incidents");
      await this.open(view.incident_id);
    } catch (e) {
      const names = { address: "adres", lat: "plaats", lon: "plaats", category: "categorie", priority: "prioriteit",
                      org_id: "gemeente" };
      const messages = { address: "Adres niet gevonden: kies een gevonden adres, noem de buurt of klik op de kaart." };
      this.formError.textContent = messages[e.field] || `${names[e.field] ? names[e.field] + ": " : ""}${e.message}`;
    }
  }

  // the form filled in from an alarm; the operator checks it and presses "Melding aanmaken"
  prefill({ category, priority, description, address, lon, lat, org_id, source, external_id }) {
    this.form.reset();
    this.search.reset();
    const f = this.form.elements;
    f.category.value = category;
    f.description.value = description;
    f.address.value = address || "";
    for (const r of this.form.querySelectorAll("input[name=priority]")) r.checked = Number(r.value) === priority;
    this.origin = { org_id, source, external_id };
    this.formError.textContent = "";
    if (lon != null) { this.pick(lon, lat, { lookUp: !address }); this.map.focus(lon, lat); }
    else { this.pickedAt = null; this.picked.textContent = "Geen positie bekend: noem de buurt of klik op de kaart."; }
  }

  async open(id) {
    this.selected = id;
    this.onOpen?.();
    this.proposals = null;
    this.renderList();
    const asked = this.liveCount;
    const [detail, proposals] = await Promise.all([
      api("GET", `/api/incidents/${id}`), api("GET", `/api/incidents/${id}/proposals`).catch(() => []),
    ]);
    if (this.selected !== id) return;
    if ((this.liveAt.get(id) ?? 0) <= asked) this.incidents.set(id, detail.incident);
    this.timeline = this.withLive(detail.timeline, id);
    this.proposals = proposals;
    this.map.focus(detail.incident.lon, detail.incident.lat);
    this.renderDetail();
  }

  // the timeline read for incident `id`, and the entries the socket brought while it was being read
  withLive(read, id) {
    const known = new Set(read.map((e) => e.event_id));
    return [...read, ...this.timeline.filter((e) => e.incident_id === id && !known.has(e.event_id))];
  }

  async refreshProposals() {
    const id = this.selected;
    this.proposals = await api("GET", `/api/incidents/${id}/proposals`).catch(() => []);
    if (this.selected === id) this.renderDetail();
  }

  close() { this.selected = null; this.detail.hidden = true; this.detail.dataset.kind = ""; this.renderList(); }

  renderDetail() {
    const i = this.incidents.get(this.selected);
    if (!i) return;
    const tasks = i.tasks.map((t) => `<li><b>${esc(t.call_sign)}</b><span class="grow">${esc(this.taskState(t))} · ${clock(t.state_at)}</span>
      ${ACTIVE_TASK.has(t.state) && i.state === "open" ? `<button class="small ghost" data-cancel="${t.task_id}">Annuleren</button>` : ""}</li>`).join("");
    const proposals = this.proposals == null ? '<li class="hint">Voorstel wordt berekend…</li>'
      : this.proposals.length ? this.proposalRows(i) : '<li class="hint">Geen eenheid in dienst.</li>';
    this.detail.hidden = false;
    this.detail.dataset.kind = "incident";
    this.detail.innerHTML = `
      <h3><span class="pill prio-${i.priority}">P${i.priority}</span>${drill(i)} ${esc(i.category)}
        <button class="small ghost close" data-close>Sluiten ✕</button></h3>
      <div class="where">${esc(i.address) || `${i.lat.toFixed(5)}, ${i.lon.toFixed(5)}`}${this.beatSuffix(i)}</div>
      ${this.addressNote(i)}
      ${i.description ? `<div>${esc(i.description)}</div>` : ""}
      <div class="hint">Aangemaakt ${clock(i.created_at)} door ${esc(i.created_by) || "?"} · ${i.state === "open" ? "open" : "afgesloten"}</div>
      <h4>Eenheden</h4><ul>${tasks || '<li class="hint">Nog geen eenheid gekoppeld.</li>'}</ul>
      ${i.state === "open" ? `<h4>Voorstel (beste eerst; reistijd is een schatting)</h4><ul id="proposals">${proposals}</ul>` : ""}
      <h4>Tijdlijn</h4><ul id="timeline">${this.timeline.map((e) => `<li><time>${clock(e.at)}</time><span class="grow">${esc(e.text)}</span>
        <small class="hint">${esc(e.actor)}</small></li>`).join("")}</ul>
      ${i.state === "open" ? `<div class="row"><input id="incident-reason" class="grow" maxlength="500" value=""
        placeholder="Reden bij annuleren of afsluiten (afsluiten: afgehandeld)" aria-label="Reden">
        <button class="ghost" data-finish>Melding afsluiten</button></div>` : ""}
      <p class="error" id="detail-error"></p>`;
  }

  // a task's state; a cancelled one says why as its timeline line does ("overgenomen voor P1-melding #12 …")
  taskState(t) {
    const line = t.state === "cancelled" && this.timeline.findLast((e) => e.task_id === t.task_id && e.kind === "cancelled");
    const why = line && line.text.startsWith(t.call_sign) ? line.text.slice(t.call_sign.length).replace(/^:?\s*/, "") : "";
    return why || TASK[t.state];
  }

  // Free units first; the busy ones after them under their own heading, each with its current task, and for
  // a P1 whether it may be taken from a lower-priority task. Nothing is pre-selected: the operator clicks.
  proposalRows(i) {
    const free = this.proposals.filter((p) => !p.busy), busy = this.proposals.filter((p) => p.busy);
    const row = (p) => {
      const task = p.task
        ? `taak${p.task_state ? ` (${TASK[p.task_state] || esc(p.task_state)})` : ""}: <span class="task-text">${esc(p.task)}</span>`
        : "geen taak";
      const note = !p.busy ? "" : p.may_take
        ? `<br><span class="take">P1 gaat voor: ${esc(p.call_sign)} mag van de P${p.task_priority}-taak worden gehaald</span>`
        : `<br><span class="hint">${p.task ? "bezet: pas vrij na de huidige taak" : "niet beschikbaar gemeld"}</span>`;
      const label = !p.busy ? "Koppelen" : p.may_take ? "Overnemen voor P1" : "Toch koppelen";
      return `<li class="proposal${p.busy ? " busy" : ""}${p.may_take ? " may-take" : ""}"><b>${esc(p.call_sign)}</b>
          <span class="grow"><span class="pill st-${p.status}">${STATUS[p.status] || esc(p.status)}</span>${p.status_since ? ` <small>sinds ${age(p.status_since)}</small>` : ""}
            · ${task}${p.in_beat ? " · in het gebied" : ""}${p.stale ? " · positie verouderd" : ""}${p.has_domain ? "" : " · ander domein"}
            <br><span class="eta" title="${ESTIMATE}">${p.walk_min == null ? "reistijd onbekend (geen positie)"
              : `≈ ${p.walk_min} min lopend / ≈ ${p.bike_min} min fietsend <small>(schatting, ${metres(p.distance_m)} hemelsbreed)</small>`}</span>${note}</span>
          <button class="small${p.busy ? " ghost" : ""}" data-assign="${p.unit_id}">${label}</button></li>`;
    };
    return (free.length ? free.map(row).join("") : '<li class="hint">Geen vrije eenheid.</li>')
      + (busy.length ? `<li class="group">Bezet${i.priority === 1 ? " (een P1 mag een eenheid van een lagere prioriteit halen)" : ""}</li>${busy.map(row).join("")}` : "");
  }

  // what the geocoder said about the melding's place: the BAG id, or why there is no address
  addressNote(i) {
    if (i.bag_id) return `<div class="hint">BAG ${esc(i.bag_id)}${i.buurtcode ? ` · buurt ${esc(i.buurtcode)}` : ""}</div>`;
    if (i.address_state === "unreachable" || i.address_state === "off") {
      return `<div class="geocoder-down">adres onbekend — geocoder niet bereikbaar${i.buurtcode ? ` · buurt ${esc(i.buurtcode)}` : ""}</div>`;
    }
    if (i.address_state === "none") return '<div class="hint">Geen adres bij deze plaats bekend.</div>';
    if (i.address_state == null && !i.address) return '<div class="hint">Adres wordt opgezocht…</div>';
    return "";
  }

  beatSuffix(i) {
    const name = i.beat_id == null ? null : this.beatNames.get(i.beat_id);
    return name && !i.address.includes(name) ? ` (${esc(name)})` : "";
  }

  async onDetailClick(e) {
    const b = e.target.closest("button");
    if (!b || this.detail.dataset.kind === "unit") return;
    const id = this.selected;
    const error = (err) => { const p = this.detail.querySelector("#detail-error"); if (p) p.textContent = err.message; };
    try {
      if (b.dataset.close !== undefined) this.close();
      else if (b.dataset.assign) {
        b.disabled = true;
        await api("POST", `/api/incidents/${id}/tasks`, { unit_id: Number(b.dataset.assign) });
        const asked = this.liveCount;
        const detail = await api("GET", `/api/incidents/${id}`);
        if (this.selected === id) this.timeline = this.withLive(detail.timeline, id);
        this.answered(detail.incident, asked);
        await this.refreshProposals();
      } else if (b.dataset.cancel) {
        // reasons come from the field in the detail, never from a blocking dialog (alarms must keep showing)
        const reason = this.detail.querySelector("#incident-reason")?.value.trim() ?? "";
        const asked = this.liveCount;
        this.answered(await api("POST", `/api/tasks/${b.dataset.cancel}/cancel`, { reason }), asked);
      } else if (b.dataset.finish !== undefined) {
        const reason = this.detail.querySelector("#incident-reason")?.value.trim() || "afgehandeld";
        const asked = this.liveCount;
        this.answered(await api("POST", `/api/incidents/${id}/close`, { reason }), asked);
      }
    } catch (err) { error(err); b.disabled = false; }
  }
}
