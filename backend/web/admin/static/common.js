// What Beheer and Privacy share: Dutch error texts for what the API refuses, dates, small DOM helpers.
import { ApiError } from "/web/static/js/api.js";
import { problemText } from "/web/static/js/workspace.js";
import { esc } from "/web/static/js/format.js";

const FIELD = {
  username: "gebruikersnaam", password: "wachtwoord", new_password: "wachtwoord", display_name: "naam",
  name: "naam", code: "code", kind: "soort", role: "rol", active: "actief", org_id: "organisatie",
  gemeente_id: "gemeente", meldkamer_id: "meldkamer", unit_id: "eenheid", device_id: "apparaat",
  archive_after: "archiveren na", delete_after: "verwijderen na", listed_for: "zichtbaar in lijsten",
  regime: "regime", birth_date: "geboortedatum", reason: "reden", since: "vanaf", until: "tot en met",
  now: "peildatum", run: "bewaarronde",
};

// The server's own Dutch sentences (password policy) are passed on; the rest is said here, per field.
export function dutch(err) {
  if (!(err instanceof ApiError)) return problemText(err);
  const field = FIELD[err.field] || err.field;
  if (err.status === 403) return "Geen toegang: dit account mag dit niet.";
  if (err.status === 404) return `Niet gevonden, of niet van uw organisatie${field ? ` (${field})` : ""}.`;
  if (err.status === 409) {
    if (err.field === "username") return "Deze gebruikersnaam is al in gebruik.";
    if (err.field === "code") return "Deze code is al in gebruik door een andere organisatie.";
    if (err.field === "role" || err.field === "active")
      return "U kunt uw eigen rol niet wijzigen en uzelf niet deactiveren.";
    if (err.field === "device_id") return "Dit apparaat is ingetrokken; registreer een nieuw apparaat.";
    if (err.field === "run") return "Er loopt al een bewaarronde; probeer het over een minuut opnieuw.";
    return `Dat kan nu niet${field ? ` (${field})` : ""}.`;
  }
  if (err.status === 400 || err.status === 422) {
    if (/^(het|dit) wachtwoord/.test(err.message)) return `Wachtwoord geweigerd: ${err.message}.`;
    if (["archive_after", "delete_after", "listed_for"].includes(err.field))
      return `Geen geldige termijn bij "${field}" (bijvoorbeeld 5 jaar, 18 maanden, 30 dagen).`;
    return field ? `Controleer het veld "${field}".` : "Controleer de invoer.";
  }
  if (err.status === 429) return "Te veel pogingen; probeer het over een paar minuten opnieuw.";
  return `Dat lukte niet (${err.status}).`;
}

export function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("nl-NL", { day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit" });
}

// PostgreSQL intervals ("5 years", "1 year 6 mons") in Dutch, and Dutch input back to what it reads.
const UNITS = [["years?", "jaar"], ["mons?", "maanden"], ["days?", "dagen"], ["weeks?", "weken"]];
export function period(text) {
  if (text == null) return "geen grens";
  let out = text;
  for (const [en, nl] of UNITS) out = out.replace(new RegExp(`\\b${en}\\b`, "g"), nl);
  return out.replace(/\b1 maanden\b/, "1 maand").replace(/\b1 dagen\b/, "1 dag").replace(/\b1 weken\b/, "1 week");
}
export function toInterval(text) {
  return text.trim().toLowerCase()
    .replace(/\bjaren\b|\bjaar\b/g, "years").replace(/\bmaanden\b|\bmaand\b/g, "months")
    .replace(/\bweken\b|\bweek\b/g, "weeks").replace(/\bdagen\b|\bdag\b/g, "days");
}

export function tabs(main, names, render) {
  const bar = document.createElement("div");
  bar.className = "tabs";
  bar.setAttribute("role", "tablist");
  const body = document.createElement("section");
  main.append(bar, body);
  const open = async (key) => {
    for (const b of bar.children) b.setAttribute("aria-selected", String(b.dataset.tab === key));
    body.innerHTML = "";
    history.replaceState(null, "", `#${key}`);
    try { await render(key, body); } catch (err) { showError(body, err); }
  };
  for (const [key, label] of names) {
    const b = document.createElement("button");
    b.dataset.tab = key;
    b.setAttribute("role", "tab");
    b.textContent = label;
    b.addEventListener("click", () => open(key));
    bar.append(b);
  }
  const wanted = location.hash.slice(1);
  open(names.some(([k]) => k === wanted) ? wanted : names[0][0]);
  return open;
}

export function showError(where, err) {
  const p = document.createElement("p");
  p.className = "error ws-problem";
  p.setAttribute("role", "alert");
  p.textContent = dutch(err);
  where.prepend(p);
}

// Run a form's action; its .error line says what went wrong, in Dutch.
export function onSubmit(form, action) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const line = form.querySelector(".error");
    if (line) line.textContent = "";
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      await action(new FormData(form));
    } catch (err) {
      if (line) line.textContent = dutch(err); else showError(form, err);
    } finally {
      if (button) button.disabled = false;
    }
  });
}

export function options(items, selected) {
  return items.map(([value, label]) =>
    `<option value="${esc(value)}"${String(value) === String(selected) ? " selected" : ""}>${esc(label)}</option>`)
    .join("");
}
