// "Rooster nu": the planned duos of the gemeenten this meldkamer serves against the running shifts — who is late,
// whose planned partner is missing, who started. Polled (the rooster changes slowly); the tab's badge counts the
// problems so they are seen without opening the tab. It lives in the side panel's tabs: the safety lane stays.
import { api } from "/web/static/js/api.js";
import { esc } from "/web/static/js/format.js";

// a planned time reads as the rooster does: 15:00, not 15:00:00
function clock(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString("nl-NL", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Amsterdam" });
}

const POLL_MS = 30_000;
const STATE = {
  te_laat: "Te laat",
  partner_ontbreekt: "Partner ontbreekt",
  gepland: "Gepland",
  gestart: "Gestart",
};

export class RoosterNow {
  constructor({ list, count, onShowUnit }) {
    Object.assign(this, { list, count, onShowUnit });
    this.data = null;
    this.error = "";
    list.addEventListener("click", (e) => {
      const li = e.target.closest("li[data-unit]");
      if (li) onShowUnit(Number(li.dataset.unit));
    });
  }

  start() {
    this.load();
    this.timer = setInterval(() => this.load(), POLL_MS);
  }

  stop() { clearInterval(this.timer); }

  async load() {
    try {
      this.data = await api("GET", "/api/rooster/planned-now");
      this.error = "";
    } catch (e) {
      this.error = e.message || String(e);
    }
    this.render();
  }

  // the names of a duo: "A. Bakker & B. Visser"
  static crew(duo) { return duo.members.map((m) => esc(m.name)).join(" &amp; ") || "—"; }

  line(duo, manyGemeenten) {
    const when = `${clock(duo.starts_at)}–${clock(duo.ends_at)}`;
    const where = `${esc(duo.beat_name)}${manyGemeenten ? ` · ${esc(duo.gemeente)}` : ""}`;
    const unit = duo.call_sign ? `<b>${esc(duo.call_sign)}</b> ` : "";
    let what;
    if (duo.state === "te_laat") {
      what = `gepland ${clock(duo.starts_at)}, nog niet gestart <span class="late-by">(${duo.late_minutes} min)</span>`;
    } else if (duo.state === "partner_ontbreekt") {
      what = `gestart ${clock(duo.started_at)} zonder ${duo.missing.map(esc).join(" en ")}`
        + (duo.others.length ? ` — met ${duo.others.map(esc).join(", ")}` : "");
    } else if (duo.state === "gepland") {
      what = `begint ${clock(duo.starts_at)}`;
    } else {
      what = `gestart ${clock(duo.started_at)}`;
    }
    // started, but well after the planned start: say how late (the started list is otherwise all green)
    const lateStart = duo.started_at ? Math.floor((Date.parse(duo.started_at) - Date.parse(duo.starts_at)) / 60000) : 0;
    if (duo.started_at && lateStart >= (this.data?.late_after_minutes ?? 10)) what += ` <span class="late-by">(${lateStart} min na gepland)</span>`;
    const beat = duo.other_beat ? ` <span class="other-beat" title="Gepland: ${esc(duo.beat_name)}">ander gebied dan gepland</span>` : "";
    return `<li class="rooster-duo rs-${duo.state}"${duo.unit_id ? ` data-unit="${duo.unit_id}"` : ""}>
      <span class="rooster-state">${STATE[duo.state]}</span>
      <span class="grow">${unit}${RoosterNow.crew(duo)}
        <span class="rooster-what">${what}${beat}</span>
        <small>${esc(duo.shift_name)} ${when} · ${where}</small></span></li>`;
  }

  render() {
    const d = this.data;
    const problems = d ? d.duos.filter((x) => x.state === "te_laat" || x.state === "partner_ontbreekt").length : 0;
    this.count.textContent = problems ? String(problems) : "";
    this.count.classList.toggle("warn", problems > 0);
    if (!d) {
      this.list.innerHTML = `<p class="hint">${this.error ? `Rooster niet geladen: ${esc(this.error)}` : "Rooster laden…"}</p>`;
      return;
    }
    const many = new Set(d.duos.map((x) => x.org_id)).size > 1;
    const duos = d.duos.map((x) => this.line(x, many)).join("");
    const unplanned = d.unplanned.map((u) => `<li class="rooster-duo rs-ongepland" data-unit="${u.unit_id}">
      <span class="rooster-state">Niet gepland</span>
      <span class="grow"><b>${esc(u.call_sign)}</b> ${u.crew.map(esc).join(" &amp; ") || "<i>geen boa's gekoppeld</i>"}
        <span class="rooster-what">in dienst sinds ${clock(u.started_at)}, niet volgens rooster</span></span></li>`).join("");
    this.list.innerHTML = `
      <p class="hint rooster-head">Volgens het gepubliceerde rooster, nu en het komende uur · bijgewerkt ${clock(d.at)}
        · te laat na ${d.late_after_minutes} min${this.error ? ` · <span class="error">niet bijgewerkt: ${esc(this.error)}</span>` : ""}</p>
      ${d.duos.length ? `<ol class="rooster-list">${duos}</ol>` : '<p class="hint">Geen geplande duo\'s nu of het komende uur.</p>'}
      ${unplanned ? `<h4 class="rooster-sub">Niet volgens rooster in dienst</h4><ol class="rooster-list">${unplanned}</ol>` : ""}`;
  }
}
