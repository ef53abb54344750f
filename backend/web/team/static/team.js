// Team: the gemeente's boa's (domains, qualifications, contract hours, experienced, phone, portofoon) and its
// units' phone and portofoon, edited in place, one row at a time.
import { api } from "/web/static/js/api.js";
import { esc } from "/web/static/js/format.js";
import { DOMAIN, badge } from "/web/static/js/teamlead.js";
import { problemText, startWorkspace } from "/web/static/js/workspace.js";

const QUALIFICATION = {
  geweldsmiddelen: "Geweldsmiddelen", handboeien: "Handboeien", wapenstok: "Wapenstok", pepperspray: "Pepperspray",
  anpr: "ANPR", bhv: "BHV", ehbo: "EHBO", bodycam: "Bodycam", rijbewijs_b: "Rijbewijs B",
};

let team = null;

function memberRow(m) {
  const known = team.known_qualifications;
  const extra = m.qualifications.filter((q) => !known.includes(q));
  return `<tr data-id="${m.id}"${m.active ? "" : ' class="muted"'}>
    <td><strong>${esc(m.display_name)}</strong><div class="count-line">${esc(m.username)}${m.active ? "" : " · inactief"}</div></td>
    <td><div class="checks">${[1, 2, 3, 4, 5, 6].map((d) => `<label><input type="checkbox" name="domain" value="${d}"${
      m.domains.includes(d) ? " checked" : ""}>${DOMAIN[d]}</label>`).join("")}</div></td>
    <td><div class="checks">${known.map((q) => `<label><input type="checkbox" name="qualification" value="${esc(q)}"${
      m.qualifications.includes(q) ? " checked" : ""}>${esc(QUALIFICATION[q] || q)}</label>`).join("")}</div>
      <input name="extra" value="${esc(extra.join(", "))}" placeholder="overig, komma's ertussen" aria-label="Overige kwalificaties"></td>
    <td><input name="contract_hours" class="num" type="number" min="0" max="60" step="0.5" value="${m.contract_hours ?? ""}"
      aria-label="Contracturen"></td>
    <td><input name="experienced" type="checkbox"${m.experienced ? " checked" : ""} aria-label="Ervaren"></td>
    <td><input name="phone" class="phone" value="${esc(m.phone || "")}" placeholder="06-12345678" aria-label="Telefoon"></td>
    <td><input name="portofoon" class="phone" value="${esc(m.portofoon || "")}" aria-label="Portofoon"></td>
    <td><button class="small save-member">Opslaan</button><div class="row-msg" role="status"></div></td></tr>`;
}

function unitRow(u) {
  return `<tr data-id="${u.id}"><td><strong>${esc(u.call_sign)}</strong></td><td>${esc(u.kind === "duo" ? "duo" : "solo")}</td>
    <td><input name="phone" class="phone" value="${esc(u.phone || "")}" placeholder="020-5551234" aria-label="Telefoon"></td>
    <td><input name="portofoon" size="32" value="${esc(u.portofoon || "")}" maxlength="40" aria-label="Portofoon"></td>
    <td><button class="small save-unit">Opslaan</button><div class="row-msg" role="status"></div></td></tr>`;
}

function render(main) {
  const active = team.members.filter((m) => m.active);
  const hours = active.reduce((s, m) => s + (m.contract_hours || 0), 0);
  main.innerHTML = `<h1>Team</h1>
    <div class="cards"><div class="card"><div class="figure">${active.length}</div>actieve boa's</div>
      <div class="card"><div class="figure">${hours.toLocaleString("nl-NL")}</div>contracturen per week</div>
      <div class="card"><div class="figure">${active.filter((m) => m.experienced).length}</div>ervaren boa's</div>
      <div class="card"><div class="figure">${active.filter((m) => m.qualifications.includes("geweldsmiddelen")).length}</div>
        bevoegd voor geweldsmiddelen</div></div>
    <h2>Boa's</h2>
    <table class="grid" id="members"><thead><tr><th>Naam</th><th>Domeinen</th><th>Kwalificaties</th>
      <th>Uren/week</th><th>Ervaren</th><th>Telefoon</th><th>Portofoon</th><th></th></tr></thead>
      <tbody>${team.members.length ? team.members.map(memberRow).join("")
        : `<tr><td colspan="8" class="empty">Nog geen boa's in deze gemeente.</td></tr>`}</tbody></table>
    <h2>Eenheden</h2>
    <table class="grid" id="units"><thead><tr><th>Eenheid</th><th>Soort</th><th>Telefoon</th><th>Portofoon / gespreksgroep</th>
      <th></th></tr></thead><tbody>${team.units.length ? team.units.map(unitRow).join("")
        : `<tr><td colspan="5" class="empty">Geen eenheden.</td></tr>`}</tbody></table>`;
}

async function save(button, path, body, replace) {
  const tr = button.closest("tr");
  const msg = tr.querySelector(".row-msg");
  msg.className = "row-msg";
  msg.textContent = "Opslaan…";
  tr.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  try {
    const saved = await api("PATCH", path, body);
    replace(saved);
    msg.className = "row-msg ok";
    msg.textContent = "Opgeslagen.";
  } catch (err) {
    msg.className = "row-msg error";
    msg.textContent = problemText(err);
    const input = err.field && tr.querySelector(`[name="${err.field === "domains" ? "domain" : err.field === "qualifications" ? "extra" : err.field}"]`);
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }
}

startWorkspace({
  title: "Team",
  here: "/teamleider/team",
  roles: ["teamlead", "admin"],
  onReady: async (main) => {
    team = await api("GET", "/api/team");
    render(main);
    main.addEventListener("click", (e) => {
      const tr = e.target.closest("tr[data-id]");
      if (!tr) return;
      const id = Number(tr.dataset.id);
      const field = (name) => tr.querySelector(`[name="${name}"]`);
      if (e.target.matches(".save-member")) {
        const hours = field("contract_hours").value.trim();
        const body = {
          domains: [...tr.querySelectorAll('[name="domain"]:checked')].map((c) => Number(c.value)),
          qualifications: [...tr.querySelectorAll('[name="qualification"]:checked')].map((c) => c.value)
            .concat(field("extra").value.split(",").map((s) => s.trim()).filter(Boolean)),
          contract_hours: hours === "" ? null : Number(hours.replace(",", ".")),
          experienced: field("experienced").checked,
          phone: field("phone").value,
          portofoon: field("portofoon").value,
        };
        save(e.target, `/api/team/members/${id}`, body, (saved) => {
          team.members = team.members.map((m) => (m.id === id ? saved : m));
        });
      } else if (e.target.matches(".save-unit")) {
        save(e.target, `/api/team/units/${id}`, { phone: field("phone").value, portofoon: field("portofoon").value },
          (saved) => { team.units = team.units.map((u) => (u.id === id ? saved : u)); });
      }
    });
  },
});
