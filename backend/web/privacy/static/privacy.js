// Privacy (/privacy/): the audit log with filters (who read which personal data, when, why; refused reads),
// inzageverzoeken (a person's registrations and who saw them), and the retention runs (dry run and run).
import { api } from "/web/static/js/api.js";
import { startWorkspace } from "/web/static/js/workspace.js";
import { esc } from "/web/static/js/format.js";
import { dutch, onSubmit, options, period, showError, tabs, when } from "/beheer/static/common.js";

export const ACTION = {
  read: "ingezien", read_track: "route ingezien", create: "geregistreerd", correct: "gecorrigeerd", void: "ingetrokken",
  disclosure: "verstrekt", export_cjib: "export CJIB", export_gir: "export GIR", export_overview: "export overzicht",
  inzage: "inzageverzoek", login: "inloggen", refresh: "sessie verlengd", logout: "uitloggen",
  password_change: "wachtwoord gewijzigd", password_reset: "wachtwoord gereset", account_create: "account aangemaakt",
  account_change: "account gewijzigd (rol/actief)", device_enrol: "apparaat gekoppeld", device_reenrol: "nieuwe koppelcode/sleutel",
  device_revoke: "apparaat ingetrokken", organisation_create: "organisatie aangemaakt",
  organisation_rename: "organisatie hernoemd", meldkamer_link: "meldkamer gekoppeld", meldkamer_unlink: "meldkamer ontkoppeld",
  retention: "bewaarronde", retention_config: "bewaartermijn gewijzigd", catalogue_upload: "feitcodecatalogus geladen", tariff_import: "tarieven ingelezen",
  init: "eerste inrichting",
};
const RESULT = { ok: "gelukt", denied: "geweigerd", not_found: "niet gevonden", failed: "mislukt",
  refused: "geweigerd", throttled: "afgeremd", reuse: "token hergebruikt" };
const BAD = new Set(["denied", "not_found", "failed", "refused", "throttled", "reuse"]);
const REGIME = { avg: "AVG (toezicht)", wpg8: "Wpg art. 8", wpg9: "Wpg art. 9" };
const KIND = { waarneming: "waarneming", fine: "boete", aggression: "agressie-incident" };
const STATE = { active: "actief", voided: "ingetrokken", archived: "gearchiveerd" };
const OBJECT = { registration: "registratie", person: "persoon", account: "account", device: "apparaat",
  organisation: "organisatie", retention: "bewaartermijn", track: "route", unit: "eenheid" };

startWorkspace({
  title: "Privacy", here: "/privacy/", roles: ["privacy_officer", "admin"],
  onReady: (main, session) => {
    main.innerHTML = "<h1>Privacy</h1>";
    tabs(main, [["auditlog", "Auditlog"], ["inzage", "Inzageverzoek"], ["bewaren", "Bewaarrondes"]],
      (key, body) => SECTIONS[key](body, session));
  },
});

const SECTIONS = { auditlog: auditLog, inzage, bewaren: retention };

// --- the audit log -----------------------------------------------------------------------------------------

async function auditLog(body) {
  body.innerHTML = `
    <form class="row" id="audit-filter">
      <label>Actie <select name="action">${options([["", "alle"], ...Object.entries(ACTION)])}</select></label>
      <label>Resultaat <select name="result">${options([["", "alle"], ["ok", "gelukt"], ["denied", "geweigerd (andere organisatie)"],
        ["not_found", "niet gevonden"], ["failed", "mislukt"], ["refused", "geweigerd"], ["throttled", "afgeremd"]])}</select></label>
      <label>Soort object <select name="object_type">${options([["", "alle"], ...Object.entries(OBJECT)])}</select></label>
      <label>Object-id <input name="object_id" maxlength="200" size="14"></label>
      <label>Wie (gebruikersnaam) <input name="who" maxlength="100" size="12"></label>
      <label>Vanaf <input name="since" type="date"></label>
      <label>Tot en met <input name="until" type="date"></label>
      <button type="submit">Zoeken</button><p class="error" role="alert"></p>
    </form>
    <div id="audit-result"></div>`;
  const form = body.querySelector("#audit-filter");
  const search = async (f) => {
    const q = new URLSearchParams({ limit: "500" });
    for (const key of ["action", "result", "object_type", "object_id"]) if (f.get(key)) q.set(key, f.get(key).trim());
    if (f.get("since")) q.set("since", new Date(`${f.get("since")}T00:00:00`).toISOString());
    if (f.get("until")) {
      const end = new Date(`${f.get("until")}T00:00:00`);
      end.setDate(end.getDate() + 1);
      q.set("until", end.toISOString());
    }
    let rows = await api("GET", `/api/audit?${q}`);
    const who = (f.get("who") || "").trim().toLowerCase();
    if (who) rows = rows.filter((r) => (r.actor_name || "").toLowerCase().includes(who));
    renderAudit(body.querySelector("#audit-result"), rows);
  };
  onSubmit(form, search);
  await search(new FormData(form));
}

function renderAudit(where, rows) {
  if (!rows.length) { where.innerHTML = '<p class="empty">Geen regels gevonden met deze filters.</p>'; return; }
  where.innerHTML = `<p class="muted">${rows.length} regel${rows.length === 1 ? "" : "s"}, nieuwste eerst.</p>
    <table class="grid" id="audit-table"><thead><tr><th>Wanneer</th><th>Wie</th><th>Actie</th><th>Object</th>
    <th>Resultaat</th><th>Herkomst</th><th>Reden</th><th>Details</th></tr></thead><tbody>
    ${rows.map((r) => `<tr class="${BAD.has(r.result) ? "bad" : ""}">
      <td>${when(r.at)}</td><td>${esc(r.actor_name || (r.actor_id ? `#${r.actor_id}` : "systeem"))}</td>
      <td>${esc(ACTION[r.action] || r.action)}</td>
      <td class="wrap">${esc(OBJECT[r.object_type] || r.object_type)}${r.object_id ? ` <span class="muted">${esc(r.object_id)}</span>` : ""}</td>
      <td><span class="badge ${BAD.has(r.result) ? "bad" : "ok"}">${esc(RESULT[r.result] || r.result)}</span></td>
      <td class="wrap">${esc(r.origin)}</td><td class="wrap">${esc(r.reason || "")}</td>
      <td class="wrap muted">${esc(details(r.details))}</td></tr>`).join("")}</tbody></table>`;
}

function details(d) {
  if (!d || !Object.keys(d).length) return "";
  return Object.entries(d).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join("; ");
}

// --- inzageverzoek -------------------------------------------------------------------------------------------

async function inzage(body) {
  body.innerHTML = `
    <p class="muted">Een inzageverzoek toont de registraties van een persoon en wie ze de afgelopen 4 jaar heeft ingezien
    of verstrekt. Het verzoek zelf wordt met de reden in de auditlog vastgelegd.</p>
    <form class="row" id="inzage-form">
      <label>Naam <input name="name" required maxlength="200" placeholder="zoals geregistreerd"></label>
      <label>Geboortedatum <input name="birth_date" type="date" required></label>
      <label>Reden <input name="reason" required minlength="3" maxlength="1000" size="40" placeholder="verzoek van betrokkene, kenmerk …"></label>
      <button type="submit">Verzoek uitvoeren</button><p class="error" role="alert"></p>
    </form>
    <div id="inzage-result"></div>`;
  onSubmit(body.querySelector("#inzage-form"), async (f) => {
    const answer = await api("POST", "/api/inzage", {
      name: f.get("name").trim(), birth_date: f.get("birth_date"), reason: f.get("reason").trim() });
    const where = body.querySelector("#inzage-result");
    where.innerHTML = `<h2>Registraties (${answer.registrations.length})</h2>
      ${answer.registrations.length ? `<table class="grid" id="inzage-registrations"><thead><tr><th>Wanneer</th><th>Soort</th>
        <th>Categorie / feitcode</th><th>Regime</th><th>Status</th><th>Id</th></tr></thead><tbody>
        ${answer.registrations.map((r) => `<tr><td>${when(r.occurred_at)}</td><td>${esc(KIND[r.kind] || r.kind)}</td>
          <td>${esc(r.category)}${r.feitcode ? ` · ${esc(r.feitcode)}` : ""}</td><td>${esc(REGIME[r.regime] || r.regime)}</td>
          <td>${esc(STATE[r.state] || r.state)}</td><td class="muted">${esc(r.id)}</td></tr>`).join("")}</tbody></table>`
        : '<p class="empty">Geen registraties van deze persoon.</p>'}
      <h2>Inzage en verstrekkingen, afgelopen 4 jaar (${answer.disclosures.length})</h2>
      ${answer.disclosures.length ? `<table class="grid" id="inzage-disclosures"><thead><tr><th>Wanneer</th><th>Wie</th><th>Actie</th>
        <th>Registratie</th><th>Resultaat</th><th>Reden</th></tr></thead><tbody>
        ${answer.disclosures.map((d) => `<tr><td>${when(d.at)}</td><td>${esc(d.actor_name || (d.actor_id ? `#${d.actor_id}` : "systeem"))}</td>
          <td>${esc(ACTION[d.action] || d.action)}</td><td class="muted">${esc(d.object_id || "")}</td>
          <td>${esc(RESULT[d.result] || d.result)}</td><td class="wrap">${esc(d.reason || "")}</td></tr>`).join("")}</tbody></table>`
        : '<p class="empty">Niemand heeft deze registraties ingezien of verstrekt.</p>'}`;
  });
}

// --- retention runs ------------------------------------------------------------------------------------------

async function retention(body, session) {
  const [periods, runs] = await Promise.all([api("GET", "/api/retention/periods"), api("GET", "/api/retention/runs")]);
  body.innerHTML = `
    <h2>Bewaartermijnen</h2>
    <table class="grid" id="periods"><thead><tr><th>Regime</th><th>Zichtbaar in lijsten</th><th>Archiveren na</th>
      <th>Verwijderen na (vanaf archiveren)</th></tr></thead><tbody>
      ${periods.map((p) => `<tr><td>${esc(REGIME[p.regime] || p.regime)}</td><td>${esc(period(p.listed_for))}</td>
        <td>${esc(period(p.archive_after))}</td><td>${esc(period(p.delete_after))}</td></tr>`).join("")}</tbody></table>
    ${session.role === "admin" ? '<p class="muted">Wijzigen: Beheer → Bewaartermijnen.</p>' : ""}
    <h2>Bewaarronde</h2>
    <form class="row" id="retention-preview">
      <label>Peildatum (leeg: nu) <input name="now" type="date"></label>
      <button type="submit">Proefronde (verandert niets)</button>
      <button type="button" class="danger" id="retention-run">Ronde nu uitvoeren</button>
      <p class="error" role="alert"></p>
    </form>
    <div id="retention-result"></div>
    <h2>Uitgevoerde rondes</h2>
    ${runs.length ? `<table class="grid" id="retention-runs"><thead><tr><th>Wanneer</th><th>Door</th>
      <th class="num">Gearchiveerd</th><th class="num">Verwijderd</th><th class="num">Foto's verwijderd</th></tr></thead><tbody>
      ${runs.map((r) => `<tr><td>${when(r.at)}</td><td>${esc(r.actor_id ? `${r.actor_name || `#${r.actor_id}`} (${r.origin})` : r.origin || "nachtelijke ronde")}</td>
        <td class="num">${r.archived}</td><td class="num">${r.deleted}</td><td class="num">${r.photos_deleted}</td></tr>`).join("")}
      </tbody></table>` : '<p class="empty">Nog geen bewaarrondes uitgevoerd.</p>'}`;
  const result = body.querySelector("#retention-result");
  onSubmit(body.querySelector("#retention-preview"), async (f) => {
    const data = f.get("now") ? { now: new Date(`${f.get("now")}T12:00:00`).toISOString() } : {};
    showPass(result, await api("POST", "/api/retention/preview", data));
  });
  const runButton = body.querySelector("#retention-run");
  runButton.addEventListener("click", () => {
    const box = document.createElement("span");
    box.className = "confirm";
    box.innerHTML = `<span>Wat over zijn termijn is wordt nu gearchiveerd of definitief verwijderd. Doorgaan?</span>
      <button type="button" class="small danger" id="retention-run-yes">Ja, uitvoeren</button>
      <button type="button" class="small secondary" id="retention-run-no">Nee</button>`;
    runButton.replaceWith(box);
    box.querySelector("#retention-run-no").addEventListener("click", () => box.replaceWith(runButton));
    box.querySelector("#retention-run-yes").addEventListener("click", async () => {
      try {
        const pass = await api("POST", "/api/retention/run");
        await retention(body, session);
        showPass(body.querySelector("#retention-result"), pass);
      } catch (err) { box.replaceWith(runButton); showError(body, err); }
    });
  });
}

function showPass(where, pass) {
  const list = (rows) => rows.length ? `<table class="grid"><thead><tr><th>Registratie</th><th>Soort</th><th>Regime</th>
    <th>Ontvangen</th></tr></thead><tbody>${rows.map((r) => `<tr><td class="muted">${esc(r.id)}</td>
    <td>${esc(KIND[r.kind] || r.kind)}</td><td>${esc(REGIME[r.regime] || r.regime)}</td><td>${when(r.received_at)}</td></tr>`).join("")}</tbody></table>`
    : '<p class="empty">Geen.</p>';
  where.innerHTML = `<div class="card" id="pass-result">
    <h2>${pass.dry_run ? `Proefronde op ${when(pass.at)} — er is niets veranderd` : `Ronde uitgevoerd op ${when(pass.at)}`}</h2>
    <p><strong id="pass-archived">${pass.archived.length}</strong> registraties van uw organisatie ${pass.dry_run ? "zouden worden" : "zijn"} gearchiveerd,
    <strong id="pass-deleted">${pass.deleted.length}</strong> ${pass.dry_run ? "zouden worden" : "zijn"} verwijderd
    (alle organisaties samen: ${pass.total_archived} en ${pass.total_deleted}; foto's: ${pass.photos_deleted}).</p>
    <h3>Archiveren</h3>${list(pass.archived)}<h3>Verwijderen</h3>${list(pass.deleted)}</div>`;
}
