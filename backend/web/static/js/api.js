// HTTP calls with the access token; refreshes it before it runs out. Errors carry the server's field.
const KEY = "schakel.session";
let session = JSON.parse(sessionStorage.getItem(KEY) || "null");
let refreshTimer = null;
export let onLoggedOut = () => {};
export function setLoggedOutHandler(fn) { onLoggedOut = fn; }

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status;
    this.field = body?.field || null;
  }
}

export function current() { return session; }
export function token() { return session?.access_token; }

function keep(s) {
  session = s;
  sessionStorage.setItem(KEY, JSON.stringify(s));
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, Math.max(10, s.expires_in * 0.75) * 1000);
}

export async function login(username, password) {
  const r = await fetch("/api/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }),
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, body);
  keep(body);
  return body;
}

// One refresh at a time: the server ends the whole session when a rotated refresh token comes back, so
// calls that meet a 401 together must share one refresh, not each send the same token.
let refreshing = null;
export function refresh() {
  if (!refreshing) refreshing = refreshOnce().finally(() => { refreshing = null; });
  return refreshing;
}

async function refreshOnce() {
  if (!session) return false;
  try {
    const r = await fetch("/api/auth/refresh", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: session.refresh_token }),
    });
    if (r.status === 401) { logout(); return false; }
    if (!r.ok) throw new Error(`refresh ${r.status}`);
    keep(await r.json());
    return true;
  } catch (e) {  // network down: try again soon, keep the session
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 5000);
    return false;
  }
}

export function resume() { if (session) keep(session); return session; }

export function logout() {
  if (session) {
    fetch("/api/auth/logout", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: session.refresh_token }) }).catch(() => {});
  }
  session = null;
  sessionStorage.removeItem(KEY);
  clearTimeout(refreshTimer);
  onLoggedOut();
}

export async function api(method, path, body) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = await fetch(path, {
      method, headers: { "Content-Type": "application/json", Authorization: `Bearer ${token()}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await r.json().catch(() => null);
    if (r.status === 401 && attempt === 0 && await refresh()) continue;
    if (!r.ok) throw new ApiError(r.status, data);
    return data;
  }
}
