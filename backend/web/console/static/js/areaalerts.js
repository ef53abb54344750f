// Police area alerts ("Politiemeldingen"): a compact list above the tabs and the areas on the map.
// The snapshot brings those still in force, a delta the latest view of one (the units it reached): the
// latest wins and the row is updated in place. An alert leaves the list and the map by itself once its
// `expires` has passed (checked here every second, against this browser's clock).
import { esc } from "/web/static/js/format.js";

const SEVERITY = { Extreme: "extreem", Severe: "ernstig", Moderate: "matig", Minor: "gering", Unknown: "onbekend" };
const URGENCY = { Immediate: "direct", Expected: "verwacht", Future: "later", Past: "voorbij", Unknown: "onbekend" };
const STYLE = { color: "#8a2be2", weight: 2, dashArray: "8 5", fillColor: "#8a2be2", fillOpacity: 0.06 };
const CHOSEN = { color: "#5a0fa8", weight: 4, dashArray: null, fillColor: "#8a2be2", fillOpacity: 0.16 };

// day and time in Europe/Amsterdam, whatever the workstation's zone ("di 1 dec 23:05")
const WHEN = new Intl.DateTimeFormat("nl-NL", {
  timeZone: "Europe/Amsterdam", weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
});
export const when = (iso) => (iso ? WHEN.format(new Date(iso)) : "");

export class AreaAlerts {
  constructor({ panel, list, count, map, callSign }) {
    this.panel = panel; this.list = list; this.count = count;
    this.map = map;  // a Leaflet map
    this.callSign = callSign;  // unit id -> call sign (or undefined)
    this.views = new Map();  // alert_id -> view
    this.rows = new Map();   // alert_id -> <li>
    this.shapes = new Map(); // alert_id -> L.featureGroup
    this.layer = L.layerGroup().addTo(map);
    this.selected = null;
    list.addEventListener("click", (e) => {
      const li = e.target.closest("li[data-alert]");
      if (li) this.select(Number(li.dataset.alert));
    });
    list.addEventListener("keydown", (e) => {
      const li = e.target.closest("li[data-alert]");
      if (li && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); this.select(Number(li.dataset.alert)); }
    });
  }

  replace(views) {
    for (const id of [...this.views.keys()]) this.drop(id);
    for (const v of views) this.put(v);
  }

  put(v) {
    if (this.expired(v)) { this.drop(v.alert_id); return; }
    const before = this.views.get(v.alert_id);
    this.views.set(v.alert_id, v);
    this.row(v);
    if (!before || JSON.stringify(before.area) !== JSON.stringify(v.area)) this.shape(v);
    this.counted();
  }

  expired(v, now = Date.now()) { return v.expires_at != null && Date.parse(v.expires_at) <= now; }

  tick() {
    const now = Date.now();
    for (const v of [...this.views.values()]) if (this.expired(v, now)) this.drop(v.alert_id);
  }

  // the call signs of units may come after the alert: the rows say them once known
  unitsChanged() { for (const v of this.views.values()) this.row(v); }

  drop(id) {
    if (!this.views.has(id)) return;
    this.views.delete(id);
    const li = this.rows.get(id); if (li) li.remove(); this.rows.delete(id);
    const shape = this.shapes.get(id); if (shape) shape.remove(); this.shapes.delete(id);
    if (this.selected === id) this.selected = null;
    this.counted();
  }

  counted() {
    this.count.textContent = this.views.size ? String(this.views.size) : "";
    this.panel.hidden = this.views.size === 0;
  }

  reached(v) {
    if (!v.unit_ids || !v.unit_ids.length) return "nog geen eenheid bereikt";
    return `bereikt: ${v.unit_ids.map((id) => this.callSign(id) || `eenheid ${id}`).join(", ")}`;
  }

  row(v) {
    let li = this.rows.get(v.alert_id);
    if (!li) {
      li = document.createElement("li");
      li.dataset.alert = v.alert_id;
      li.tabIndex = 0;
      this.rows.set(v.alert_id, li);
      // newest (highest id) on top
      const after = [...this.list.children].find((x) => Number(x.dataset.alert) < v.alert_id);
      this.list.insertBefore(li, after || null);
    }
    const headline = v.headline || v.event || "Politiemelding";
    const drill = /^\s*(OEFENING|TEST)\b/i.test(headline);
    const grade = [v.severity && `ernst ${SEVERITY[v.severity] || v.severity}`,
      v.urgency && `urgentie ${URGENCY[v.urgency] || v.urgency}`].filter(Boolean).join(" · ");
    const times = [v.sent_at && `verzonden ${when(v.sent_at)}`, v.expires_at ? `geldig tot ${when(v.expires_at)}` : "geen einddatum"]
      .filter(Boolean).join(" · ");
    const html = `<div class="aa-head"><span class="aa-headline" title="${esc(headline)}">${esc(headline)}</span>`
      + `${grade ? `<span class="aa-grade sev-${esc(String(v.severity).toLowerCase())}">${esc(grade)}</span>` : ""}</div>`
      + `${v.area_desc ? `<div class="aa-area" title="${esc(v.area_desc)}">${esc(v.area_desc)}</div>` : ""}`
      + `<div class="aa-times">${esc(times)}</div>`
      + `<div class="aa-reached${v.unit_ids && v.unit_ids.length ? "" : " none"}">${esc(this.reached(v))}</div>`
      + `${v.description ? `<div class="aa-text">${esc(v.description)}</div>` : ""}`;
    if (li.dataset.html !== html) { li.innerHTML = html; li.dataset.html = html; }
    li.className = `${drill ? "drill" : ""}${this.selected === v.alert_id ? " selected" : ""}`;
    li.setAttribute("aria-selected", String(this.selected === v.alert_id));
  }

  shape(v) {
    const old = this.shapes.get(v.alert_id); if (old) old.remove();
    const group = L.featureGroup();
    const area = v.area || { polygons: [], circles: [] };
    const style = this.selected === v.alert_id ? CHOSEN : STYLE;
    for (const ring of area.polygons || []) L.polygon(ring.map(([lon, lat]) => [lat, lon]), { ...style }).addTo(group);
    for (const c of area.circles || []) L.circle([c.lat, c.lon], { radius: c.radius_km * 1000, ...style }).addTo(group);
    group.bindTooltip(`Politie: ${esc(v.headline || v.event || "melding")}`, { sticky: true });
    // the click also reaches the map (picking a place for a new melding inside the area still works)
    group.on("click", () => this.select(v.alert_id, { pan: false }));
    group.addTo(this.layer);
    this.shapes.set(v.alert_id, group);
  }

  // a click on a row picks the alert: its area is highlighted and shown; a second click lets go of it
  select(id, { pan = true } = {}) {
    const was = this.selected;
    this.selected = was === id ? null : id;
    for (const changed of [was, this.selected]) {
      if (changed == null || !this.views.has(changed)) continue;
      const group = this.shapes.get(changed);
      const style = this.selected === changed ? CHOSEN : STYLE;
      if (group) group.eachLayer((l) => l.setStyle(style));
      if (group && this.selected === changed) group.bringToFront();
      this.row(this.views.get(changed));
    }
    const group = this.selected == null ? null : this.shapes.get(this.selected);
    if (pan && group && group.getLayers().length) this.map.fitBounds(group.getBounds(), { maxZoom: 16, padding: [30, 30] });
    if (this.selected != null) this.rows.get(this.selected)?.scrollIntoView({ block: "nearest" });
  }
}
