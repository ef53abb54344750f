// The live map: beats, units (coloured by status, with call sign, heading and age), meldingen, replay.
import { STATUS, age, esc, clock } from "/web/static/js/format.js";

export class LiveMap {
  constructor(element, config, { onUnitClick, onIncidentClick, onMapClick }) {
    this.map = L.map(element, { zoomControl: true, preferCanvas: true, zoomSnap: 0.25, zoomDelta: 0.5 }).setView([52.373, 4.893], 13);
    this.tilesFailed = 0;
    const tiles = L.tileLayer(config.tile_url, { maxZoom: 19, attribution: config.tile_attribution });
    tiles.on("tileerror", () => {
      this.tilesFailed++;
      if (this.tilesFailed === 1) this.note.getContainer().hidden = false;
    });
    tiles.addTo(this.map);
    this.note = L.control({ position: "bottomleft" });
    this.note.onAdd = () => {
      const div = L.DomUtil.create("div", "map-note");
      div.textContent = "Achtergrondkaart niet bereikbaar — gebieden en eenheden blijven actueel.";
      div.hidden = true;
      return div;
    };
    this.note.addTo(this.map);
    this.beatLayer = L.geoJSON(null, {
      style: { color: "#1f5fa8", weight: 1.5, fillColor: "#1f5fa8", fillOpacity: 0.05 },
      onEachFeature: (f, layer) => layer.bindTooltip(esc(f.properties.name), { sticky: true }),
    }).addTo(this.map);
    this.units = new Map();      // unit_id -> {marker, el, view}
    this.incidents = new Map();  // incident_id -> marker
    this.onUnitClick = onUnitClick;
    this.onIncidentClick = onIncidentClick;
    this.map.on("click", (e) => onMapClick(e.latlng.lng, e.latlng.lat));
    this.pick = null;
    this.replayLayer = L.layerGroup().addTo(this.map);
    // banners above the map come and go: keep Leaflet's idea of the map size right
    new ResizeObserver(() => this.map.invalidateSize({ pan: false })).observe(element);
  }

  setBeats(geojson) {
    this.beatLayer.clearLayers();
    this.beatLayer.addData(geojson);
    if (geojson.features.length && !this.fitted) {
      this.map.fitBounds(this.beatLayer.getBounds(), { maxZoom: 15 });
      this.fitted = true;
    }
  }

  putUnit(view) {
    let entry = this.units.get(view.unit_id);
    if (view.lon == null || view.lat == null) { if (entry) { entry.marker.remove(); this.units.delete(view.unit_id); } return; }
    if (!entry) {
      const el = document.createElement("div");
      el.className = "unit-marker";
      el.innerHTML = '<span class="arrow"></span><span class="dot"></span><span class="label"></span>';
      const icon = L.divIcon({ html: el, className: "", iconSize: [0, 0] });
      const marker = L.marker([view.lat, view.lon], { icon, keyboard: false }).addTo(this.map);
      marker.on("click", () => this.onUnitClick(view.unit_id));
      entry = { marker, el, view, dot: el.querySelector(".dot"), arrow: el.querySelector(".arrow"),
                label: el.querySelector(".label") };
      this.units.set(view.unit_id, entry);
    } else {
      entry.marker.setLatLng([view.lat, view.lon]);
    }
    const before = entry.view;
    entry.view = view;
    // write to the DOM only what changed: with hundreds of units every tick, this is the hot path
    if (before !== view && (before.status !== view.status || before.stale !== view.stale) || !entry.styled) {
      entry.el.className = `unit-marker${view.stale ? " stale" : ""}${view.status === "emergency" ? " sos" : ""}`;
      entry.dot.className = `dot st-${view.status}`;
      entry.el.title = `${view.call_sign} — ${STATUS[view.status] || view.status}${view.stale ? " (positie verouderd)" : ""}`;
      // a unit in need is drawn above everything (other units, meldingen); meldingen lie below every unit
      entry.marker.setZIndexOffset(view.status === "emergency" ? 100000 : 0);
      entry.styled = true;
    }
    if (!entry.headed || before.heading_deg !== view.heading_deg) {
      entry.arrow.style.display = view.heading_deg == null ? "none" : "";
      if (view.heading_deg != null) entry.arrow.style.transform = `rotate(${view.heading_deg}deg)`;
      entry.headed = true;
    }
    this.label(entry);
  }

  label(entry, now = Date.now()) {
    const text = `${entry.view.call_sign} · ${age(entry.view.at, now)}${entry.view.stale ? " ⚠" : ""}`;
    if (entry.text !== text) { entry.label.textContent = text; entry.text = text; }
  }

  tickAges() { const now = Date.now(); for (const e of this.units.values()) this.label(e, now); }

  focusUnit(id) { const e = this.units.get(id); if (e) this.map.panTo(e.marker.getLatLng()); }

  putIncident(view) {
    let marker = this.incidents.get(view.incident_id);
    if (view.state !== "open") { if (marker) { marker.remove(); this.incidents.delete(view.incident_id); } return; }
    // a melding is a flag on a pole (never a dot like a unit), drawn below the units
    // a drill (exercise/test) flies a striped flag with OEF/TEST on it: never mistaken for real work
    const drill = { exercise: "OEF", test: "TEST" }[view.exercise] || "";
    const html = `<div class="incident-marker prio-${view.priority}${drill ? " drill" : ""}">` +
      `<span>P${view.priority}${drill ? ` ${drill}` : ""}</span></div>`;
    const icon = L.divIcon({ html, className: "", iconSize: [0, 0] });
    if (!marker) {
      marker = L.marker([view.lat, view.lon], { icon, zIndexOffset: -100000 }).addTo(this.map);
      marker.on("click", () => this.onIncidentClick(view.incident_id));
      this.incidents.set(view.incident_id, marker);
    } else marker.setIcon(icon);
    const what = { exercise: "OEFENING: ", test: "TEST: " }[view.exercise] || "";
    marker.bindTooltip(`${what}${esc(view.category)}${view.address ? " — " + esc(view.address) : ""}`);
  }

  clearIncidents() { for (const m of this.incidents.values()) m.remove(); this.incidents.clear(); }

  showPick(lon, lat) {
    if (this.pick) this.pick.setLatLng([lat, lon]);
    else this.pick = L.circleMarker([lat, lon], { radius: 9, color: "#d50000", weight: 3 }).addTo(this.map);
  }

  clearPick() { if (this.pick) { this.pick.remove(); this.pick = null; } }

  focus(lon, lat) { this.map.panTo([lat, lon]); }

  zoomTo(lon, lat, zoom = 18) { this.map.setView([lat, lon], Math.max(zoom, this.map.getZoom())); }

  replay(points) {
    this.replayLayer.clearLayers();
    if (!points.length) return null;
    const line = L.polyline(points.map((p) => [p.lat, p.lon]), { color: "#6a1b9a", weight: 3 }).addTo(this.replayLayer);
    const cursor = L.circleMarker([points[0].lat, points[0].lon], { radius: 7, color: "#6a1b9a", fillOpacity: 1 })
      .addTo(this.replayLayer);
    this.map.fitBounds(line.getBounds(), { maxZoom: 17 });
    return (i) => { const p = points[i]; cursor.setLatLng([p.lat, p.lon]); cursor.bindTooltip(clock(p.at)).openTooltip(); };
  }

  clearReplay() { this.replayLayer.clearLayers(); }
}
