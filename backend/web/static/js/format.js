// Dutch labels and time formatting.
export const STATUS = {
  available: "beschikbaar", en_route: "aanrijdend", on_scene: "ter plaatse", busy: "bezet",
  break: "pauze", off_duty: "buiten dienst", emergency: "noodsituatie",
};
export const TASK = {
  assigned: "opdracht verstrekt", accepted: "geaccepteerd", en_route: "aanrijdend", on_scene: "ter plaatse",
  done: "afgerond", declined: "geweigerd", cancelled: "geannuleerd",
};
export const ALERT = {
  noodknop: "NOODKNOP", assistance: "Assistentieverzoek", man_down: "Man-down (geen beweging / gevallen)",
  checkin_missed: "Check-in gemist", outside_assigned_beat: "Buiten toegewezen gebied",
  position_stale: "Positie verouderd", partners_apart: "Duo uit elkaar",
};
// most urgent first
export const ALERT_RANK = {
  noodknop: 0, man_down: 1, assistance: 2, checkin_missed: 3, partners_apart: 4, outside_assigned_beat: 5,
  position_stale: 6,
};
// a person in danger (shared/protocol.py SAFETY_ALERTS): the safety lane; everything else is routine
export const SAFETY = new Set(["noodknop", "assistance", "man_down", "checkin_missed"]);
export const ACTIVE_TASK = new Set(["assigned", "accepted", "en_route", "on_scene"]);

export function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

export function clock(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString("nl-NL", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function age(iso, now = Date.now()) {
  if (!iso) return "—";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  // words, not unit letters: "2m" read as metres next to distances
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} u ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}`;
}

export function metres(m) {
  if (m == null) return "—";
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1).replace(".", ",")} km`;
}

// a duration in words an operator reads at a glance: "40 s", "3 min", "1 u 05"
export function seconds(s) {
  if (s == null) return "—";
  const n = Math.max(0, Math.round(s));
  if (n < 120) return `${n} s`;
  if (n < 3600) return `${Math.floor(n / 60)} min`;
  return `${Math.floor(n / 3600)} u ${String(Math.floor((n % 3600) / 60)).padStart(2, "0")}`;
}
