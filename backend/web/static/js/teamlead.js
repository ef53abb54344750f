// What the team lead's pages share: Dutch labels, dates, the lookups (beats, units, boa's) and a beat map.
import { ApiError, api, refresh, token } from "./api.js";
import { ALERT, esc } from "./format.js";

export const KIND = { waarneming: "Waarneming", fine: "Boete", aggression: "Agressie-incident" };
export const STATE = { active: "actief", voided: "vervallen", archived: "gearchiveerd" };
export const ALARM = {
  ...ALERT, man_down: "Man-down", checkin_missed: "Check-in gemist", colleague_alarm: "Collega-alarm",
};
export const DOMAIN = ["", "I", "II", "III", "IV", "V", "VI"];
export const REPORT = { geen: "geen", melding: "melding", aangifte: "aangifte" };

const DATE_TIME = { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" };
export function dateTime(iso) {
  return iso ? new Date(iso).toLocaleString("nl-NL", DATE_TIME) : "—";
}
export function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString("nl-NL", { hour: "2-digit", minute: "2-digit" }) : "—";
}
export function longDate(d = new Date()) {
  return d.toLocaleDateString("nl-NL", { weekday: "long", day: "numeric", month: "long", year: "numeric" });
}
// "2026-12-01" in local time, for <input type=date>
export function isoDay(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

// Everything a page needs to name ids: beats (retired ones too), units, the gemeente's boa's.
export async function lookups() {
  const [beats, units, team] = await Promise.all([
    api("GET", "/api/beats?retired=true"), api("GET", "/api/units"), api("GET", "/api/team"),
  ]);
  return {
    beats: beats.features,
    beat: new Map(beats.features.map((f) => [f.id, f.properties])),
    units, unit: new Map(units.map((u) => [u.id, u])),
    members: team.members, member: new Map(team.members.map((m) => [m.id, m])),
    team,
  };
}

export function beatNames(ids, look) {
  return (ids || []).map((id) => look.beat.get(id)?.name || `#${id}`).join(", ") || "—";
}

// A Leaflet map with the background tiles the console uses (and a note when they cannot load).
export async function baseMap(element, options = {}) {
  const config = await fetch("/meldkamer/config.json").then((r) => r.json()).catch(() => null);
  const map = L.map(element, { zoomSnap: 0.25, ...options }).setView([52.373, 4.893], 13);
  if (config?.tile_url) {
    const tiles = L.tileLayer(config.tile_url, { maxZoom: 19, attribution: config.tile_attribution });
    let failed = false;
    tiles.on("tileerror", () => {
      if (failed) return;
      failed = true;
      const note = element.querySelector(".map-note");
      if (note) note.hidden = false;
    });
    tiles.addTo(map);
  }
  const note = document.createElement("div");
  note.className = "map-note";
  note.hidden = true;
  note.textContent = "Achtergrondkaart niet bereikbaar — de gebieden zelf staan er wel.";
  element.append(note);
  new ResizeObserver(() => map.invalidateSize({ pan: false })).observe(element);
  return map;
}

export function badge(text, kind = "") {
  return `<span class="badge ${kind}">${esc(text)}</span>`;
}

// Why the team lead reads personal data: kept in the audit log with every read.
export const REASON = "Beoordeling door teamleider";

// A GET with the bearer token and the read's reason; the answer as JSON, or a blob (photos, receipts).
export async function read(path, { as = "json" } = {}) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = await fetch(path, { headers: { Authorization: `Bearer ${token()}`, "X-Reason": REASON } });
    if (r.status === 401 && attempt === 0 && await refresh()) continue;
    if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => null));
    return as === "blob" ? r.blob() : r.json();
  }
}
