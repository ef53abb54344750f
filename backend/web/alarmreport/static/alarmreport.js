// Alarmopvolging (team lead): how fast the meldkamer acknowledged safety alarms, against BS 8484.
import { api } from "/web/static/js/api.js";
import { esc } from "/web/static/js/format.js";
import { download, showProblem, startWorkspace } from "/web/static/js/workspace.js";

const pct = (v) => (v === null || v === undefined ? "—" : `${v.toFixed(1).replace(".", ",")} %`);
const secs = (v) => (v === null || v === undefined ? "—" : `${v.toFixed(1).replace(".", ",")} s`);
const MONTHS = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"];
const MONTH_NAMES = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
  "oktober", "november", "december"];

function monthName(key) {
  const [y, m] = key.split("-").map(Number);
  return `${MONTH_NAMES[m - 1]} ${y}`;
}

function thisMonth() {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Amsterdam", year: "numeric", month: "2-digit" })
    .formatToParts(new Date());
  return `${parts.find((p) => p.type === "year").value}-${parts.find((p) => p.type === "month").value}`;
}

function verdict(met) {
  if (met === null) return "";
  return met ? "✔ norm gehaald" : "✘ norm niet gehaald";
}

function figureCard(id, value, limit, target, met) {
  const cls = met === null ? "" : met ? "met" : "not-met";
  return `<div class="ar-figure ${cls}" id="${id}">
    <div class="what">bevestigd binnen ${limit} s</div>
    <div class="big">${pct(value)}</div>
    <div class="what">norm BS 8484: ten minste ${String(target).replace(".", ",")} %</div>
    <div class="verdict">${verdict(met)}</div></div>`;
}

function facts(f) {
  return `<div class="ar-facts">
    <span>Alarmen: <b>${f.count}</b></span>
    <span>Mediaan: <b>${secs(f.median_s)}</b></span>
    <span>90e percentiel: <b>${secs(f.p90_s)}</b></span>
    <span>Niet bevestigd: <b>${f.unacknowledged}</b></span></div>`;
}

// 12 bars (share within 10 s), the 80 % line, and the count under each month. Inline SVG, no library.
function chart(months, selected) {
  const W = 960, H = 240, left = 44, right = 78, bottom = 40, top = 14, slot = (W - left - right) / months.length;
  const y = (p) => top + (H - top - bottom) * (1 - p / 100);
  let svg = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Aandeel binnen 10 s per maand" id="ar-chart-svg">`;
  for (const p of [0, 50, 100]) {
    svg += `<line x1="${left}" x2="${W - right}" y1="${y(p)}" y2="${y(p)}" stroke="#d5dbe3"/>`
      + `<text x="${left - 6}" y="${y(p) + 4}" text-anchor="end" font-size="12" fill="#5b6778">${p}%</text>`;
  }
  months.forEach((m, i) => {
    const f = m.figures, x = left + i * slot + slot * 0.15, w = slot * 0.7;
    const [yy, mm] = m.month.split("-").map(Number);
    const label = `${MONTHS[mm - 1]}${mm === 1 || i === 0 ? ` ’${String(yy).slice(2)}` : ""}`;
    const sel = m.month === selected;
    if (f.count) {
      const p = f.within_10s_pct, colour = f.met_10s ? "#1f7a3a" : "#b00020";
      svg += `<rect class="bar" data-month="${m.month}" x="${x}" y="${y(p)}" width="${w}" height="${y(0) - y(p)}"
        fill="${colour}" opacity="${sel ? 1 : 0.7}"><title>${monthName(m.month)}: ${pct(p)} binnen 10 s, `
        + `${f.count} alarmen</title></rect>`;
    } else {
      svg += `<text x="${x + w / 2}" y="${y(0) - 6}" text-anchor="middle" font-size="11" fill="#5b6778">—</text>`;
    }
    svg += `<text x="${x + w / 2}" y="${H - 22}" text-anchor="middle" font-size="12"
      font-weight="${sel ? 700 : 400}" fill="#1c2430">${label}</text>`
      + `<text x="${x + w / 2}" y="${H - 6}" text-anchor="middle" font-size="11" fill="#5b6778">${f.count}</text>`;
  });
  svg += `<line x1="${left}" x2="${W - right}" y1="${y(80)}" y2="${y(80)}" stroke="#14213d" stroke-dasharray="6 4"/>`
    + `<text x="${W - right + 6}" y="${y(80) + 4}" font-size="12" fill="#14213d">norm 80 %</text>`;
  return `<div class="ar-chart">${svg}</svg><div class="legend">
    <span><span class="swatch met"></span>norm binnen 10 s gehaald</span>
    <span><span class="swatch not-met"></span>niet gehaald</span>
    <span>getal onder de maand: aantal alarmen</span></div></div>`;
}

function kindTable(id, rows) {
  if (!rows.length) return `<p class="empty">geen gegevens</p>`;
  const body = rows.map(({ label, figures: f }) => `<tr><td>${esc(label)}</td><td class="num">${f.count}</td>
    <td class="num">${pct(f.within_10s_pct)}</td><td class="num">${pct(f.within_40s_pct)}</td>
    <td class="num">${secs(f.median_s)}</td><td class="num">${secs(f.p90_s)}</td>
    <td class="num">${f.unacknowledged}</td>
    <td>${f.met ? '<span class="badge ok">gehaald</span>' : '<span class="badge bad">niet gehaald</span>'}</td></tr>`)
    .join("");
  return `<table class="grid" id="${id}"><thead><tr><th>Soort</th><th class="num">Aantal</th>
    <th class="num">≤ 10 s</th><th class="num">≤ 40 s</th><th class="num">Mediaan</th><th class="num">P90</th>
    <th class="num">Niet bevestigd</th><th>BS 8484</th></tr></thead><tbody>${body}</tbody></table>`;
}

function missedTable(rows) {
  if (!rows.length) return `<p class="empty" id="ar-missed-none">Geen alarmen die later dan 10 s zijn bevestigd.</p>`;
  const body = rows.map((r) => `<tr class="ar-late"><td>${esc(r.at_local)}</td><td>${esc(r.call_sign || "—")}</td>
    <td>${esc(r.label)}</td><td class="num ack">${esc(r.ack_text)}</td><td>${esc(r.acknowledged_by || "—")}</td></tr>`)
    .join("");
  return `<table class="grid" id="ar-missed"><thead><tr><th>Tijdstip</th><th>Eenheid</th><th>Soort</th>
    <th class="num">Bevestigd na</th><th>Bevestigd door</th></tr></thead><tbody>${body}</tbody></table>`;
}

function render(out, r) {
  const f = r.figures;
  if (!f.count) {
    out.innerHTML = `<p class="empty" id="ar-empty">geen gegevens — in ${monthName(r.month)} zijn geen
      veiligheidsalarmen (noodknop, assistentie, man-down, check-in) geweest.</p>
      ${r.rolling.count ? `<h2>Twaalf maanden tot en met ${monthName(r.month)}</h2>${chart(r.months, r.month)}` : ""}`;
    return;
  }
  out.innerHTML = `
    <h2>${monthName(r.month)}</h2>
    <div class="ar-figures">
      ${figureCard("ar-fast", f.within_10s_pct, 10, r.standard.within_10s_pct, f.met_10s)}
      ${figureCard("ar-slow", f.within_40s_pct, 40, r.standard.within_40s_pct, f.met_40s)}
    </div>
    ${facts(f)}
    <h2>Per soort</h2>${kindTable("ar-kinds", r.by_kind)}
    <h2>Later dan 10 s bevestigd of niet bevestigd (${r.missed.length})</h2>${missedTable(r.missed)}
    <h2>Twaalf maanden (${monthName(r.rolling_from)} – ${monthName(r.month)})</h2>
    ${chart(r.months, r.month)}
    <p class="ar-summary" id="ar-rolling">Over twaalf maanden: <b>${r.rolling.count}</b> alarmen,
      <b>${pct(r.rolling.within_10s_pct)}</b> binnen 10 s, <b>${pct(r.rolling.within_40s_pct)}</b> binnen 40 s
      — ${r.rolling.met ? "norm gehaald" : "norm niet gehaald"}</p>
    ${kindTable("ar-rolling-kinds", r.rolling_by_kind)}`;
}

startWorkspace({
  title: "Alarmopvolging",
  here: "/teamleider/alarmen",
  roles: ["teamlead", "admin"],
  onReady: async (main) => {
    const max = thisMonth();
    main.innerHTML = `<h1>Alarmopvolging</h1>
      <p class="ar-summary">Hoe snel de meldkamer veiligheidsalarmen bevestigde, tegen de norm voor
      alleenwerkers (BS 8484: 80 % binnen 10 s, 98,5 % binnen 40 s). Een niet bevestigd alarm telt als te laat.</p>
      <form class="toolbar" id="ar-form">
        <label>Maand <input type="month" id="ar-month" name="month" value="${max}" max="${max}" required></label>
        <button type="submit">Tonen</button>
        <button type="button" class="secondary" id="ar-csv">CSV downloaden</button>
      </form>
      <div id="ar-out"></div>`;
    const input = document.getElementById("ar-month");
    const out = document.getElementById("ar-out");
    const load = async () => {
      out.innerHTML = `<p class="empty">Laden…</p>`;
      try {
        render(out, await api("GET", `/api/reports/alarm-response?month=${encodeURIComponent(input.value)}`));
      } catch (err) {
        out.innerHTML = "";
        showProblem(err, out);
      }
    };
    document.getElementById("ar-form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
    input.addEventListener("change", load);
    document.getElementById("ar-csv").addEventListener("click", async () => {
      try {
        await download(`/api/reports/alarm-response.csv?month=${encodeURIComponent(input.value)}`,
          `alarmopvolging-${input.value}.csv`);
      } catch (err) {
        showProblem(err, out);
      }
    });
    await load();
  },
});
