// Gebieden: the beats on a map, GeoJSON import (WGS84 or RD New) with the API's errors, rename, retire,
// and the units' default beats.
import { api, refresh, token } from "/web/static/js/api.js";
import { ApiError } from "/web/static/js/api.js";
import { esc } from "/web/static/js/format.js";
import { badge, baseMap, dateTime } from "/web/static/js/teamlead.js";
import { problemText, showProblem, startWorkspace } from "/web/static/js/workspace.js";

let map = null;
let layer = null;
let beats = [];
let units = [];
let selected = null;

const IN_USE = { color: "#1f5fa8", weight: 1.5, fillColor: "#1f5fa8", fillOpacity: 0.08 };
const RETIRED = { color: "#7a8494", weight: 1, dashArray: "4 4", fillOpacity: 0.02 };
const SELECTED = { color: "#b35c00", weight: 3, fillColor: "#b35c00", fillOpacity: 0.2 };

async function load() {
  const [collection, team] = await Promise.all([api("GET", "/api/beats?retired=true"), api("GET", "/api/team")]);
  beats = collection.features;
  units = team.units;
  render();
}

function showRetired() { return document.getElementById("show-retired").checked; }

function drawMap(fit) {
  layer.clearLayers();
  const shown = beats.filter((f) => showRetired() || !f.properties.retired_at);
  layer.addData({ type: "FeatureCollection", features: shown });
  layer.eachLayer((l) => {
    const p = l.feature.properties;
    l.setStyle(p.id === selected ? SELECTED : p.retired_at ? RETIRED : IN_USE);
    l.bindTooltip(`${esc(p.name)} (${esc(p.code)})${p.retired_at ? " — buiten gebruik" : ""}`, { sticky: true });
    l.on("click", () => select(p.id));
  });
  if (fit && shown.length) map.fitBounds(layer.getBounds(), { maxZoom: 15 });
}

function select(id) {
  selected = id;
  drawMap(false);
  for (const tr of document.querySelectorAll("#beat-rows tr")) tr.classList.toggle("selected", Number(tr.dataset.id) === id);
  document.querySelector(`#beat-rows tr[data-id="${id}"]`)?.scrollIntoView({ block: "nearest" });
}

function render() {
  const inUse = beats.filter((f) => !f.properties.retired_at);
  const rows = beats.filter((f) => showRetired() || !f.properties.retired_at);
  document.getElementById("beat-count").textContent =
    `${inUse.length} in gebruik, ${beats.length - inUse.length} buiten gebruik`;
  document.getElementById("beat-rows").innerHTML = rows.length ? rows.map((f) => {
    const p = f.properties;
    return `<tr data-id="${p.id}" class="clickable${p.retired_at ? " muted" : ""}${p.id === selected ? " selected" : ""}">
      <td>${esc(p.code)}</td>
      <td><input class="beat-name" size="36" value="${esc(p.name)}" maxlength="100" aria-label="Naam van ${esc(p.code)}">
        <button class="small save-name">Naam opslaan</button></td>
      <td>${p.retired_at ? `${badge("buiten gebruik")} <span class="count-line">sinds ${esc(dateTime(p.retired_at))}</span>`
        : badge("in gebruik", "ok")}</td>
      <td>${p.retired_at ? `<button class="small secondary revive">Weer in gebruik</button>`
        : `<button class="small danger retire">Buiten gebruik stellen</button>`}
        <div class="row-msg" role="status"></div></td></tr>`;
  }).join("") : `<tr><td colspan="4" class="empty">Nog geen gebieden: importeer een GeoJSON-bestand.</td></tr>`;
  const options = (unit) => inUse.map((f) => `<option value="${f.id}"${unit.assigned_beat_ids.includes(f.id) ? " selected" : ""}>
    ${esc(f.properties.name)}</option>`).join("");
  document.getElementById("unit-rows").innerHTML = units.length ? units.map((u) => `<tr data-id="${u.id}">
    <td><strong>${esc(u.call_sign)}</strong></td>
    <td><select multiple size="${Math.min(6, Math.max(3, inUse.length))}" class="unit-beats" aria-label="Standaardgebieden van ${esc(u.call_sign)}">${options(u)}</select></td>
    <td>${esc(u.assigned_beat_ids.map((id) => beats.find((f) => f.id === id)?.properties.name || `#${id}`).join(", ") || "—")}</td>
    <td><button class="small save-unit">Opslaan</button><div class="row-msg" role="status"></div></td></tr>`).join("")
    : `<tr><td colspan="4" class="empty">Geen eenheden.</td></tr>`;
  drawMap(!map._fitted);
  map._fitted = true;
}

async function rowAction(button, path, body, done) {
  const msg = button.closest("td").querySelector(".row-msg") || button.closest("tr").querySelector(".row-msg");
  const again = `#${button.closest("tbody").id} tr[data-id="${button.closest("tr").dataset.id}"] .row-msg`;
  msg.className = "row-msg";
  msg.textContent = "";
  try {
    await api("PATCH", path, body);
    await load();
    const shown = document.querySelector(again);  // the row was drawn again
    if (shown) { shown.className = "row-msg ok"; shown.textContent = done; }
  } catch (err) {
    msg.className = "row-msg error";
    msg.textContent = problemText(err);
  }
}

async function importFile(form) {
  const f = new FormData(form);
  const file = f.get("file");
  const result = document.getElementById("import-result");
  result.className = "";
  result.textContent = "";
  if (!file || !file.size) { result.className = "error ws-problem"; result.textContent = "Kies eerst een GeoJSON-bestand."; return; }
  const q = new URLSearchParams();
  for (const k of ["crs", "code_property", "name_property"]) if ((f.get(k) || "").trim()) q.set(k, f.get(k).trim());
  const body = await file.arrayBuffer();
  let r;
  for (let attempt = 0; attempt < 2; attempt++) {
    r = await fetch(`/api/beats/import?${q}`, { method: "POST", body,
      headers: { Authorization: `Bearer ${token()}`, "Content-Type": "application/geo+json" } });
    if (r.status === 401 && attempt === 0 && await refresh()) continue;
    break;
  }
  const answer = await r.json().catch(() => null);
  if (!r.ok) {
    result.className = "error ws-problem";
    result.setAttribute("role", "alert");
    result.textContent = `Import geweigerd: ${problemText(new ApiError(r.status, answer))}`;
    return;
  }
  result.className = "notice";
  result.setAttribute("role", "status");
  result.textContent = `${answer.imported} gebied${answer.imported === 1 ? "" : "en"} geïmporteerd of bijgewerkt` +
    (answer.repaired.length ? `; hersteld (zelfdoorsnijdende vorm): ${answer.repaired.join(", ")}` : "") + ".";
  map._fitted = false;
  await load();
}

startWorkspace({
  title: "Gebieden",
  here: "/teamleider/gebieden",
  roles: ["teamlead", "admin"],
  onReady: async (main) => {
    main.innerHTML = `<h1>Gebieden</h1>
      <div class="split"><div><div id="beat-map" class="map"></div>
        <label class="checks"><label><input type="checkbox" id="show-retired"> Toon gebieden buiten gebruik</label></label></div>
        <form id="import" class="panel"><h2>GeoJSON importeren</h2>
          <p class="count-line">Een FeatureCollection met polygonen, in WGS84 (graden) of RD New (EPSG:28992, meters).
          Een gebied met een bestaande code wordt bijgewerkt (en weer in gebruik genomen).</p>
          <label>Bestand <input type="file" name="file" accept=".geojson,.json,application/geo+json,application/json"></label>
          <label>Coördinatenstelsel <select name="crs"><option value="">uit het bestand, anders herkend aan de coördinaten</option>
            <option value="EPSG:4326">WGS84 (EPSG:4326)</option><option value="EPSG:28992">RD New (EPSG:28992)</option></select></label>
          <label>Eigenschap met de code <input name="code_property" placeholder="code"></label>
          <label>Eigenschap met de naam <input name="name_property" placeholder="name"></label>
          <button type="submit">Importeren</button>
          <p id="import-result"></p></form></div>
      <h2>Alle gebieden <span id="beat-count" class="count-line"></span></h2>
      <table class="grid"><thead><tr><th>Code</th><th>Naam</th><th>Status</th><th></th></tr></thead>
        <tbody id="beat-rows"></tbody></table>
      <h2>Standaardgebieden van de eenheden</h2>
      <p class="count-line">Een eenheid krijgt deze gebieden bij het begin van een dienst; de meldkamer ziet het als ze
        erbuiten komt. Ctrl/⌘-klik kiest er meer.</p>
      <table class="grid"><thead><tr><th>Eenheid</th><th>Kiezen</th><th>Nu</th><th></th></tr></thead>
        <tbody id="unit-rows"></tbody></table>`;
    map = await baseMap(document.getElementById("beat-map"));
    layer = L.geoJSON(null).addTo(map);
    document.getElementById("show-retired").addEventListener("change", render);
    document.getElementById("import").addEventListener("submit", (e) => {
      e.preventDefault();
      importFile(e.target).catch((err) => showProblem(err, main));
    });
    document.getElementById("beat-rows").addEventListener("click", (e) => {
      const tr = e.target.closest("tr[data-id]");
      if (!tr) return;
      const id = Number(tr.dataset.id);
      if (e.target.matches(".save-name")) {
        rowAction(e.target, `/api/beats/${id}`, { name: tr.querySelector(".beat-name").value }, "Naam opgeslagen.");
      } else if (e.target.matches(".retire")) {
        rowAction(e.target, `/api/beats/${id}`, { retired: true }, "Buiten gebruik gesteld.");
      } else if (e.target.matches(".revive")) {
        rowAction(e.target, `/api/beats/${id}`, { retired: false }, "Weer in gebruik.");
      } else if (!e.target.matches("input, button")) {
        select(id);
        const found = layer.getLayers().find((l) => l.feature.properties.id === id);
        if (found) map.fitBounds(found.getBounds(), { maxZoom: 16 });
      }
    });
    document.getElementById("unit-rows").addEventListener("click", (e) => {
      if (!e.target.matches(".save-unit")) return;
      const tr = e.target.closest("tr[data-id]");
      const ids = [...tr.querySelector(".unit-beats").selectedOptions].map((o) => Number(o.value));
      rowAction(e.target, `/api/team/units/${tr.dataset.id}`, { assigned_beat_ids: ids }, "Standaardgebieden opgeslagen.");
    });
    await load();
  },
});
