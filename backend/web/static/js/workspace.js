// The shell of every workspace page (team lead, administrator, privacy officer): header with the pages this
// role may open, the shared login form, a Dutch refusal for other roles, and authenticated downloads.
import { ApiError, current, login, logout, resume, setLoggedOutHandler, token } from "./api.js";
import { esc } from "./format.js";

// Every workspace page, in menu order. A page lists the roles that may open it; the API enforces the same.
export const PAGES = [
  { href: "/teamleider/", label: "Vandaag", roles: ["teamlead", "admin"] },
  { href: "/teamleider/registraties", label: "Registraties", roles: ["teamlead", "admin"] },
  { href: "/teamleider/rapportage", label: "Rapportage", roles: ["teamlead", "admin"] },
  { href: "/teamleider/alarmen", label: "Alarmopvolging", roles: ["teamlead", "admin"] },
  { href: "/teamleider/gebieden", label: "Gebieden", roles: ["teamlead", "admin"] },
  { href: "/teamleider/team", label: "Team", roles: ["teamlead", "admin"] },
  { href: "/teamleider/rooster", label: "Rooster", roles: ["teamlead", "admin"] },
  { href: "/beheer/", label: "Beheer", roles: ["admin"] },
  { href: "/privacy/", label: "Privacy", roles: ["privacy_officer", "admin"] },
  { href: "/meldkamer/", label: "Meldkamer", roles: ["operator", "teamlead", "admin"] },
];

const ROLE = {
  boa: "boa", operator: "meldkamer-operator", teamlead: "teamleider", admin: "beheerder",
  privacy_officer: "privacy officer", service: "koppeling",
};

function loginForm(title) {
  return `<section class="ws-login"><form id="ws-login-form" class="ws-login-box">
    <h1>Schakel <span>${esc(title)}</span></h1>
    <label>Gebruikersnaam <input name="username" autocomplete="username" required autofocus></label>
    <label>Wachtwoord <input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit">Inloggen</button>
    <p id="ws-login-error" class="error" role="alert"></p></form></section>`;
}

function header(session, here) {
  const links = PAGES.filter((p) => p.roles.includes(session.role))
    .map((p) => `<a href="${p.href}"${p.href === here ? ' aria-current="page"' : ""}>${esc(p.label)}</a>`)
    .join("");
  return `<header class="ws-top"><strong>Schakel</strong><nav class="ws-nav">${links}</nav>
    <span class="ws-spacer"></span>
    <span class="ws-who">${esc(session.display_name)} · ${esc(ROLE[session.role] || session.role)}</span>
    <button id="ws-logout" class="small">Uitloggen</button></header>`;
}

// Mount a page: `roles` may open it; `onReady(main, session)` fills <main id="ws-main"> once signed in.
export function startWorkspace({ title, here, roles, onReady }) {
  const root = document.getElementById("ws-root");
  const show = async () => {
    const session = current();
    if (!session) { showLogin(); return; }
    if (!roles.includes(session.role)) { showRefusal(session); return; }
    root.innerHTML = header(session, here) + `<main id="ws-main" class="ws-main"></main>`;
    document.getElementById("ws-logout").addEventListener("click", () => logout());
    document.title = `Schakel — ${title}`;
    try {
      await onReady(document.getElementById("ws-main"), session);
    } catch (err) {
      showProblem(err);
    }
  };
  const showLogin = (message = "") => {
    root.innerHTML = loginForm(title);
    const error = document.getElementById("ws-login-error");
    error.textContent = message;
    document.getElementById("ws-login-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = new FormData(e.target);
      error.textContent = "";
      try {
        await login(f.get("username"), f.get("password"));
        await show();
      } catch (err) {
        error.textContent = err.status === 401 ? "Onbekende gebruikersnaam of verkeerd wachtwoord."
          : err.status === 429 ? "Te veel pogingen. Probeer het over een paar minuten opnieuw."
          : `Inloggen mislukt: ${err.message}`;
      }
    });
  };
  const showRefusal = (session) => {
    const allowed = PAGES.filter((p) => p.roles.includes(session.role));
    root.innerHTML = `<section class="ws-login"><div class="ws-login-box" role="alert" id="ws-refused">
      <h1>Geen toegang</h1>
      <p>U bent ingelogd als ${esc(session.display_name)} (${esc(ROLE[session.role] || session.role)}).
      Deze pagina (${esc(title)}) is niet voor deze rol.</p>
      ${allowed.length ? `<p>U kunt wel naar: ${allowed.map((p) => `<a href="${p.href}">${esc(p.label)}</a>`)
        .join(", ")}.</p>` : ""}
      <button id="ws-logout" class="small">Uitloggen en met een ander account inloggen</button></div></section>`;
    document.getElementById("ws-logout").addEventListener("click", () => logout());
  };
  setLoggedOutHandler(() => showLogin());
  resume();
  show();
}

// Show an error the page could not handle, in Dutch, with the field the server named.
export function showProblem(err, where = document.getElementById("ws-main")) {
  if (!where) return;
  const box = document.createElement("p");
  box.className = "error ws-problem";
  box.setAttribute("role", "alert");
  box.textContent = problemText(err);
  where.prepend(box);
}

export function problemText(err) {
  if (err instanceof ApiError) {
    if (err.status === 403) return "Geen toegang: dit account mag dit niet.";
    return err.field ? `${err.message} (veld: ${err.field})` : err.message;
  }
  return `Er ging iets mis: ${err?.message || err}`;
}

// Download a file the API makes (CSV, PDF): a plain link cannot carry the bearer token.
export async function download(path, filename) {
  const r = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    throw new ApiError(r.status, body);
  }
  const blob = await r.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
