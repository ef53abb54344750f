// Vandaag: who is on duty where, open meldingen, today's registrations and alarms, aangiftes that are due.
import { api } from "/web/static/js/api.js";
import { STATUS, esc } from "/web/static/js/format.js";
import { ALARM, KIND, badge, dateTime, longDate, time } from "/web/static/js/teamlead.js";
import { showProblem, startWorkspace } from "/web/static/js/workspace.js";

const URGENCY = {
  overdue: ["Termijn verstreken", "bad"], near: ["Termijn bijna om", "warn"],
  open: ["Aangifte nog open", ""], no_vpt: ["Zonder VPT-code", "warn"],
};
const REFRESH_MS = 30_000;
const DRILL = { exercise: "OEFENING", test: "TEST" }; // drill meldingen (docs/bridge.md, section 11)

function table(head, rows, empty) {
  if (!rows.length) return `<p class="empty">${esc(empty)}</p>`;
  return `<table class="grid"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
    <tbody>${rows.join("")}</tbody></table>`;
}

function link(id, text) {
  return `<a href="/teamleider/registraties#${esc(id)}">${esc(text)}</a>`;
}

function render(main, t) {
  const counts = t.registration_counts;
  const totalRegs = Object.values(counts).reduce((a, b) => a + b, 0);
  const totalAlarms = Object.values(t.alert_counts).reduce((a, b) => a + b, 0);
  const pressing = t.aangiftes.filter((a) => a.urgency === "overdue" || a.urgency === "near").length;
  const split = (c, labels) => Object.entries(c).map(([k, n]) => `${esc(labels[k] || k)}: ${n}`).join(" · ");
  main.innerHTML = `
    <h1>Vandaag <span class="count-line">${esc(longDate())}</span></h1>
    <div class="cards">
      <div class="card" id="card-duty"><div class="figure">${t.on_duty.length}</div>${t.on_duty.length === 1 ? "eenheid" : "eenheden"} op dienst</div>
      <div class="card" id="card-incidents"><div class="figure">${t.open_incidents.length}</div>open melding${t.open_incidents.length === 1 ? "" : "en"}</div>
      <div class="card" id="card-registrations"><div class="figure">${totalRegs}</div>registratie${totalRegs === 1 ? "" : "s"} vandaag
        <div class="count-line">${split(counts, KIND) || "nog geen"}</div></div>
      <div class="card" id="card-alarms"><div class="figure">${totalAlarms}</div>alarm${totalAlarms === 1 ? "" : "en"} vandaag
        <div class="count-line">${split(t.alert_counts, ALARM) || "geen"}</div></div>
      <div class="card" id="card-aangifte"><div class="figure${pressing ? " error" : ""}">${pressing}</div>
        aangifte${pressing === 1 ? "" : "s"} met termijn bijna om of verstreken</div>
    </div>
    <h2>Aangifte na agressie</h2>
    <div id="aangiftes">${table(["Status", "Incident", "Boa", "Eenheid", "Aangifte uiterlijk", "Wat nu"],
      t.aangiftes.map((a) => `<tr class="${a.urgency === "overdue" ? "urgent" : a.urgency === "near" ? "near" : ""}">
        <td>${badge(...URGENCY[a.urgency])}${a.new ? " " + badge("Nieuw", "bad") : ""}</td>
        <td>${link(a.registration_id, dateTime(a.occurred_at))}<div class="count-line">ernst: ${esc(a.severity || "—")},
          gemeld: ${esc(a.report)}</div></td>
        <td>${esc(a.author)}</td><td>${esc(a.unit || "—")}</td><td>${esc(dateTime(a.deadline))}</td>
        <td class="reminder">${esc(a.reminder)}</td></tr>`),
      "Geen agressie-incidenten waarvoor nog aangifte gedaan moet worden.")}</div>
    <h2>Op dienst</h2>
    <div id="duty">${table(["Eenheid", "Status", "Gebied", "Bemanning", "Sinds", "Telefoon", "Portofoon"],
      t.on_duty.map((d) => `<tr><td><strong>${esc(d.call_sign)}</strong></td>
        <td>${badge(STATUS[d.status] || d.status, d.status === "emergency" ? "bad" : "")}</td>
        <td>${esc(d.beats.join(", ") || "—")}</td><td>${esc(d.crew.join(", ") || "—")}</td>
        <td>${esc(time(d.started_at))}</td><td>${esc(d.phone || "—")}</td><td>${esc(d.portofoon || "—")}</td></tr>`),
      "Er is nu niemand op dienst.")}</div>
    <h2>Open meldingen</h2>
    <div id="incidents">${table(["Prio", "Categorie", "Adres", "Gebied", "Eenheden", "Sinds"],
      t.open_incidents.map((i) => `<tr><td>${badge(`P${i.priority}`, i.priority === 1 ? "bad" : "")}${
        DRILL[i.exercise] ? ` ${badge(DRILL[i.exercise], "warn")}` : ""}</td>
        <td>${esc(i.category)}${i.description ? `<div class="count-line">${esc(i.description)}</div>` : ""}</td>
        <td>${esc(i.address || "—")}</td><td>${esc(i.beat || "—")}</td>
        <td>${esc(i.units.join(", ") || "nog niet toegewezen")}</td><td>${esc(dateTime(i.created_at))}</td></tr>`),
      "Geen open meldingen.")}</div>
    <h2>Registraties vandaag</h2>
    <div id="registrations">${table(["Tijd", "Soort", "Categorie / feitcode", "Boa", "Eenheid", "Gebied", ""],
      t.registrations.map((r) => `<tr class="${r.state === "voided" ? "muted" : ""}">
        <td>${link(r.id, time(r.occurred_at))}</td><td>${esc(KIND[r.kind] || r.kind)}</td>
        <td>${esc(r.feitcode || r.category)}</td><td>${esc(r.author)}</td><td>${esc(r.unit || "—")}</td>
        <td>${esc(r.beats.join(", ") || "—")}</td>
        <td>${r.new ? badge("Nieuw", "bad") : ""}${r.state === "voided" ? badge("vervallen") : ""}</td></tr>`),
      "Vandaag nog geen registraties.")}</div>
    <h2>Alarmen vandaag</h2>
    <div id="alarms">${table(["Tijd", "Soort", "Eenheid", "Bevestigd", "Afgehandeld"],
      t.alerts.map((a) => `<tr><td>${esc(time(a.at))}</td><td>${esc(ALARM[a.kind] || a.kind)}</td>
        <td>${esc(a.unit || "—")}</td><td>${esc(time(a.acknowledged_at))}</td><td>${esc(time(a.resolved_at))}</td></tr>`),
      "Vandaag geen alarmen.")}</div>
    <p class="count-line">Bijgewerkt om ${esc(time(new Date().toISOString()))}; ververst elke 30 seconden.</p>`;
}

startWorkspace({
  title: "Vandaag",
  here: "/teamleider/",
  roles: ["teamlead", "admin"],
  onReady: async (main) => {
    const load = async () => {
      try {
        render(main, await api("GET", "/api/teamlead/today"));
      } catch (err) {
        showProblem(err, main);
      }
    };
    await load();
    const timer = setInterval(() => (document.getElementById("ws-main") === main ? load() : clearInterval(timer)),
      REFRESH_MS);
  },
});
