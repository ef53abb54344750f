// The login form every page shares: signs in, refuses roles the page is not for, shows Dutch errors.
import { login, logout } from "./api.js";

export function bindLogin({ form, error, roles, denied, onLoggedIn }) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    error.textContent = "";
    try {
      const s = await login(f.get("username"), f.get("password"));
      if (!roles.includes(s.role)) {
        error.textContent = denied;
        logout();
        return;
      }
      await onLoggedIn();
    } catch (err) {
      error.textContent = err.status === 401 ? "Onbekende gebruikersnaam of verkeerd wachtwoord."
        : `Inloggen mislukt: ${err.message}`;
    }
  });
}
