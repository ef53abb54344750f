// Beheer (/beheer/): organisations and the gemeenten a meldkamer serves, accounts, tablets and trackers,
// retention periods. Everything is an /api call; the page never blocks (inline confirmations, no dialogs).
import { ApiError, api, refresh, token } from "/web/static/js/api.js";
import { startWorkspace } from "/web/static/js/workspace.js";
import { esc } from "/web/static/js/format.js";
import { dutch, onSubmit, options, period, showError, tabs, toInterval, when } from "/beheer/static/common.js";

export const ROLES = [["boa", "boa"], ["operator", "meldkamer-operator"], ["teamlead", "teamleider"],
  ["admin", "beheerder"], ["privacy_officer", "privacy officer"]];
const ROLE = Object.fromEntries([...ROLES, ["service", "koppeling"]]);
const KIND = { gemeente: "gemeente", meldkamer: "meldkamer" };
const REGIME = { avg: "AVG (toezicht)", wpg8: "Wpg art. 8 (dagelijkse taak)", wpg9: "Wpg art. 9 (gericht onderzoek)" };

startWorkspace({
  title: "Beheer", here: "/beheer/", roles: ["admin"],
  onReady: (main, session) => {
    main.innerHTML = "<h1>Beheer</h1>";
    tabs(main, [["organisaties", "Organisaties"], ["accounts", "Accounts"], ["apparaten", "Tablets en trackers"],
      ["feitcodes", "Feitcodes en tarieven"], ["bewaartermijnen", "Bewaartermijnen"]],
      (key, body) => SECTIONS[key](body, session));
  },
});

const SECTIONS = { organisaties: organisations, accounts, apparaten: devices, feitcodes, bewaartermijnen: retention };

// --- organisations ---------------------------------------------------------------------------------------

async function organisations(body) {
  const orgs = await api("GET", "/api/admin/organisations");
  const byId = Object.fromEntries(orgs.map((o) => [o.id, o]));
  const name = (id) => byId[id]?.name || `#${id}`;
  const meldkamers = orgs.filter((o) => o.kind === "meldkamer");
  const ownGemeenten = orgs.filter((o) => o.kind === "gemeente" && o.managed);
  body.innerHTML = `
    <h2>Nieuwe organisatie</h2>
    <form class="row" id="org-new">
      <label>Naam <input name="name" required maxlength="100" placeholder="Gemeente Zaanstad"></label>
      <label>Soort <select name="kind">${options([["gemeente", "gemeente"], ["meldkamer", "meldkamer"]])}</select></label>
      <label>Code (optioneel) <input name="code" maxlength="40" placeholder="zaanstad"></label>
      <button type="submit">Aanmaken</button><p class="error" role="alert"></p>
    </form>
    <h2>Meldkamer koppelen aan een gemeente</h2>
    <form class="row" id="org-link">
      <label>Meldkamer <select name="meldkamer">${options(meldkamers.map((m) => [m.id, m.name]))}</select></label>
      <label>bedient gemeente <select name="gemeente">${options(ownGemeenten.map((g) => [g.id, g.name]))}</select></label>
      <button type="submit"${meldkamers.length && ownGemeenten.length ? "" : " disabled"}>Koppelen</button>
      <p class="muted">Alleen een gemeente die u beheert: de gemeente beslist wie haar boa's ziet.</p>
      <p class="error" role="alert"></p>
    </form>
    <h2>Organisaties</h2>
    <table class="grid" id="org-table"><thead><tr><th>Naam</th><th>Soort</th><th>Code</th>
      <th>Koppelingen</th><th>Acties</th></tr></thead><tbody>
      ${orgs.map((o) => `<tr data-org="${o.id}">
        <td class="wrap">${esc(o.name)}${o.managed ? "" : ' <span class="badge">niet door u beheerd</span>'}</td>
        <td>${KIND[o.kind]}</td><td class="nowrap">${esc(o.code)}</td>
        <td>${o.kind === "meldkamer"
          ? (o.serves.length ? "bedient " + o.serves.map((g) => `<span class="confirm">${esc(name(g))}
              ${byId[g]?.managed || o.managed ? `<button class="small secondary" data-unlink="${o.id}:${g}">Ontkoppelen</button>` : ""}</span>`).join(" ") : '<span class="muted">bedient nog geen gemeente</span>')
          : (o.served_by.length ? "bediend door " + o.served_by.map((m) => esc(name(m))).join(", ") : '<span class="muted">geen meldkamer</span>')}</td>
        <td>${o.managed ? `<form class="confirm" data-rename="${o.id}"><input name="name" value="${esc(o.name)}" maxlength="100"
          aria-label="Nieuwe naam"><button class="small" type="submit">Hernoemen</button><span class="error"></span></form>` : ""}</td>
      </tr>`).join("")}</tbody></table>`;
  const reload = () => organisations(body);
  onSubmit(body.querySelector("#org-new"), async (f) => {
    await api("POST", "/api/admin/organisations", { name: f.get("name"), kind: f.get("kind"),
      ...(f.get("code") ? { code: f.get("code") } : {}) });
    await reload();
    done(body, `Organisatie "${f.get("name")}" aangemaakt.`);
  });
  onSubmit(body.querySelector("#org-link"), async (f) => {
    await api("POST", `/api/admin/organisations/${f.get("meldkamer")}/links`, { gemeente_id: Number(f.get("gemeente")) });
    await reload();
    done(body, `${name(f.get("meldkamer"))} bedient nu ${name(f.get("gemeente"))}.`);
  });
  for (const form of body.querySelectorAll("form[data-rename]")) {
    onSubmit(form, async (f) => {
      await api("PATCH", `/api/admin/organisations/${form.dataset.rename}`, { name: f.get("name") });
      await reload();
      done(body, `Hernoemd naar "${f.get("name")}".`);
    });
  }
  for (const b of body.querySelectorAll("button[data-unlink]")) {
    b.addEventListener("click", () => confirmInline(b, "Ontkoppelen?", async () => {
      const [mk, g] = b.dataset.unlink.split(":");
      await api("POST", `/api/admin/organisations/${mk}/links/${g}/remove`);
      await reload();
      done(body, `${name(mk)} bedient ${name(g)} niet meer.`);
    }));
  }
}

// --- accounts --------------------------------------------------------------------------------------------

async function accounts(body, session) {
  const [list, orgs] = await Promise.all([api("GET", "/api/admin/accounts"), api("GET", "/api/admin/organisations")]);
  const managed = orgs.filter((o) => o.managed);
  const orgName = Object.fromEntries(orgs.map((o) => [o.id, o.name]));
  body.innerHTML = `
    <h2>Nieuw account</h2>
    <form class="row" id="acc-new" autocomplete="off">
      <label>Gebruikersnaam <input name="username" required maxlength="100" autocomplete="off"></label>
      <label>Naam <input name="display_name" maxlength="100" placeholder="zoals collega's hem zien"></label>
      <label>Rol <select name="role">${options(ROLES)}</select></label>
      ${managed.length > 1 ? `<label>Organisatie <select name="org_id">${options(managed.map((o) => [o.id, o.name]), session.org_id)}</select></label>` : ""}
      <label>Eerste wachtwoord <input name="password" type="password" required minlength="12" autocomplete="new-password"></label>
      <button type="submit">Account aanmaken</button>
      <p class="muted">Minstens 12 tekens, niet de gebruikersnaam, geen bekend wachtwoord. Geef het persoonlijk door.</p>
      <p class="error" role="alert"></p>
    </form>
    <h2>Accounts (${list.length})</h2>
    <table class="grid" id="acc-table"><thead><tr><th>Naam</th><th>Gebruikersnaam</th>
      ${managed.length > 1 ? "<th>Organisatie</th>" : ""}<th>Rol</th><th>Status</th><th>Laatst ingelogd</th><th>Acties</th></tr></thead><tbody>
      ${list.map((a) => `<tr data-account="${a.id}" data-username="${esc(a.username)}">
        <td class="wrap">${esc(a.display_name)}</td><td>${esc(a.username)}</td>
        ${managed.length > 1 ? `<td>${esc(orgName[a.org_id])}</td>` : ""}
        <td>${a.id === session.account_id || a.role === "service" ? esc(ROLE[a.role] || a.role)
          : `<select data-role aria-label="Rol van ${esc(a.username)}">${options(ROLES, a.role)}</select>`}</td>
        <td>${a.active ? '<span class="badge ok">actief</span>' : '<span class="badge">gedeactiveerd</span>'}</td>
        <td>${when(a.last_login_at)}</td>
        <td class="actions">${a.id === session.account_id ? '<span class="muted">dit bent u</span>' : a.role === "service" ? "" : `
          <button class="small secondary" data-active="${!a.active}">${a.active ? "Deactiveren" : "Weer activeren"}</button>
          <form class="confirm" data-reset><input name="new_password" type="password" placeholder="nieuw wachtwoord"
            aria-label="Nieuw wachtwoord voor ${esc(a.username)}" minlength="12" required autocomplete="new-password">
            <button class="small secondary" type="submit">Wachtwoord resetten</button></form>`}
          <span class="error" role="alert"></span></td></tr>`).join("")}</tbody></table>`;
  const reload = () => accounts(body, session);
  onSubmit(body.querySelector("#acc-new"), async (f) => {
    const data = { username: f.get("username").trim(), role: f.get("role"), password: f.get("password") };
    if (f.get("display_name")?.trim()) data.display_name = f.get("display_name").trim();
    if (f.get("org_id")) data.org_id = Number(f.get("org_id"));
    await api("POST", "/api/admin/accounts", data);
    await reload();
    done(body, `Account "${data.username}" aangemaakt als ${ROLE[data.role]}.`);
  });
  for (const row of body.querySelectorAll("tr[data-account]")) {
    const id = row.dataset.account, who = row.dataset.username, line = row.querySelector(".error");
    const act = async (fn) => { line.textContent = ""; try { await fn(); } catch (err) { line.textContent = dutch(err); } };
    row.querySelector("select[data-role]")?.addEventListener("change", (e) => act(async () => {
      await api("PATCH", `/api/admin/accounts/${id}`, { role: e.target.value });
      await reload();
      done(body, `${who} is nu ${ROLE[e.target.value]}; zijn sessies zijn beëindigd.`);
    }));
    const toggle = row.querySelector("button[data-active]");
    toggle?.addEventListener("click", () => {
      const active = toggle.dataset.active === "true";
      const go = () => act(async () => {
        await api("PATCH", `/api/admin/accounts/${id}`, { active });
        await reload();
        done(body, active ? `${who} is weer actief.` : `${who} is gedeactiveerd en overal uitgelogd.`);
      });
      if (active) go(); else confirmInline(toggle, `${who} deactiveren?`, go);
    });
    const reset = row.querySelector("form[data-reset]");
    if (reset) onSubmit(reset, async (f) => {
      line.textContent = "";
      try {
        await api("POST", `/api/accounts/${id}/password`, { new_password: f.get("new_password") });
      } catch (err) { line.textContent = dutch(err); return; }
      reset.reset();
      done(body, `Het wachtwoord van ${who} is gereset; zijn sessies zijn beëindigd.`);
    });
  }
}

// --- tablets and trackers --------------------------------------------------------------------------------

async function devices(body) {
  const [list, units] = await Promise.all([api("GET", "/api/admin/devices"), api("GET", "/api/units")]);
  const unitOptions = [["", "— geen —"], ...units.map((u) => [u.id, u.call_sign])];
  body.innerHTML = `
    <div id="issued"></div>
    <h2>Tablet koppelen</h2>
    <form class="row" id="tablet-new">
      <label>Naam <input name="name" required maxlength="100" placeholder="Tablet 7"></label>
      <label>Eenheid (optioneel) <select name="unit_id">${options(unitOptions)}</select></label>
      <button type="submit">Koppelcode maken</button>
      <p class="muted">De koppelcode en QR-code worden één keer getoond; de boa voert ze in bij de eerste inlog.</p>
      <p class="error" role="alert"></p>
    </form>
    <h2>Tracker uitgeven</h2>
    <form class="row" id="tracker-new">
      <label>Naam <input name="name" required maxlength="100" placeholder="Tracker scooter 2"></label>
      <label>Eenheid <select name="unit_id">${options(unitOptions)}</select></label>
      <button type="submit">Sleutel maken</button>
      <p class="muted">De sleutel is het <em>id</em> dat u in de tracker (OsmAnd, Traccar Client) instelt; één keer getoond.</p>
      <p class="error" role="alert"></p>
    </form>
    <h2>Apparaten (${list.length})</h2>
    ${list.length ? `<table class="grid" id="device-table"><thead><tr><th>Naam</th><th>Soort</th><th>Eenheid</th>
      <th>Laatste contact</th><th>Status</th><th>Acties</th></tr></thead><tbody>
      ${list.map((d) => `<tr data-device="${d.id}" data-name="${esc(d.name)}">
        <td class="wrap">${esc(d.name)} <span class="muted">#${d.id}</span></td>
        <td>${d.kind === "tablet" ? "tablet" : "tracker"}</td><td>${esc(d.call_sign || "—")}</td>
        <td>${d.connected ? '<span class="badge ok">nu verbonden</span>' : when(d.last_contact_at)}</td>
        <td>${d.revoked_at ? `<span class="badge bad">ingetrokken</span> <span class="muted">${when(d.revoked_at)}</span>`
          : d.enrolled ? '<span class="badge ok">in gebruik</span>' : '<span class="badge warn">niet gekoppeld</span>'}</td>
        <td class="actions">${d.revoked_at ? '<span class="muted">afgesloten</span>' : `
          <button class="small secondary" data-reissue>${d.kind === "tablet" ? "Nieuwe koppelcode" : "Nieuwe sleutel"}</button>
          <button class="small secondary" data-revoke>Intrekken (kwijt)</button>`}<span class="error" role="alert"></span></td>
      </tr>`).join("")}</tbody></table>` : '<p class="empty">Nog geen tablets of trackers.</p>'}`;
  const show = (d) => {
    const issuedBox = body.querySelector("#issued");  // after a reload: the new page's box
    issuedBox.innerHTML = d.kind === "tablet"
      ? `<div class="issued" id="issued-secret"><img alt="QR-code met de koppelcode" src="${d.qr_svg}">
          <div><strong>Tablet "${esc(d.name)}" (apparaat ${d.id})</strong>
          <p>Koppelcode: <code id="issued-code">${esc(d.device_secret)}</code></p>
          <p>Voer bij de eerste inlog op de tablet het apparaatnummer <strong>${d.id}</strong> en deze koppelcode in
          (of scan de QR-code). Deze code wordt <strong>maar één keer getoond</strong>; alleen een hash wordt bewaard.</p>
          <button class="small secondary" id="issued-close">Klaar, verbergen</button></div></div>`
      : `<div class="issued" id="issued-secret"><div><strong>Tracker "${esc(d.name)}" (apparaat ${d.id})</strong>
          <p>Sleutel (het id in de tracker): <code id="issued-code">${esc(d.tracker_key)}</code></p>
          <p>Deze sleutel wordt <strong>maar één keer getoond</strong>; alleen een hash wordt bewaard.</p>
          <button class="small secondary" id="issued-close">Klaar, verbergen</button></div></div>`;
    issuedBox.querySelector("#issued-close").addEventListener("click", () => { issuedBox.innerHTML = ""; });
  };
  const reloadKeeping = async (issued) => { await devices(body); if (issued) show(issued); };
  for (const [id, path] of [["#tablet-new", "/api/admin/tablets"], ["#tracker-new", "/api/admin/trackers"]]) {
    onSubmit(body.querySelector(id), async (f) => {
      const data = { name: f.get("name") };
      if (f.get("unit_id")) data.unit_id = Number(f.get("unit_id"));
      await reloadKeeping(await api("POST", path, data));
    });
  }
  for (const row of body.querySelectorAll("tr[data-device]")) {
    const id = row.dataset.device, line = row.querySelector(".error");
    row.querySelector("[data-reissue]")?.addEventListener("click", (e) => confirmInline(e.target,
      "De oude code werkt dan niet meer. Doorgaan?", async () => {
        try { await reloadKeeping(await api("POST", `/api/admin/devices/${id}/reissue`)); }
        catch (err) { line.textContent = dutch(err); }
      }));
    row.querySelector("[data-revoke]")?.addEventListener("click", (e) => confirmInline(e.target,
      `${row.dataset.name} intrekken? Het apparaat wordt direct afgesloten.`, async () => {
        try {
          await api("POST", `/api/devices/${id}/revoke`);
          await devices(body);
          done(body, `${row.dataset.name} is ingetrokken en afgesloten.`);
        } catch (err) { line.textContent = dutch(err); }
      }));
  }
}

// --- feitcode catalogue and tariffs ---------------------------------------------------------------------

const TRACK = { om_strafbeschikking: "OM-strafbeschikking", bestuurlijke_boete: "bestuurlijke boete", mulder: "Mulder (WAHV)" };
const AMOUNT_KEY = { adult: "", minor: "minderjarige" };
const euro = (n) => `€ ${Number(n).toLocaleString("nl-NL")},00`;
const dateNl = (iso) => new Date(`${iso}T12:00:00`).toLocaleDateString("nl-NL", { day: "numeric", month: "long", year: "numeric" });

// A body that is not JSON (a CSV file, a catalogue file as picked), with the token and one refresh.
async function upload(path, content, type) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = await fetch(path, { method: "POST", headers: { "Content-Type": type, Authorization: `Bearer ${token()}` }, body: content });
    const data = await r.json().catch(() => null);
    if (r.status === 401 && attempt === 0 && await refresh()) continue;
    if (!r.ok) throw new ApiError(r.status, data);
    return data;
  }
}

// The API names the line and column ("regel 7.bedrag") and says why in Dutch: show exactly that.
function tariffRefusal(err) {
  if (err instanceof ApiError && err.status === 400) {
    const at = /^regel (\d+)(?:\.(\w+))?$/.exec(err.field || "");
    if (at) return `Niet ingelezen, niets opgeslagen. Regel ${at[1]}${at[2] ? `, kolom ${at[2]}` : ""}: ${err.message}.`;
    if (err.field === "valid_from") return `Niet ingelezen: ingangsdatum — ${err.message}.`;
  }
  if (err instanceof ApiError && err.status === 413) return "Niet ingelezen: het bestand is te groot (hoogstens 1 MB).";
  return dutch(err);
}

function catalogueRefusal(err) {
  if (err instanceof ApiError && err.status === 400)
    return `Catalogusbestand geweigerd, niets opgeslagen: controleer ${err.field ? `het veld "${err.field}"` : "het bestand"}.`;
  if (err instanceof ApiError && err.status === 413) return "Catalogusbestand geweigerd: groter dan 16 MB.";
  return dutch(err);
}

function amountText(entry) {
  const keys = Object.keys(entry.amounts_eur);
  if (!keys.length) return '<span class="badge warn">geen bedrag in de catalogus</span>';
  if (entry.amount_scheme === "person")
    return keys.map((k) => `${euro(entry.amounts_eur[k])}${AMOUNT_KEY[k] ? ` (${AMOUNT_KEY[k]})` : ""}`).join(" · ");
  return keys.map((k) => `cat. ${esc(k)}: ${euro(entry.amounts_eur[k])}`).join(" · ");
}

async function feitcodes(body) {
  const versions = await api("GET", "/api/catalogues");
  const today = new Date().toLocaleDateString("sv-SE");
  const inForce = versions.find((v) => v.valid_from <= today) || versions[versions.length - 1];
  body.innerHTML = `
    <h2>Tarieven inlezen</h2>
    <form class="row" id="tariff-import">
      <label>Tarievenlijst (CSV) <input type="file" name="file" accept=".csv,text/csv" required></label>
      <label>Geldig vanaf <input type="date" name="valid_from" aria-describedby="tariff-help"></label>
      <button type="submit">Inlezen</button>
      <p class="muted" id="tariff-help">Kopregel <code>feitcode;bedrag</code> (puntkomma of komma), één feitcode per regel,
        bedragen als "€ 110,00" of "110". Geen datum gekozen: de kolom <code>ingangsdatum</code> van het bestand, anders vandaag. Een feit met een tarief per voertuigcategorie krijgt een kolom <code>categorie</code>.
        Er komt een nieuwe versie bij: de catalogus die op die datum geldt, met deze bedragen. Eerdere
        registraties houden hun eigen versie.</p>
      <p class="error" role="alert"></p>
    </form>
    <h2>Feitcode opzoeken</h2>
    <form class="row" id="feit-search">
      <label>Feitcode of omschrijving <input name="q" required maxlength="100" placeholder="BF 185 of wildplassen"></label>
      <label>Op datum <input type="date" name="on" value="${today}"></label>
      <button type="submit">Zoeken</button><p class="error" role="alert"></p>
    </form>
    <div id="feit-results"></div>
    <h2>Catalogusversies (${versions.length})</h2>
    <table class="grid" id="catalogue-table"><thead><tr><th>Versie</th><th>Geldig vanaf</th><th>Feitcodes</th>
      <th>Met bedrag</th><th>Ingelezen door</th><th>Op</th></tr></thead><tbody>
      ${versions.map((v) => `<tr data-version="${v.id}">
        <td class="wrap">${esc(v.version)}${v.id === inForce?.id ? ' <span class="badge ok">geldt nu</span>' : ""}${v.valid_from > today ? ' <span class="badge">gaat nog in</span>' : ""}</td>
        <td class="nowrap">${dateNl(v.valid_from)}</td><td>${v.entries}</td><td>${v.amounts}</td>
        <td>${v.builtin ? '<span class="muted">meegeleverd met Schakel</span>' : esc(v.uploaded_by_name || "—")}</td>
        <td class="nowrap">${v.builtin ? "—" : when(v.uploaded_at)}</td></tr>`).join("")}</tbody></table>
    <h2>Volledige catalogus laden</h2>
    <form class="row" id="catalogue-upload">
      <label>Catalogusbestand (JSON) <input type="file" name="file" accept=".json,application/json" required></label>
      <button type="submit" class="secondary">Catalogus laden</button>
      <p class="muted">Een complete feitcodecatalogus in het formaat van Schakel vervangt de huidige vanaf zijn eigen datum.</p>
      <p class="error" role="alert"></p>
    </form>`;
  const reload = () => feitcodes(body);
  const importForm = body.querySelector("#tariff-import");
  importForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const line = importForm.querySelector(".error"), button = importForm.querySelector("button");
    line.textContent = "";
    body.querySelectorAll(".done").forEach((p) => p.remove());
    button.disabled = true;
    try {
      const f = new FormData(importForm);
      const file = f.get("file");
      const query = f.get("valid_from") ? `?valid_from=${encodeURIComponent(f.get("valid_from"))}` : "";
      const answer = await upload(`/api/catalogues/tariffs${query}`, await file.arrayBuffer(), "text/csv");
      await reload();
      done(body, `${answer.changed} tarieven ingelezen uit ${file.name}: nieuwe versie "${answer.version.version}", geldig vanaf ${dateNl(answer.version.valid_from)}.`);
    } catch (err) {
      line.textContent = tariffRefusal(err);
    } finally {
      button.disabled = false;
    }
  });
  const uploadForm = body.querySelector("#catalogue-upload");
  uploadForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const line = uploadForm.querySelector(".error");
    line.textContent = "";
    body.querySelectorAll(".done").forEach((p) => p.remove());
    try {
      const file = new FormData(uploadForm).get("file");
      const answer = await upload("/api/catalogues", await file.arrayBuffer(), "application/json");
      await reload();
      done(body, `Catalogus "${answer.version}" geladen, geldig vanaf ${dateNl(answer.valid_from)}.`);
    } catch (err) {
      line.textContent = catalogueRefusal(err);
    }
  });
  onSubmit(body.querySelector("#feit-search"), async (f) => {
    const params = new URLSearchParams({ q: f.get("q").trim(), limit: "20" });
    if (f.get("on")) params.set("on", f.get("on"));
    const found = await api("GET", `/api/catalogues/entries?${params}`);
    body.querySelector("#feit-results").innerHTML = found.entries.length ? `
      <p class="muted">Uit versie "${esc(found.version.version)}" (geldig vanaf ${dateNl(found.version.valid_from)}).</p>
      <table class="grid" id="feit-table"><thead><tr><th>Feitcode</th><th>Omschrijving</th><th>Spoor</th><th>Bedrag</th></tr></thead><tbody>
      ${found.entries.map((e) => `<tr data-code="${esc(e.code)}"><td class="nowrap">${esc(e.code)}</td>
        <td class="wrap">${esc(e.description)}</td><td>${esc(TRACK[e.track] || e.track)}</td>
        <td>${amountText(e)}</td></tr>`).join("")}</tbody></table>`
      : `<p class="muted" id="feit-none">Geen feitcode gevonden voor "${esc(f.get("q"))}".</p>`;
  });
}

// --- retention periods -----------------------------------------------------------------------------------

async function retention(body) {
  const periods = await api("GET", "/api/retention/periods");
  body.innerHTML = `<h2>Bewaartermijnen per regime</h2>
    <p class="muted">Archiveren telt vanaf de registratie, verwijderen vanaf het archiveren. Schrijf termijnen als
    "5 jaar", "18 maanden" of "30 dagen"; "geen" bij zichtbaar in lijsten: geen grens. De bewaarronde draait elke nacht;
    een proefronde staat op de pagina Privacy.</p>
    <table class="grid" id="retention-table"><thead><tr><th>Regime</th><th>Termijnen</th></tr></thead><tbody>
    ${periods.map((p) => `<tr><td>${esc(REGIME[p.regime] || p.regime)}</td>
      <td><form class="periods" data-regime="${p.regime}">
        <label>Zichtbaar in lijsten <input name="listed_for" value="${esc(p.listed_for == null ? "geen" : period(p.listed_for))}" size="12"></label>
        <label>Archiveren na <input name="archive_after" value="${esc(period(p.archive_after))}" size="12" required></label>
        <label>Verwijderen na (vanaf archiveren) <input name="delete_after" value="${esc(period(p.delete_after))}" size="12" required></label>
        <button class="small" type="submit">Opslaan</button><span class="error" role="alert"></span></form></td></tr>`).join("")}
    </tbody></table>`;
  for (const form of body.querySelectorAll("form[data-regime]")) {
    onSubmit(form, async (f) => {
      const listed = f.get("listed_for").trim().toLowerCase();
      await api("PUT", `/api/retention/periods/${form.dataset.regime}`, {
        listed_for: !listed || listed === "geen" ? "none" : toInterval(listed),
        archive_after: toInterval(f.get("archive_after")), delete_after: toInterval(f.get("delete_after")),
      });
      await retention(body);
      done(body, `Bewaartermijnen voor ${REGIME[form.dataset.regime]} opgeslagen.`);
    });
  }
}

// --- small helpers ---------------------------------------------------------------------------------------

function done(body, text) {
  const p = document.createElement("p");
  p.className = "done";
  p.setAttribute("role", "status");
  p.textContent = text;
  body.prepend(p);
}

// "Are you sure?" inside the page: the button becomes a question with Ja / Nee.
function confirmInline(button, question, action) {
  const box = document.createElement("span");
  box.className = "confirm";
  box.innerHTML = `<span>${esc(question)}</span><button class="small danger" data-yes>Ja</button>
    <button class="small secondary" data-no>Nee</button>`;
  button.replaceWith(box);
  box.querySelector("[data-no]").addEventListener("click", () => box.replaceWith(button));
  box.querySelector("[data-yes]").addEventListener("click", async () => {
    box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try { await action(); } catch (err) { showError(box.closest("section") || document.body, err); }
    if (box.isConnected) box.replaceWith(button);
  });
}
