// Registraties: the filterable list, one registration opened in a panel (fields, photos, map, versions,
// receipt), and correcting or voiding it with a reason typed in the panel. New aggression incidents are
// flagged until a team lead has opened them.
import { api } from "/web/static/js/api.js";
import { esc } from "/web/static/js/format.js";
import {
  KIND, REPORT, STATE, badge, baseMap, beatNames, dateTime, isoDay, lookups, read,
} from "/web/static/js/teamlead.js";
import { problemText, showProblem, startWorkspace } from "/web/static/js/workspace.js";

const LABEL = {
  kind: "Soort", id: "Id", occurred_at: "Tijdstip", location: "Locatie", lon: "Lengtegraad", lat: "Breedtegraad",
  accuracy_m: "Nauwkeurigheid (m)", address: "Adres", photos: "Foto's", boa_ids: "Collega's", unit_id: "Eenheid",
  incident_ref: "Meldingnummer", regime: "Regime", purpose: "Doel (Wpg art. 9)", category: "Categorie",
  text: "Tekst", feitcode: "Feitcode", offender: "Overtreder", name: "Naam", birth_date: "Geboortedatum",
  id_document_type: "Identiteitsbewijs", id_document_number: "Documentnummer", street: "Straat",
  house_number: "Huisnummer", postcode: "Postcode", city: "Plaats", statement: "Verklaring",
  vehicle_category: "Voertuigcategorie", licence_plate: "Kenteken", types: "Soort agressie", severity: "Ernst",
  impact: "Gevolgen", description: "Omschrijving", staff: "Betrokken medewerkers", role: "Rol",
  witnesses: "Getuigen", bodycam_refs: "Bodycambeelden", report: "Gemeld bij politie", reported_at: "Gemeld op",
  vpt_code_used: "VPT-code op pv", follow_up_care: "Nazorg", account_id: "Account", phone: "Telefoon",
  country: "Land",
};
const SKIP = new Set(["kind", "id", "photos"]);
// what a reader looks for first; the rest follows in the order stored
const ORDER = ["occurred_at", "location", "category", "feitcode", "text", "types", "severity", "description",
  "impact", "offender", "statement", "vehicle_category", "licence_plate", "staff", "witnesses", "report",
  "reported_at", "vpt_code_used", "follow_up_care", "bodycam_refs", "boa_ids", "unit_id", "incident_ref",
  "regime", "purpose"];
const empty = (v) => v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length);

let look = null;
let rows = [];
let openId = null;

function value(key, v) {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "boolean") return v ? "ja" : "nee";
  if (key === "occurred_at" || key === "reported_at") return esc(dateTime(v));
  if (key === "boa_ids") return esc(v.map((id) => look.member.get(id)?.display_name || `#${id}`).join(", ") || "—");
  if (key === "unit_id") return esc(look.unit.get(v)?.call_sign || `#${v}`);
  if (key === "report") return esc(REPORT[v] || v);
  if (Array.isArray(v)) {
    if (!v.length) return "—";
    return v.every((x) => typeof x !== "object") ? esc(v.join(", ")) : v.map((x) => fields(x)).join("");
  }
  if (typeof v === "object") {
    if (v.street !== undefined || v.postcode !== undefined) {  // an address reads as one
      return esc([[v.street, v.house_number].filter(Boolean).join(" "), [v.postcode, v.city].filter(Boolean).join(" "),
        v.country && v.country !== "NL" ? v.country : ""].filter(Boolean).join(", "));
    }
    if (Object.values(v).every((x) => x === null || typeof x !== "object")) {  // a flat record on one line
      return Object.entries(v).filter(([, x]) => !empty(x))
        .map(([k, x]) => `${esc(LABEL[k] || k)}: ${value(k, x)}`).join(" · ") || "—";
    }
    return fields(v);
  }
  return esc(v);
}

function fields(obj) {
  const rank = (k) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
  const entries = Object.entries(obj).filter(([k, v]) => !SKIP.has(k) && !empty(v))
    .sort(([a], [b]) => rank(a) - rank(b));
  return `<dl class="fields">${entries.map(([k, v]) => `<dt>${esc(LABEL[k] || k)}</dt><dd>${value(k, v)}</dd>`)
    .join("")}</dl>`;
}

function filterForm() {
  const opts = (items, label) => items.map(([v, t]) => `<option value="${esc(v)}">${esc(t)}</option>`).join("");
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 30 * 86400_000);
  return `<form id="filters" class="toolbar">
    <label>Van <input type="date" name="from" value="${isoDay(monthAgo)}"></label>
    <label>Tot en met <input type="date" name="to" value="${isoDay(today)}"></label>
    <label>Soort <select name="kind"><option value="">alle</option>${opts(Object.entries(KIND))}</select></label>
    <label>Boa <select name="boa_id"><option value="">alle</option>
      ${opts(look.members.map((m) => [m.id, m.display_name]))}</select></label>
    <label>Eenheid <select name="unit_id"><option value="">alle</option>
      ${opts(look.units.map((u) => [u.id, u.call_sign]))}</select></label>
    <label>Gebied <select name="beat_id"><option value="">alle</option>
      ${opts(look.beats.map((f) => [f.id, f.properties.name + (f.properties.retired_at ? " (buiten gebruik)" : "")]))}
      </select></label>
    <label>Feitcode <input name="feitcode" size="8" placeholder="bijv. F 300"></label>
    <label>Status <select name="status"><option value="">alle</option><option value="active">actief</option>
      <option value="voided">vervallen</option></select></label>
    <button type="submit">Zoeken</button>
    <span id="count" class="count-line"></span>
  </form>`;
}

function query(form) {
  const f = new FormData(form);
  const q = new URLSearchParams();
  // the period in local days: from 00:00 on the first day to 00:00 after the last
  if (f.get("from")) q.set("since", new Date(`${f.get("from")}T00:00:00`).toISOString());
  if (f.get("to")) {
    const end = new Date(`${f.get("to")}T00:00:00`);
    end.setDate(end.getDate() + 1);
    q.set("until", end.toISOString());
  }
  for (const k of ["kind", "boa_id", "unit_id", "beat_id", "status"]) if (f.get(k)) q.set(k, f.get(k));
  const code = (f.get("feitcode") || "").trim();
  if (code) q.set("feitcode", code);
  q.set("limit", "1000");
  return q;
}

function renderRows() {
  const body = document.getElementById("rows");
  document.getElementById("count").textContent = `${rows.length} registratie${rows.length === 1 ? "" : "s"}`;
  if (!rows.length) {
    body.innerHTML = `<tr><td colspan="9" class="empty">Geen registraties met deze filters.</td></tr>`;
    return;
  }
  body.innerHTML = rows.map((r) => `<tr class="clickable${r.id === openId ? " selected" : ""}${r.state === "voided"
      ? " muted" : ""}" data-id="${esc(r.id)}">
    <td class="nowrap">${esc(dateTime(r.occurred_at))}</td><td>${esc(KIND[r.kind] || r.kind)}</td>
    <td>${esc(r.category)}</td><td>${esc(r.feitcode || "—")}</td>
    <td>${esc(look.member.get(r.author_id)?.display_name || `#${r.author_id}`)}</td>
    <td>${esc(look.unit.get(r.unit_id)?.call_sign || "—")}</td><td>${esc(beatNames(r.beat_ids, look))}</td>
    <td>${esc(STATE[r.state] || r.state)}${r.version > 1 ? ` <span class="count-line">v${r.version}</span>` : ""}</td>
    <td>${r.seen === false ? badge("Nieuw", "bad") : ""}${r.complete ? "" : badge("foto's ontbreken", "warn")}
      ${r.kind === "aggression" && r.reported !== "aangifte" ? badge("geen aangifte", "warn") : ""}</td></tr>`)
    .join("");
}

async function search() {
  rows = await api("GET", `/api/registrations?${query(document.getElementById("filters"))}`);
  renderRows();
}

function closePanel() {
  openId = null;
  document.getElementById("split").classList.add("closed");
  document.getElementById("panel").hidden = true;
  history.replaceState(null, "", location.pathname);
  renderRows();
}

async function open(id) {
  openId = id;
  history.replaceState(null, "", `#${id}`);
  renderRows();
  const panel = document.getElementById("panel");
  panel.hidden = false;
  document.getElementById("split").classList.remove("closed");
  panel.innerHTML = `<p class="count-line">Laden…</p>`;
  let view;
  try {
    view = await read(`/api/registrations/${id}`);
  } catch (err) {
    panel.innerHTML = `<p class="error ws-problem" role="alert">${esc(problemText(err))}</p>`;
    return;
  }
  const reg = view.registration;
  const versions = await read(`/api/registrations/${id}/versions`).catch(() => []);
  const d = view.deadline;
  panel.innerHTML = `<h2>${esc(KIND[reg.kind] || reg.kind)} ${badge(STATE[reg.state] || reg.state,
      reg.state === "voided" ? "bad" : "ok")} <button class="small secondary close" id="close">Sluiten</button></h2>
    <p class="count-line">${esc(dateTime(reg.occurred_at))} · ${esc(
      look.member.get(reg.author_id)?.display_name || `#${reg.author_id}`)} · ${esc(
      look.unit.get(reg.unit_id)?.call_sign || "geen eenheid")} · ${esc(beatNames(reg.beat_ids, look))} · versie ${
      reg.version}</p>
    ${reg.void_reason ? `<p class="notice">Vervallen: ${esc(reg.void_reason)}</p>` : ""}
    ${d ? `<p class="${d.overdue ? "ws-problem" : "notice"}" id="deadline">Aangifte uiterlijk ${esc(dateTime(d.deadline))}${
      d.overdue ? " — termijn verstreken" : d.reported ? " — aangifte gedaan" : ""}. ${esc(d.reminder)}</p>` : ""}
    <div id="minimap" class="minimap"></div>
    <h3>Foto's</h3><div class="photos" id="photos">${reg.photos.length ? "" : `<p class="empty">Geen foto's.</p>`}</div>
    ${reg.missing_photos.length ? `<p class="notice">${reg.missing_photos.length} foto('s) nog niet ontvangen van de tablet.</p>` : ""}
    <h3>Gegevens</h3>${fields(reg.details)}
    ${reg.derived && Object.keys(reg.derived).length ? `<details><summary>Berekend bij indienen</summary>
      <pre class="count-line">${esc(JSON.stringify(reg.derived, null, 2))}</pre></details>` : ""}
    <h3>Versies</h3>${versions.length ? `<ol class="versions" id="versions">${versions.map((v) => `<li>versie ${v.version}:
      ${esc(v.action === "void" ? "vervallen verklaard" : "gecorrigeerd")} op ${esc(dateTime(v.replaced_at))} door ${esc(
      look.member.get(v.replaced_by)?.display_name || `account ${v.replaced_by}`)} — “${esc(v.reason)}”</li>`).join("")}</ol>`
      : `<p class="empty" id="versions">Geen eerdere versies.</p>`}
    ${reg.kind === "fine" ? `<p><button class="secondary" id="receipt">Aankondiging downloaden</button>
      <button class="secondary" id="receipt-pdf">Aankondiging als PDF</button></p>` : ""}
    ${reg.state === "active" ? `<div class="actions">
      <label>Reden (verplicht bij corrigeren en vervallen)
        <textarea id="reason" maxlength="1000" placeholder="bijv. verkeerde feitcode, dubbel ingevoerd"></textarea></label>
      <details id="correct-box"><summary>Corrigeren: de volledige inhoud aanpassen</summary>
        <label>Inhoud (zoals de boa die indiende; pas aan wat niet klopt)
          <textarea id="content" class="json" spellcheck="false">${esc(JSON.stringify(reg.details, null, 2))}</textarea></label>
        <button id="correct">Correctie opslaan</button></details>
      <button class="danger" id="void">Vervallen verklaren</button>
      <p id="action-msg" class="row-msg" role="status"></p></div>` : ""}`;
  document.getElementById("close").addEventListener("click", closePanel);
  const map = await baseMap(document.getElementById("minimap"), { zoomControl: false, attributionControl: false });
  map.setView([reg.lat, reg.lon], 16);
  L.circleMarker([reg.lat, reg.lon], { radius: 8, color: "#b00020", fillOpacity: 0.6 }).addTo(map);
  const beats = look.beats.filter((f) => reg.beat_ids.includes(f.id));
  if (beats.length) L.geoJSON({ type: "FeatureCollection", features: beats }, { style: { weight: 1, fillOpacity: 0.05 } }).addTo(map);
  for (const hash of reg.photos) {
    if (reg.missing_photos.includes(hash)) continue;
    read(`/api/photos/${hash}`, { as: "blob" }).then((blob) => {
      const img = document.createElement("img");
      img.src = URL.createObjectURL(blob);
      img.alt = `Foto ${hash.slice(0, 8)}`;
      document.getElementById("photos")?.append(img);
    }).catch(() => {});
  }
  const download = async (path, name) => {
    try {
      const blob = await read(path, { as: "blob" });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
    } catch (err) {
      showProblem(err, panel);
    }
  };
  document.getElementById("receipt")?.addEventListener("click", () =>
    download(`/api/registrations/${id}/receipt`, `aankondiging-${id}.html`));
  document.getElementById("receipt-pdf")?.addEventListener("click", () =>
    download(`/api/registrations/${id}/receipt.pdf`, `aankondiging-${id}.pdf`));
  const msg = document.getElementById("action-msg");
  const act = async (path, body, done) => {
    msg.className = "row-msg";
    msg.textContent = "";
    try {
      await api("POST", path, body);
      await search();
      await open(id);
      const after = document.getElementById("action-msg") || panel;
      if (after.id === "action-msg") { after.className = "row-msg ok"; after.textContent = done; }
      else panel.insertAdjacentHTML("afterbegin", `<p class="notice" role="status">${esc(done)}</p>`);
    } catch (err) {
      msg.className = "row-msg error";
      msg.textContent = problemText(err);
    }
  };
  const reason = () => document.getElementById("reason").value.trim();
  document.getElementById("void")?.addEventListener("click", () => {
    if (!reason()) { msg.className = "row-msg error"; msg.textContent = "Vul eerst de reden in."; return; }
    act(`/api/registrations/${id}/void`, { reason: reason() }, "Vervallen verklaard.");
  });
  document.getElementById("correct")?.addEventListener("click", () => {
    if (!reason()) { msg.className = "row-msg error"; msg.textContent = "Vul eerst de reden in."; return; }
    let content;
    try {
      content = JSON.parse(document.getElementById("content").value);
    } catch (err) {
      msg.className = "row-msg error";
      msg.textContent = `De inhoud is geen geldige JSON: ${err.message}`;
      return;
    }
    act(`/api/registrations/${id}/correct`, { reason: reason(), registration: content }, "Correctie opgeslagen.");
  });
  if (reg.kind === "aggression") {  // seen by a team lead: no longer flagged as new (kept once, server side)
    await api("POST", `/api/registrations/${id}/seen`).catch(() => {});
    const row = rows.find((r) => r.id === id);
    if (row) row.seen = true;
    renderRows();
  }
}

startWorkspace({
  title: "Registraties",
  here: "/teamleider/registraties",
  roles: ["teamlead", "admin"],
  onReady: async (main) => {
    look = await lookups();
    main.innerHTML = `<h1>Registraties</h1>${filterForm()}
      <div id="split" class="split closed"><div><table class="grid"><thead><tr><th>Tijdstip</th><th>Soort</th>
        <th>Categorie</th><th>Feitcode</th><th>Boa</th><th>Eenheid</th><th>Gebied</th><th>Status</th><th></th></tr></thead>
        <tbody id="rows"></tbody></table></div><aside id="panel" class="panel" hidden></aside></div>`;
    document.getElementById("filters").addEventListener("submit", (e) => {
      e.preventDefault();
      search().catch((err) => showProblem(err, main));
    });
    document.getElementById("rows").addEventListener("click", (e) => {
      const tr = e.target.closest("tr[data-id]");
      if (tr) open(tr.dataset.id);
    });
    await search();
    const wanted = location.hash.slice(1);
    if (wanted) await open(wanted);
  },
});
