// Rapportage per gebied (/teamleider/rapportage): one month's figures per beat, a map of the beats coloured by a
// chosen figure, the twelve-month trend as inline SVG, the per-beat table, and the CSV and PDF downloads.
import { api } from "/web/static/js/api.js";
import { esc } from "/web/static/js/format.js";
import { download, showProblem, startWorkspace } from "/web/static/js/workspace.js";

const MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
  "oktober", "november", "december"];

// The figures a team lead can colour the map by: label and how to read it from a beat's figures.
const FIGURES = {
  meldingen: { label: "Meldingen", get: (f) => f.meldingen_total },
  warnings: { label: "Waarschuwingen", get: (f) => f.warnings },
  fines: { label: "Boetes (PV, BSB, Mulder)", get: (f) => f.pv + f.bsb + f.mulder },
  aggression: { label: "Agressie-incidenten", get: (f) => f.aggression },
  police_assists: { label: "Politie-assistenties", get: (f) => f.police_assists },
  street_hours: { label: "Straaturen boa's", get: (f) => f.street_hours },
  response_p1: { label: "Aanrijtijd prio 1 (mediaan, min)", get: (f) => minutesOf(f.response["1"].median_s) },
};
const COLOURS = ["#eef3fa", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];
const SERIES = [
  { key: "meldingen", label: "Meldingen", colour: "#0b5cad" },
  { key: "warnings", label: "Waarschuwingen", colour: "#1f7a3a" },
  { key: "fines", label: "Boetes", colour: "#b35c00" },
  { key: "aggression", label: "Agressie", colour: "#b00020" },
];

export function monthLabel(month) {
  const [y, m] = month.split("-");
  return `${MONTHS[Number(m) - 1]} ${y}`;
}

function minutesOf(seconds) { return seconds == null ? null : Math.round(seconds / 6) / 10; }

export function mmss(seconds) {
  if (seconds == null) return "–";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function hours(h) { return h.toLocaleString("nl-NL", { minimumFractionDigits: 1, maximumFractionDigits: 1 }); }

function lastMonth() {
  const d = new Date();
  d.setDate(1);
  d.setMonth(d.getMonth() - 1);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
}

// The months a team lead can pick: this one and the 35 before it, newest first, labelled in Dutch (an
// <input type=month> would speak the browser's language, not the page's).
export function pickableMonths(selected, count = 36) {
  const d = new Date();
  d.setDate(1);
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push(`${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`);
    d.setMonth(d.getMonth() - 1);
  }
  if (/^\d{4}-\d{2}$/.test(selected) && !out.includes(selected)) out.push(selected);
  return out;
}

function capitalised(text) { return text.charAt(0).toUpperCase() + text.slice(1).replaceAll("_", " "); }

// Class breaks for the map: equal steps from 0 to the largest value, so 0 is always the lightest colour.
export function classes(values, n = COLOURS.length - 1) {
  const top = Math.max(0, ...values.filter((v) => v != null));
  if (top === 0) return [0];
  const step = top / n;
  return Array.from({ length: n }, (_, i) => Math.round((i + 1) * step * 10) / 10);
}

function colourFor(value, breaks) {
  if (value == null || value === 0) return COLOURS[0];
  for (let i = 0; i < breaks.length; i++) if (value <= breaks[i]) return COLOURS[i + 1];
  return COLOURS[COLOURS.length - 1];
}

function swatch(colour) {
  return `<svg width="14" height="12" aria-hidden="true"><rect width="14" height="12" fill="${colour}"
    stroke="#8895a7" stroke-width="0.5"/></svg>`;
}

function layout(month) {
  return `<h1>Rapportage per gebied</h1>
  <p class="ar-sub" id="ar-sub"></p>
  <form class="toolbar" id="ar-form">
    <label>Maand <select id="ar-month" name="month">${pickableMonths(month).map((m) =>
      `<option value="${m}"${m === month ? " selected" : ""}>${esc(monthLabel(m))}</option>`).join("")}</select></label>
    <label>Kaart kleuren naar <select id="ar-figure">${Object.entries(FIGURES)
      .map(([k, f]) => `<option value="${k}">${esc(f.label)}</option>`).join("")}</select></label>
    <button type="submit">Tonen</button>
    <button type="button" class="secondary" id="ar-csv">CSV (Excel)</button>
    <button type="button" class="secondary" id="ar-pdf">PDF voor de raad</button>
    <span class="ar-status" id="ar-status" role="status"></span>
  </form>
  <div id="ar-body"></div>`;
}

function cards(t) {
  const card = (id, label, value, small = "") =>
    `<div class="card" data-figure="${id}"><span class="label">${esc(label)}</span>
      <div class="figure" id="ar-total-${id}">${esc(String(value))}</div>${small ? `<small>${esc(small)}</small>` : ""}</div>`;
  return `<div class="cards ar-cards">
    ${card("meldingen", "Meldingen", t.meldingen_total)}
    ${card("warnings", "Waarschuwingen", t.warnings)}
    ${card("fines", "Boetes", t.pv + t.bsb + t.mulder, `PV ${t.pv} · BSB ${t.bsb} · Mulder ${t.mulder}`)}
    ${card("aggression", "Agressie-incidenten", t.aggression)}
    ${card("police_assists", "Politie-assistenties", t.police_assists)}
    ${card("street_hours", "Straaturen boa's", hours(t.street_hours))}
    ${card("response_p1", "Aanrijtijd prio 1", mmss(t.response["1"].median_s),
      `mediaan · p90 ${mmss(t.response["1"].p90_s)} · ${t.response["1"].count} meldingen`)}
    ${card("sla_breached", "Termijn overschreden", t.sla_breached,
      `van ${t.sla_total} meldingen met een termijn (Signalen)`)}
  </div>`;
}

function responseTable(t) {
  const rows = ["1", "2", "3"].map((p) => `<tr data-priority="${p}"><td>Prio ${p}</td>
    <td class="num">${t.response[p].count}</td><td class="num">${mmss(t.response[p].median_s)}</td>
    <td class="num">${mmss(t.response[p].p90_s)}</td></tr>`).join("");
  return `<table class="grid" id="ar-response"><thead><tr><th>Prioriteit</th><th class="num">Ter plaatse</th>
    <th class="num">Mediaan</th><th class="num">p90</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function enforcementTable(t) {
  const groups = Object.entries(t.enforcement);
  if (!groups.length) return `<p class="empty">Geen waarschuwingen of boetes.</p>`;
  const rows = groups.map(([g, o]) => `<tr data-group="${esc(g)}"><td>${esc(capitalised(g))}</td>
    <td class="num">${o.waarschuwing || 0}</td><td class="num">${o.pv || 0}</td><td class="num">${o.bsb || 0}</td>
    <td class="num">${o.mulder || 0}</td></tr>`).join("");
  return `<table class="grid" id="ar-enforcement"><thead><tr><th>Feitcodegroep</th><th class="num">Waarsch.</th>
    <th class="num">PV</th><th class="num">BSB</th><th class="num">Mulder</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function beatRow(f, cls = "") {
  const r = f.response;
  return `<tr class="${cls}" data-beat="${f.beat_id ?? "total"}"><td>${esc(f.name)}</td>
    <td class="num" data-col="meldingen">${f.meldingen_total}</td>
    <td class="num" data-col="warnings">${f.warnings}</td>
    <td class="num" data-col="pv">${f.pv}</td><td class="num" data-col="bsb">${f.bsb}</td>
    <td class="num" data-col="mulder">${f.mulder}</td>
    <td class="num" data-col="aggression">${f.aggression}</td>
    <td class="num" data-col="police_assists">${f.police_assists}</td>
    <td class="num" data-col="street_hours">${hours(f.street_hours)}</td>
    <td class="num" data-col="p1_median">${mmss(r["1"].median_s)}</td>
    <td class="num" data-col="p1_p90">${mmss(r["1"].p90_s)}</td>
    <td class="num" data-col="p2_median">${mmss(r["2"].median_s)}</td>
    <td class="num" data-col="p3_median">${mmss(r["3"].median_s)}</td></tr>`;
}

function beatTable(report, figure) {
  const get = FIGURES[figure].get;
  const active = report.beats.filter(hasData).sort((a, b) => (get(b) ?? -1) - (get(a) ?? -1)
    || a.name.localeCompare(b.name, "nl"));
  const quiet = report.beats.length - active.length;
  return `<div class="ar-table-wrap"><table class="grid" id="ar-beats"><thead><tr><th>Gebied</th>
    <th class="num">Meldingen</th><th class="num">Waarsch.</th><th class="num">PV</th><th class="num">BSB</th>
    <th class="num">Mulder</th><th class="num">Agressie</th><th class="num">Assist.</th>
    <th class="num">Straaturen</th><th class="num">Prio 1 med.</th><th class="num">Prio 1 p90</th>
    <th class="num">Prio 2 med.</th><th class="num">Prio 3 med.</th></tr></thead>
    <tbody>${active.map((f) => beatRow(f)).join("")}${beatRow(report.total, "total")}</tbody></table></div>
    ${quiet ? `<p class="ar-status">${quiet} gebieden zonder gegevens deze maand zijn niet getoond.</p>` : ""}`;
}

function hasData(f) {
  return f.meldingen_total || f.warnings || f.pv || f.bsb || f.mulder || f.aggression || f.police_assists
    || f.street_hours;
}

// Twelve months as lines, with a grid, month labels and a legend (pure SVG: no script library, CSP-safe).
export function trendSvg(trend) {
  const W = 640, H = 300, L = 44, R = 12, T = 14, B = 64;
  const top = Math.max(4, ...trend.flatMap((p) => SERIES.map((s) => p[s.key])));
  const nice = niceTop(top);
  const x = (i) => L + (trend.length > 1 ? i * (W - L - R) / (trend.length - 1) : 0);
  const y = (v) => T + (H - T - B) * (1 - v / nice);
  let out = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Trend over twaalf maanden" id="ar-trend-svg">`;
  for (let i = 0; i <= 4; i++) {
    const v = nice * i / 4;
    out += `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#d5dbe3"/>
      <text class="axis" x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`;
  }
  trend.forEach((p, i) => {
    const [yy, mm] = p.month.split("-");
    out += `<text class="axis" x="${x(i)}" y="${H - B + 16}" text-anchor="middle">${MONTHS[Number(mm) - 1].slice(0, 3)}</text>`;
    if (mm === "01" || i === 0) out += `<text class="axis" x="${x(i)}" y="${H - B + 29}" text-anchor="middle">${yy}</text>`;
  });
  for (const s of SERIES) {
    const pts = trend.map((p, i) => `${x(i).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(" ");
    out += `<polyline points="${pts}" fill="none" stroke="${s.colour}" stroke-width="2.2" data-series="${s.key}"/>`;
    trend.forEach((p, i) => {
      out += `<circle cx="${x(i).toFixed(1)}" cy="${y(p[s.key]).toFixed(1)}" r="2.8" fill="${s.colour}">
        <title>${esc(s.label)} ${monthLabel(p.month)}: ${p[s.key]}</title></circle>`;
    });
  }
  SERIES.forEach((s, i) => {
    const lx = L + i * 140;
    out += `<rect x="${lx}" y="${H - 20}" width="14" height="4" fill="${s.colour}"/>
      <text class="legend" x="${lx + 20}" y="${H - 15}">${esc(s.label)}</text>`;
  });
  return out + "</svg>";
}

function niceTop(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

startWorkspace({
  title: "Rapportage per gebied",
  here: "/teamleider/rapportage",
  roles: ["teamlead", "admin"],
  onReady: async (main) => {
    const params = new URLSearchParams(location.search);
    let month = params.get("maand") || lastMonth();
    main.innerHTML = layout(month);
    const body = main.querySelector("#ar-body");
    const status = main.querySelector("#ar-status");
    const figureSelect = main.querySelector("#ar-figure");
    const beatsGeo = await api("GET", "/api/beats");
    let report = null;
    let map = null;
    let layer = null;
    let legend = null;

    const paintMap = () => {
      const figure = FIGURES[figureSelect.value];
      const byId = new Map(report.beats.map((f) => [f.beat_id, f]));
      const values = report.beats.map((f) => figure.get(f));
      const breaks = classes(values);
      layer.setStyle((feature) => ({
        color: "#5b6778", weight: 0.8, fillOpacity: 0.85,
        fillColor: colourFor(byId.has(feature.id) ? figure.get(byId.get(feature.id)) : 0, breaks),
      }));
      layer.eachLayer((l) => {
        const f = byId.get(l.feature.id);
        const v = f ? figure.get(f) : 0;
        l.bindTooltip(`${esc(l.feature.properties.name)}: ${v == null ? "–" : esc(String(v).replace(".", ","))}`,
          { sticky: true });
      });
      const labels = [`${swatch(COLOURS[0])}0 of geen`];
      let low = 0;
      breaks.forEach((b, i) => {
        if (b > 0) labels.push(`${swatch(COLOURS[i + 1])}${low === 0 ? "> 0" : `> ${String(low).replace(".", ",")}`}`
          + ` – ${String(b).replace(".", ",")}`);
        low = b;
      });
      legend.getContainer().innerHTML = `<strong>${esc(figure.label)}</strong>${labels.join("<br>")}`;
    };

    const render = () => {
      const figure = figureSelect.value;
      const beatCount = report.beats.filter((b) => b.beat_id > 0).length;
      main.querySelector("#ar-sub").textContent =
        `${report.org_name} · ${monthLabel(report.month)} · ${beatCount} gebieden`;
      if (report.empty) {
        const earlier = report.trend.some((p) => SERIES.some((s) => p[s.key]));
        body.innerHTML = `<p class="empty" id="ar-empty">Geen gegevens voor ${esc(monthLabel(report.month))}:
          in deze maand zijn geen meldingen, registraties, assistenties of diensten vastgelegd.</p>
          ${earlier ? `<h2>Trend over twaalf maanden</h2>
            <div class="ar-trend ar-trend-narrow">${trendSvg(report.trend)}</div>` : ""}`;
        map = null;
        return;
      }
      body.innerHTML = `${cards(report.total)}
        <div class="ar-layout">
          <section><h2>Kaart: ${esc(FIGURES[figure].label.toLowerCase())} per gebied</h2>
            <div id="ar-map" class="map ar-map"></div></section>
          <section><h2>Trend over twaalf maanden (hele gemeente)</h2><div class="ar-trend">${trendSvg(report.trend)}</div>
            <h2>Aanrijtijd melding → ter plaatse</h2>${responseTable(report.total)}
            <h2>Waarschuwingen en boetes per feitcodegroep</h2>${enforcementTable(report.total)}</section>
        </div>
        <h2>Per gebied</h2>${beatTable(report, figure)}
        <h2>Definities</h2>
        <dl class="ar-defs">
          <dt>Straaturen</dt><dd>Boa-uren in dienst met posities in het gebied: elke positie telt tot de volgende
            (ten hoogste 5 minuten), maal het aantal boa's in de dienst.</dd>
          <dt>Aanrijtijd</dt><dd>Van het aanmaken van de melding tot de eerste eenheid ter plaatse; mediaan en 90e
            percentiel per prioriteit.</dd>
          <dt>Waarschuwing</dt><dd>Een waarneming met een feitcode; PV = OM-strafbeschikking, BSB = bestuurlijke
            strafbeschikking, Mulder = WAHV.</dd>
        </dl>`;
      map = L.map(main.querySelector("#ar-map"), { zoomSnap: 0.25, attributionControl: false });
      layer = L.geoJSON(beatsGeo).addTo(map);
      const bounds = layer.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8] });
      legend = L.control({ position: "bottomright" });
      legend.onAdd = () => L.DomUtil.create("div", "ar-legend");
      legend.addTo(map);
      paintMap();
    };

    const load = async () => {
      status.textContent = "Laden…";
      main.querySelectorAll(".ws-problem").forEach((p) => p.remove());
      try {
        report = await api("GET", `/api/reports/area?month=${encodeURIComponent(month)}`);
        history.replaceState(null, "", `?maand=${month}`);
        render();
        status.textContent = "";
      } catch (err) {
        status.textContent = "";
        showProblem(err, main);
      }
    };

    main.querySelector("#ar-form").addEventListener("submit", (e) => {
      e.preventDefault();
      month = main.querySelector("#ar-month").value || month;
      load();
    });
    main.querySelector("#ar-month").addEventListener("change", (e) => {
      if (e.target.value) { month = e.target.value; load(); }
    });
    figureSelect.addEventListener("change", () => {
      if (!report || report.empty) return;
      paintMap();
      main.querySelector(".ar-layout h2").textContent =
        `Kaart: ${FIGURES[figureSelect.value].label.toLowerCase()} per gebied`;
      const wrap = main.querySelector(".ar-table-wrap");
      wrap.outerHTML = beatTable(report, figureSelect.value).replace(/<p class="ar-status">.*<\/p>/s, "");
    });
    const fetchFile = async (ext) => {
      status.textContent = ext === "pdf" ? "PDF maken…" : "CSV maken…";
      try {
        await download(`/api/reports/area.${ext}?month=${encodeURIComponent(month)}`, `rapportage-${month}.${ext}`);
        status.textContent = "";
      } catch (err) {
        status.textContent = "";
        showProblem(err, main);
      }
    };
    main.querySelector("#ar-csv").addEventListener("click", () => fetchFile("csv"));
    main.querySelector("#ar-pdf").addEventListener("click", () => fetchFile("pdf"));
    await load();
  },
});
