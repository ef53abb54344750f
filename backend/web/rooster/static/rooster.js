// Rooster: the team lead plans a week or four weeks. A grid per boa (drag a shift to another day or boa, click
// the pin to fix it, click a cell to edit it) or per beat and shift (the duo's names, "onbezet" in red);
// "Plan maken" solves in the background with progress; violations with their article are listed and marked;
// "Publiceren" makes a numbered version, after which changed cells are highlighted; "Ziekmelding / herplan"
// stores the sickness and repairs the rooster from that day. Inline forms only, no browser dialogs.
import { api } from "/web/static/js/api.js";
import { esc } from "/web/static/js/format.js";
import { problemText, showProblem, startWorkspace } from "/web/static/js/workspace.js";

const WEEKDAY = ["ma", "di", "wo", "do", "vr", "za", "zo"];
const MONTH = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"];
const ABSENCE = { verlof: "verlof", ziek: "ziek", niet_beschikbaar: "n.b." };
const STATUS = { optimaal: "optimaal", haalbaar: "haalbaar", onhaalbaar: "onhaalbaar", onbekend: "onbekend" };
const PIN = `<svg viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor" d="M10.5 1.5 14.5 5.5 13 6 10.8 8.2
  10.5 12 9 13.5 6.3 10.8 2.5 14.6 1.4 13.5 5.2 9.7 2.5 7 4 5.5 7.8 5.2 10 3z"/></svg>`;

let main = null;
let lists = null; // plans, templates, shift types, beats
let view = null; // the open plan (GET /api/rooster/plans/{id})
let violations = { available: false, violations: [] };
let mode = "boa"; // "boa" or "beat"
let week = 0; // 0 = every week of the plan, else week n
let editing = null; // { account_id, day }
let polling = null;

// ---- dates ----
const dayOf = (iso) => new Date(`${iso}T00:00:00Z`);
const isoOf = (d) => d.toISOString().slice(0, 10);
const addDays = (iso, n) => { const d = dayOf(iso); d.setUTCDate(d.getUTCDate() + n); return isoOf(d); };
const weekday = (iso) => (dayOf(iso).getUTCDay() + 6) % 7;
const short = (iso) => { const d = dayOf(iso); return `${d.getUTCDate()} ${MONTH[d.getUTCMonth()]}`; };
const dayLabel = (iso) => `${WEEKDAY[weekday(iso)]} ${short(iso)}`;
const num = (x, digits = 0) => (x == null ? "—" : Number(x).toLocaleString("nl-NL", { maximumFractionDigits: digits }));

function planDays() {
  const all = Array.from({ length: view.plan.days }, (_, i) => addDays(view.plan.start_day, i));
  return week ? all.slice((week - 1) * 7, week * 7) : all;
}

// ---- lookups over the open plan ----
const typeById = () => Object.fromEntries(view.shift_types.map((t) => [t.id, t]));
const beatById = () => Object.fromEntries(view.beats.map((b) => [b.id, b]));
const boaById = () => Object.fromEntries(view.boas.map((b) => [b.id, b]));
const key = (account, day) => `${account}|${day}`;

// "Burgwallen-Oude Zijde" -> "BOZ": the cells are narrow; the legend and the title name it in full
function beatShort(name) {
  const words = name.split(/[\s\-/]+/).filter(Boolean);
  if (words.length === 1) return words[0].slice(0, 5);
  return words.map((w) => w[0].toUpperCase()).join("").slice(0, 4);
}
function surname(name) {
  const parts = name.split(" ");
  return parts.length > 1 && /^[A-Z]\.$/.test(parts[0]) ? parts.slice(1).join(" ") : name;
}
function fmtMinute(m) {
  const h = Math.floor(m / 60) % 24;
  return `${String(h).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

function marks() {
  const bad = new Map();
  for (const v of violations.violations) {
    for (const staff of v.staff_ids) {
      for (const day of v.days) {
        const k = key(Number(staff), day);
        bad.set(k, [...(bad.get(k) || []), `${v.article}: ${v.text}`]);
      }
    }
  }
  const changed = new Set(view.changes.map((c) => key(c.account_id, c.day)));
  return { bad, changed };
}

// ---- rendering ----
function render() {
  const plan = view?.plan;
  main.innerHTML = `<h1>Rooster</h1>
    <div class="rooster-bar">
      <label>Rooster <select id="plan-select" aria-label="Kies een rooster">
        ${lists.plans.length ? "" : '<option value="">— nog geen rooster —</option>'}
        ${lists.plans.map((p) => `<option value="${p.id}"${plan && p.id === plan.id ? " selected" : ""}>${esc(p.name)}
          (${short(p.start_day)}, ${p.days === 7 ? "week" : "4 weken"})${p.latest_version ? ` · versie ${p.latest_version}` : ""}</option>`).join("")}
      </select></label>
      <button id="show-new-plan" class="secondary">Nieuw rooster</button>
      <button id="show-template" class="secondary">Sjabloon maken</button>
      <span class="grow"></span>
      ${plan ? `<label>Weergave <select id="mode">
          <option value="boa"${mode === "boa" ? " selected" : ""}>Per boa</option>
          <option value="beat"${mode === "beat" ? " selected" : ""}>Per gebied</option></select></label>
        ${plan.days > 7 ? `<label>Periode <select id="week"><option value="0">Alle ${plan.days / 7} weken</option>
          ${Array.from({ length: plan.days / 7 }, (_, i) => `<option value="${i + 1}"${week === i + 1 ? " selected" : ""}>Week ${i + 1}
          (${short(addDays(plan.start_day, i * 7))})</option>`).join("")}</select></label>` : ""}` : ""}
    </div>
    ${newPlanForm()}${templateForm()}
    ${plan ? planPart() : `<p class="empty">Maak eerst een rooster: kies "Nieuw rooster".</p>`}`;
  if (plan) fillPlanPart();
}

function newPlanForm() {
  const monday = new Date();
  monday.setDate(monday.getDate() + ((7 - ((monday.getDay() + 6) % 7)) % 7 || 7));
  const start = `${monday.getFullYear()}-${String(monday.getMonth() + 1).padStart(2, "0")}-${String(monday.getDate()).padStart(2, "0")}`;
  return `<form id="new-plan" class="inline-form" hidden>
    <label>Naam <input name="name" required maxlength="80" value="Rooster ${short(start)}"></label>
    <label>Eerste dag <input name="start_day" type="date" required value="${start}"></label>
    <label>Lengte <select name="days"><option value="28">4 weken</option><option value="7">1 week</option></select></label>
    <label>Vraag uit sjabloon <select name="template_id"><option value="">— geen —</option>
      ${lists.templates.map((t) => `<option value="${t.id}">${esc(t.name)} (${t.rows.length} regels)</option>`).join("")}</select></label>
    <button type="submit">Rooster maken</button> <button type="button" class="secondary close-form">Annuleren</button>
    <span class="row-msg" role="status"></span></form>`;
}

function templateForm() {
  const types = lists.shift_types.filter((t) => t.active);
  return `<form id="template-form" class="inline-form" hidden>
    <label>Naam sjabloon <input name="name" required maxlength="80" placeholder="Weekdag, Vrijdagnacht, Zomer…"></label>
    <div><div class="count-line">Dagen</div><div class="checks">${WEEKDAY.map((d, i) => `<label><input type="checkbox"
      name="weekday" value="${i}" checked>${d}</label>`).join("")}</div></div>
    <div><div class="count-line">Diensten</div><div class="checks">${types.map((t) => `<label><input type="checkbox"
      name="shift" value="${t.id}"${t.code === "nacht" ? "" : " checked"}>${esc(t.name)}</label>`).join("")}</div></div>
    <div><div class="count-line">Gebieden</div><div class="checks">${lists.beats.map((b) => `<label><input type="checkbox"
      name="beat" value="${b.id}" checked>${esc(b.name)}</label>`).join("")}</div></div>
    <label>Duo's per dienst <input name="duos" type="number" min="1" max="20" value="1"></label>
    <button type="submit">Sjabloon opslaan</button> <button type="button" class="secondary close-form">Annuleren</button>
    <span class="row-msg" role="status"></span></form>`;
}

function planPart() {
  const plan = view.plan;
  const last = addDays(plan.start_day, plan.days - 1);
  const boas = view.boas;
  return `<div class="status-line" id="status-line"></div>
    <div class="rooster-bar">
      <form id="solve-form" class="inline-form">
        <label>Rekentijd (s) <input name="time_limit_s" id="time-limit" type="number" min="1" max="120" value="10"></label>
        <button type="submit" id="solve"${view.solver_available ? "" : " disabled"}>Plan maken</button>
        <span id="progress" role="status">${view.solver_available ? "" : "De planner is in deze installatie niet beschikbaar."}</span>
      </form>
      <form id="publish-form" class="inline-form">
        <label>Notitie bij publicatie <input name="note" maxlength="500" size="28" placeholder="bijv. definitief maart"></label>
        <button type="submit" id="publish">Publiceren</button><span class="row-msg" id="publish-msg" role="status"></span>
      </form>
      <div class="more"><button id="show-herplan" class="secondary">Ziekmelding / herplan</button>
        <button id="show-absence" class="secondary">Verlof / afwezig</button>
        <button id="show-extra" class="secondary">Extra vraag</button></div>
    </div>
    <form id="absence-form" class="inline-form" hidden>
      <label>Boa <select name="account_id" required>${boas.map((b) => `<option value="${b.id}">${esc(b.display_name)}</option>`).join("")}</select></label>
      <label>Soort <select name="kind"><option value="verlof">verlof</option><option value="ziek">ziek</option>
        <option value="niet_beschikbaar">niet beschikbaar</option></select></label>
      <label>Van <input name="from_day" type="date" required value="${plan.start_day}"></label>
      <label>Tot en met <input name="to_day" type="date" required value="${plan.start_day}"></label>
      <button type="submit">Opslaan</button> <button type="button" class="secondary close-form">Annuleren</button>
      <span class="row-msg" role="status">Verlof en ziekte tellen als gewerkte uren (ATW 5:2). Staat de boa dan ingepland, dan zie je dat in het rooster.</span>
    </form>
    <form id="extra-form" class="inline-form" hidden>
      <label>Dag <input name="day" type="date" required min="${plan.start_day}" max="${last}" value="${plan.start_day}"></label>
      <label>Dienst <select name="shift_type_id">${view.shift_types.filter((t) => t.active).map((t) => `<option value="${t.id}">${esc(t.name)}</option>`).join("")}</select></label>
      <label>Gebied <select name="beat_id">${view.beats.map((b) => `<option value="${b.id}">${esc(b.name)}</option>`).join("")}</select></label>
      <label>Duo's <input name="duos" type="number" min="0" max="20" value="2"></label>
      <button type="submit">Vraag opslaan</button> <button type="button" class="secondary close-form">Annuleren</button>
      <span class="row-msg" role="status">Bijv. een evenement; 0 duo's: die dag geen vraag.</span>
    </form>
    <form id="herplan-form" class="inline-form" hidden>
      <label>Boa <select name="account_id" required>${boas.map((b) => `<option value="${b.id}">${esc(b.display_name)}</option>`).join("")}</select></label>
      <label>Ziek vanaf <input name="from_day" type="date" required min="${plan.start_day}" max="${last}" value="${plan.start_day}"></label>
      <label>Dagen <input name="days" type="number" min="1" max="28" value="3"></label>
      <button type="submit"${view.solver_available && plan.latest_version ? "" : " disabled"}>Ziek melden en herplannen</button>
      <button type="button" class="secondary close-form">Annuleren</button>
      <span class="row-msg" role="status">${plan.latest_version ? "Wat al gewerkt is en zoveel mogelijk van de gepubliceerde versie blijft staan."
        : "Publiceer eerst: herplannen gaat uit van de gepubliceerde versie."}</span>
    </form>
    <form id="cell-editor" class="inline-form" hidden></form>
    <div class="grid-wrap"><table class="rooster" id="grid"></table></div>
    <div class="legend" id="legend"></div>
    <div class="lists">
      <section><h2>Overtredingen</h2><div id="violations"></div></section>
      <section><h2>Gewijzigd na publicatie</h2><div id="changes"></div></section>
    </div>`;
}

function fillPlanPart() {
  statusLine();
  grid();
  legend();
  violationList();
  changeList();
}

function openDuties() {
  return view.uncovered.reduce((s, u) => s + u.duos_open, 0);
}

function statusLine() {
  const open = openDuties();
  const hard = violations.violations.filter((v) => v.hard).length;
  const plan = view.plan;
  const latest = view.versions[0];
  document.getElementById("status-line").innerHTML = `
    <span class="pill ${open ? "bad" : "ok"}" id="onbezet">${open === 1 ? "1 dienst onbezet" : `${open} diensten onbezet`}</span>
    <span class="pill">${view.draft.length} diensten ingepland</span>
    ${violations.available ? `<span class="pill ${hard ? "bad" : "ok"}" id="violation-count">${hard === 1 ? "1 overtreding"
      : `${hard} overtredingen`}</span>` : '<span class="pill warn" id="violation-count">Controle niet beschikbaar</span>'}
    <span class="pill ${latest ? "" : "warn"}" id="version">${latest ? `Versie ${latest.number} gepubliceerd${latest.note
      ? ` — ${esc(latest.note)}` : ""}` : "Nog niet gepubliceerd"}</span>
    ${latest ? `<span class="pill ${view.changes.length ? "warn" : "ok"}" id="change-count">${view.changes.length === 1
      ? "1 wijziging" : `${view.changes.length} wijzigingen`} na publicatie</span>` : ""}
    <span class="count-line">${esc(plan.name)}: ${dayLabel(plan.start_day)} t/m ${dayLabel(addDays(plan.start_day, plan.days - 1))}</span>`;
}

function headRow(days) {
  return `<thead><tr><th class="who">${mode === "boa" ? "Boa" : "Gebied · dienst"}</th>${days.map((d, i) => `<th class="${
    weekday(d) >= 5 ? "weekend" : ""}${weekday(d) === 0 ? " week-start" : ""}" data-day="${d}" title="${dayLabel(d)}">${
    WEEKDAY[weekday(d)]}<br>${i === 0 || dayOf(d).getUTCDate() === 1 || days.length <= 7 ? short(d).replace(" ", "&nbsp;")
    : dayOf(d).getUTCDate()}</th>`).join("")}</tr></thead>`;
}

function grid() {
  const days = planDays();
  const table = document.getElementById("grid");
  table.className = `rooster${days.length > 7 ? " wide" : ""}`;
  table.innerHTML = headRow(days) + (mode === "boa" ? boaRows(days) : beatRows(days));
}

function boaRows(days) {
  const types = typeById();
  const beats = beatById();
  const cells = new Map(view.draft.map((a) => [key(a.account_id, a.day), a]));
  const absent = new Map(view.absences.map((a) => [key(a.account_id, a.day), a]));
  const { bad, changed } = marks();
  const rows = view.boas.map((b) => {
    const hours = view.draft.filter((a) => a.account_id === b.id && days.includes(a.day))
      .reduce((s, a) => s + types[a.shift_type_id].duration_minutes / 60, 0);
    const tds = days.map((d) => {
      const a = cells.get(key(b.id, d));
      const off = absent.get(key(b.id, d));
      const cls = ["cell", weekday(d) === 0 ? "week-start" : ""];
      const k = key(b.id, d);
      if (changed.has(k)) cls.push("changed");
      const titles = [...(bad.get(k) || [])];
      if (bad.has(k)) cls.push("violation");
      let inner = "";
      if (a) {
        const t = types[a.shift_type_id];
        const beat = beats[a.beat_id];
        cls.push(["vroeg", "dag", "laat", "nacht"].includes(t.code) ? `s-${t.code}` : "other");
        titles.unshift(`${t.name} ${fmtMinute(t.start_minute)}–${fmtMinute(t.start_minute + t.duration_minutes)}, ${beat ? beat.name : "gebied " + a.beat_id}${a.pinned ? " (vast)" : ""}`);
        inner = `<span class="shift">${esc(t.code)}</span><span class="beat">${esc(beat ? beatShort(beat.name) : "?")}</span>
          ${off ? `<span class="clash" title="ook ${esc(ABSENCE[off.kind])} deze dag">${esc(ABSENCE[off.kind])}!</span>` : ""}
          <button class="pin" aria-pressed="${a.pinned}" aria-label="${a.pinned ? "Losmaken" : "Vastzetten"}" title="${a.pinned ? "Vast: klik om los te maken" : "Vastzetten"}">${PIN}</button>`;
      } else if (off) {
        cls.push("absent");
        titles.unshift(ABSENCE[off.kind] === "n.b." ? "niet beschikbaar" : ABSENCE[off.kind]);
        inner = esc(ABSENCE[off.kind]);
      } else if (b.fixed_days_off.includes(weekday(d))) {
        cls.push("off");
        titles.unshift("vaste vrije dag");
      } else if (weekday(d) >= 5) cls.push("weekend");
      if (editing && editing.account_id === b.id && editing.day === d) cls.push("selected");
      return `<td class="${cls.filter(Boolean).join(" ")}" data-account="${b.id}" data-day="${d}"${a ? ' draggable="true"' : ""}
        title="${esc(titles.join("\n"))}">${inner}</td>`;
    }).join("");
    return `<tr data-account="${b.id}"><th class="who" title="${esc(b.display_name)}">${esc(b.display_name)}<small>${num(hours, 1)} u${
      b.contract_hours != null ? ` · contract ${num(b.contract_hours * days.length / 7, 1)}` : ""}${b.night_exempt ? " · geen nachten" : ""}</small></th>${tds}</tr>`;
  });
  const openByDay = Object.fromEntries(days.map((d) => [d, 0]));
  for (const u of view.uncovered) if (u.day in openByDay) openByDay[u.day] += u.duos_open;
  const foot = `<tr class="short-row"><th class="who">Onbezet (duo's)</th>${days.map((d) => `<td class="${openByDay[d]
    ? "short-count" : ""}${weekday(d) === 0 ? " week-start" : ""}">${openByDay[d] || ""}</td>`).join("")}</tr>`;
  return `<tbody>${rows.join("") || `<tr><td class="empty" colspan="${days.length + 1}">Geen boa's in deze gemeente.</td></tr>`}${foot}</tbody>`;
}

function beatRows(days) {
  const types = view.shift_types;
  const boas = boaById();
  const demand = new Map(view.demand.map((d) => [`${d.beat_id}|${d.shift_type_id}|${d.day}`, d]));
  const staffed = new Map();
  for (const a of view.draft) {
    const k = `${a.beat_id}|${a.shift_type_id}|${a.day}`;
    staffed.set(k, [...(staffed.get(k) || []), a]);
  }
  const rows = [];
  for (const beat of view.beats) {
    for (const t of types) {
      const used = days.some((d) => demand.has(`${beat.id}|${t.id}|${d}`) || staffed.has(`${beat.id}|${t.id}|${d}`));
      if (!used) continue;
      const tds = days.map((d) => {
        const k = `${beat.id}|${t.id}|${d}`;
        const need = demand.get(k)?.duos || 0;
        const people = (staffed.get(k) || []).sort((x, y) => x.duo - y.duo);
        const duos = new Map();
        for (const p of people) duos.set(p.duo, [...(duos.get(p.duo) || []), p]);
        const names = [...duos.values()].map((pair) => pair.map((p) => surname(boas[p.account_id]?.display_name || "?")));
        const lines = names.map((pair) => pair.join(" / "));
        const complete = [...duos.values()].filter((pair) => pair.length >= 2).length;
        const open = Math.max(0, need - complete);
        const cls = ["duo", weekday(d) === 0 ? "week-start" : "", open ? "short" : "", !need && !people.length ? "none" : ""];
        // four weeks are narrow: one name a line; a week has room for "Jansen / de Boer"
        const shown = days.length > 7 ? names.flat() : lines;
        const text = shown.map((l) => `<span>${esc(l)}</span>`).join("") + (open ? `<span>${open > 1 ? `${open}× ` : ""}onbezet</span>` : "");
        return `<td class="${cls.filter(Boolean).join(" ")}" data-day="${d}" title="${esc([...lines, open ? `${open} duo('s) onbezet` : ""].filter(Boolean).join("\n"))}">${text}</td>`;
      }).join("");
      rows.push(`<tr><th class="who" title="${esc(beat.name)} · ${esc(t.name)}">${esc(beat.name)}<small>${esc(t.name)} ${fmtMinute(t.start_minute)}</small></th>${tds}</tr>`);
    }
  }
  return `<tbody>${rows.join("") || `<tr><td class="empty" colspan="${days.length + 1}">Geen vraag en geen diensten in deze periode.</td></tr>`}</tbody>`;
}

function legend() {
  const types = view.shift_types.filter((t) => t.active);
  document.getElementById("legend").innerHTML = types.map((t) => `<span><i class="${
    ["vroeg", "dag", "laat", "nacht"].includes(t.code) ? `s-${t.code}` : "other"}"></i>${esc(t.code)}: ${esc(t.name)}
    ${fmtMinute(t.start_minute)}–${fmtMinute(t.start_minute + t.duration_minutes)}</span>`).join("")
    + view.beats.map((b) => `<span><strong>${esc(beatShort(b.name))}</strong> ${esc(b.name)}</span>`).join("")
    + `<span><i class="violation"></i>overtreding</span><span><i class="changed"></i>gewijzigd na publicatie</span>
    <span>Sleep een dienst naar een andere dag of boa; klik op de punaise om hem vast te zetten.</span>`;
}

function daysText(days) {
  if (!days.length) return "";
  const sorted = [...days].sort();
  return sorted.length === 1 ? short(sorted[0]) : `${short(sorted[0])} – ${short(sorted[sorted.length - 1])}`;
}

function violationList() {
  const box = document.getElementById("violations");
  if (!violations.available) {
    box.innerHTML = `<p class="empty">De controle op de Arbeidstijdenwet is in deze installatie niet beschikbaar.</p>`;
    return;
  }
  if (!violations.violations.length) { box.innerHTML = `<p class="empty">Geen overtredingen.</p>`; return; }
  const boas = boaById();
  box.innerHTML = `<ul id="violation-list">${violations.violations.map((v) => `<li data-rule="${esc(v.rule)}"><span class="article${v.hard ? "" : " soft"}">${esc(v.article)}</span>
    — ${esc(v.text)}<div class="count-line">${v.staff_ids.map((s) => esc(boas[Number(s)]?.display_name || s)).join(", ")}${v.days.length ? ` · ${daysText(v.days)}` : ""}</div></li>`).join("")}</ul>`;
}

function cellText(a) {
  if (!a) return "vrij";
  const t = typeById()[a.shift_type_id];
  const b = beatById()[a.beat_id];
  return `${t ? t.code : "?"} ${b ? b.name : ""}`;
}

function changeList() {
  const box = document.getElementById("changes");
  if (!view.plan.latest_version) { box.innerHTML = `<p class="empty">Nog niet gepubliceerd.</p>`; return; }
  if (!view.changes.length) { box.innerHTML = `<p class="empty">Geen wijzigingen sinds versie ${view.plan.latest_version}.</p>`; return; }
  const boas = boaById();
  box.innerHTML = `<ul id="change-list">${view.changes.map((c) => `<li><strong>${esc(boas[c.account_id]?.display_name || c.account_id)}</strong>,
    ${dayLabel(c.day)}: ${esc(cellText(c.before))} → ${esc(cellText(c.after))}</li>`).join("")}</ul>`;
}

// ---- the cell editor ----
function openEditor(accountId, day) {
  editing = { account_id: accountId, day };
  const a = view.draft.find((x) => x.account_id === accountId && x.day === day);
  const boa = boaById()[accountId];
  const form = document.getElementById("cell-editor");
  form.hidden = false;
  form.innerHTML = `<h2>${esc(boa?.display_name || "")} — ${dayLabel(day)}</h2>
    <label>Dienst <select name="shift_type_id">${view.shift_types.filter((t) => t.active || t.id === a?.shift_type_id)
      .map((t) => `<option value="${t.id}"${a && a.shift_type_id === t.id ? " selected" : ""}>${esc(t.name)} (${fmtMinute(t.start_minute)})</option>`).join("")}</select></label>
    <label>Gebied <select name="beat_id">${view.beats.map((b) => `<option value="${b.id}"${a && a.beat_id === b.id ? " selected" : ""}>${esc(b.name)}</option>`).join("")}</select></label>
    <label>Duo nr. <input name="duo" type="number" min="0" max="19" value="${a ? a.duo : 0}"></label>
    <label class="checks"><span><input name="pinned" type="checkbox"${a?.pinned ? " checked" : ""}> vastzetten</span></label>
    <button type="submit">Opslaan</button>
    ${a ? '<button type="button" class="danger" id="remove-cell">Dienst weghalen</button>' : ""}
    <button type="button" class="secondary close-form">Sluiten</button>
    <span class="row-msg" role="status"></span>`;
  grid();
}

function closeEditor() {
  editing = null;
  const form = document.getElementById("cell-editor");
  if (form) { form.hidden = true; form.innerHTML = ""; }
}

// ---- talking to the API ----
async function loadPlan(planId) {
  view = await api("GET", `/api/rooster/plans/${planId}`);
  await loadViolations();
  history.replaceState(null, "", `#${planId}`);
}

async function loadViolations() {
  if (!view.checker_available) { violations = { available: false, violations: [] }; return; }
  try {
    violations = await api("GET", `/api/rooster/plans/${view.plan.id}/violations`);
  } catch (err) {
    violations = { available: false, violations: [] };
    showProblem(err);
  }
}

async function refreshPlan() {
  const keepEditing = editing;
  await loadPlan(view.plan.id);
  render();
  if (keepEditing) openEditor(keepEditing.account_id, keepEditing.day);
  if (view.job && view.job.state === "bezig") follow(view.job.id);
}

async function change(path, body) {
  try {
    view.draft = await api("POST", `/api/rooster/plans/${view.plan.id}${path}`, body);
    await refreshPlan();
  } catch (err) {
    showProblem(err);
  }
}

function showProgress(job) {
  const el = document.getElementById("progress");
  if (!el) return;
  const figures = `doel ${num(job.objective)}, grens ${num(job.bound)}, ${num(job.elapsed_s, 1)} s van ${num(job.time_limit_s)} s`;
  if (job.state === "bezig") el.textContent = `${job.kind === "herplan" ? "Herplannen" : "Plannen"}… ${figures}`;
  else if (job.state === "klaar") {
    el.textContent = job.error ? `Geen rooster: ${job.error}`
      : `Klaar (${STATUS[job.status] || job.status}): ${figures}; ${job.assignments} diensten${job.changed ? `, ${job.changed} gewijzigd` : ""}.`;
  } else el.textContent = `Mislukt: ${job.error || "onbekende fout"}`;
  el.className = job.state === "mislukt" || job.error ? "error" : "";
}

function follow(jobId) {
  clearTimeout(polling);
  const solve = document.getElementById("solve");
  if (solve) solve.disabled = true;
  const tick = async () => {
    let job;
    try {
      job = await api("GET", `/api/rooster/jobs/${jobId}`);
    } catch (err) {
      showProblem(err);
      return;
    }
    if (job.state === "bezig") { showProgress(job); polling = setTimeout(tick, 400); return; }
    // "Klaar" only once the grid shows the new rooster (it said so before the grid had reloaded)
    await refreshPlan();
    showProgress(job);
  };
  tick();
}

async function submitForm(form, work) {
  const msg = form.querySelector(".row-msg");
  if (msg) { msg.className = "row-msg"; msg.textContent = "Bezig…"; }
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  try {
    await work(new FormData(form));
  } catch (err) {
    const target = form.querySelector(".row-msg") || form;
    target.className = "row-msg error";
    target.textContent = problemText(err);
    const input = err.field && form.querySelector(`[name="${err.field.replace(/\[.*$/, "")}"]`);
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }
}

function bind() {
  main.addEventListener("change", async (e) => {
    if (e.target.id === "plan-select" && e.target.value) {
      closeEditor();
      week = 0;
      await loadPlan(Number(e.target.value));
      render();
    } else if (e.target.id === "mode") { mode = e.target.value; closeEditor(); grid(); }
    else if (e.target.id === "week") { week = Number(e.target.value); grid(); }
  });
  main.addEventListener("click", async (e) => {
    const t = e.target;
    if (t.closest("#show-new-plan")) { document.getElementById("new-plan").hidden = false; return; }
    if (t.closest("#show-template")) { document.getElementById("template-form").hidden = false; return; }
    if (t.closest("#show-herplan")) { document.getElementById("herplan-form").hidden = false; return; }
    if (t.closest("#show-absence")) { document.getElementById("absence-form").hidden = false; return; }
    if (t.closest("#show-extra")) { document.getElementById("extra-form").hidden = false; return; }
    if (t.closest(".close-form")) {
      const form = t.closest("form");
      if (form.id === "cell-editor") { closeEditor(); grid(); } else form.hidden = true;
      return;
    }
    if (t.closest("#remove-cell")) {
      const { account_id, day } = editing;
      closeEditor();
      await change("/assignments/remove", { account_id, day });
      return;
    }
    const pin = t.closest("td.cell .pin");
    const cell = t.closest("td.cell");
    if (pin && cell) {
      e.stopPropagation();
      await change("/assignments/pin", { account_id: Number(cell.dataset.account), day: cell.dataset.day,
        pinned: pin.getAttribute("aria-pressed") !== "true" });
      return;
    }
    if (cell) openEditor(Number(cell.dataset.account), cell.dataset.day);
  });
  main.addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    if (form.id === "new-plan") {
      await submitForm(form, async (f) => {
        const body = { name: f.get("name"), start_day: f.get("start_day"), days: Number(f.get("days")) };
        if (f.get("template_id")) body.template_id = Number(f.get("template_id"));
        view = await api("POST", "/api/rooster/plans", body);
        lists = await api("GET", "/api/rooster/plans");
        week = 0;
        await loadViolations();
        history.replaceState(null, "", `#${view.plan.id}`);
        render();
      });
    } else if (form.id === "template-form") {
      await submitForm(form, async (f) => {
        const rows = [];
        for (const weekdayValue of f.getAll("weekday")) {
          for (const shift of f.getAll("shift")) {
            for (const beat of f.getAll("beat")) {
              rows.push({ weekday: Number(weekdayValue), shift_type_id: Number(shift), beat_id: Number(beat), duos: Number(f.get("duos")) });
            }
          }
        }
        const made = await api("POST", "/api/rooster/templates", { name: f.get("name"), rows });
        lists = await api("GET", "/api/rooster/plans");
        render();
        const select = document.querySelector("#new-plan select[name=template_id]");
        document.getElementById("new-plan").hidden = false;
        select.value = String(made.id);
      });
    } else if (form.id === "cell-editor") {
      await submitForm(form, async (f) => {
        view.draft = await api("PUT", `/api/rooster/plans/${view.plan.id}/assignments`, {
          account_id: editing.account_id, day: editing.day, shift_type_id: Number(f.get("shift_type_id")),
          beat_id: Number(f.get("beat_id")), duo: Number(f.get("duo") || 0), pinned: f.get("pinned") === "on",
        });
        closeEditor();
        await refreshPlan();
      });
    } else if (form.id === "solve-form") {
      await submitForm(form, async (f) => {
        const started = await api("POST", `/api/rooster/plans/${view.plan.id}/solve`,
          { time_limit_s: Number(f.get("time_limit_s")) });
        follow(started.job_id);
      });
    } else if (form.id === "publish-form") {
      await submitForm(form, async (f) => {
        const done = await api("POST", `/api/rooster/plans/${view.plan.id}/publish`, { note: f.get("note") || null });
        lists = await api("GET", "/api/rooster/plans");
        await refreshPlan();
        const msg = document.getElementById("publish-msg");
        msg.className = "row-msg ok";
        msg.textContent = `Versie ${done.number} gepubliceerd (${done.assignments} diensten).`;
      });
    } else if (form.id === "absence-form") {
      await submitForm(form, async (f) => {
        await api("POST", "/api/rooster/absences", { account_id: Number(f.get("account_id")), kind: f.get("kind"),
          from_day: f.get("from_day"), to_day: f.get("to_day") });
        await refreshPlan();
      });
    } else if (form.id === "extra-form") {
      await submitForm(form, async (f) => {
        view = await api("PUT", `/api/rooster/plans/${view.plan.id}/demand`, {
          day: f.get("day"), shift_type_id: Number(f.get("shift_type_id")), beat_id: Number(f.get("beat_id")),
          duos: Number(f.get("duos")),
        });
        await refreshPlan();
      });
    } else if (form.id === "herplan-form") {
      await submitForm(form, async (f) => {
        const started = await api("POST", `/api/rooster/plans/${view.plan.id}/herplan`, {
          account_id: Number(f.get("account_id")), from_day: f.get("from_day"), days: Number(f.get("days")),
          time_limit_s: Number(document.getElementById("time-limit").value || 10),
        });
        form.hidden = true;
        follow(started.job_id);
      });
    }
  });
  // drag a shift to another day or boa (a filled target swaps)
  main.addEventListener("dragstart", (e) => {
    const cell = e.target.closest?.("td.cell[draggable=true]");
    if (!cell) return;
    e.dataTransfer.setData("text/plain", `${cell.dataset.account}|${cell.dataset.day}`);
    e.dataTransfer.effectAllowed = "move";
  });
  main.addEventListener("dragover", (e) => {
    const cell = e.target.closest?.("td.cell");
    if (!cell) return;
    e.preventDefault();
    main.querySelectorAll(".drop-target").forEach((c) => c !== cell && c.classList.remove("drop-target"));
    cell.classList.add("drop-target");
  });
  main.addEventListener("dragleave", (e) => e.target.closest?.("td.cell")?.classList.remove("drop-target"));
  main.addEventListener("drop", async (e) => {
    const cell = e.target.closest?.("td.cell");
    if (!cell) return;
    e.preventDefault();
    cell.classList.remove("drop-target");
    const [account, day] = (e.dataTransfer.getData("text/plain") || "").split("|");
    if (!account || (account === cell.dataset.account && day === cell.dataset.day)) return;
    closeEditor();
    await change("/assignments/move", { account_id: Number(account), day, to_account_id: Number(cell.dataset.account),
      to_day: cell.dataset.day });
  });
}

startWorkspace({
  title: "Rooster",
  here: "/teamleider/rooster",
  roles: ["teamlead", "admin"],
  onReady: async (element) => {
    main = element;
    lists = await api("GET", "/api/rooster/plans");
    const wanted = Number(location.hash.slice(1)) || lists.plans[0]?.id;
    if (wanted && lists.plans.some((p) => p.id === wanted)) await loadPlan(wanted);
    render();
    bind();
    if (view?.job && view.job.state === "bezig") follow(view.job.id);
  },
});
