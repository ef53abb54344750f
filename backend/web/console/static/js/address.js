// Address search in the melding form: suggestions as the operator types (PDOK Locatieserver through
// /api/geocoding), a chosen one looked up for its point, BAG id and buurtcode; a map click reverse-geocoded.
// When the geocoder cannot be asked the form says so inline and falls back to the buurt; it never blocks.
import { api } from "/web/static/js/api.js";
import { esc } from "/web/static/js/format.js";

const DEBOUNCE_MS = 200;

// the geocoder marks what matched with <b>…</b>; everything else is escaped
function marked(html, fallback) {
  if (!html) return esc(fallback);
  return esc(html).replace(/&lt;b&gt;/g, "<b>").replace(/&lt;\/b&gt;/g, "</b>");
}

export class AddressSearch {
  constructor({ input, list, state, onChosen }) {
    Object.assign(this, { input, list, state, onChosen });
    this.chosen = null;     // the looked-up address (weergavenaam, lon, lat, bag_id, buurtcode)
    this.results = [];
    this.active = -1;
    this.timer = null;
    this.asked = 0;         // a newer question (suggest, lookup or map click) wins over a slower older answer
    input.addEventListener("input", () => this.typed());
    input.addEventListener("keydown", (e) => this.key(e));
    input.addEventListener("blur", () => setTimeout(() => this.hide(), 150));
    list.addEventListener("mousedown", (e) => e.preventDefault());  // keep focus in the field
    list.addEventListener("click", (e) => {
      const li = e.target.closest("li[data-index]");
      if (li) this.choose(Number(li.dataset.index));
    });
  }

  // what the melding stores with the typed text: the BAG id and buurtcode only if the text is still the address
  extra() {
    if (!this.chosen || this.input.value.trim() !== this.chosen.weergavenaam) return {};
    const extra = {};
    if (this.chosen.bag_id) extra.bag_id = this.chosen.bag_id;
    if (this.chosen.buurtcode) extra.buurtcode = this.chosen.buurtcode;
    return extra;
  }

  // a new, empty form: answers still on their way are for the melding just made, not for this one
  reset() { clearTimeout(this.timer); this.asked++; this.chosen = null; this.filled = null; this.hide(); this.down(null); }

  typed() {
    clearTimeout(this.timer);
    const text = this.input.value.trim();
    if (text.length < 2) { this.hide(); return; }
    this.timer = setTimeout(() => this.suggest(text), DEBOUNCE_MS);
  }

  async suggest(text) {
    const ask = ++this.asked;
    let answer;
    try {
      answer = await api("GET", `/api/geocoding/suggest?q=${encodeURIComponent(text)}`);
    } catch (e) { answer = { available: false, message: `adres onbekend — geocoder niet bereikbaar (${e.message})`, results: [] }; }
    if (ask !== this.asked) return;
    this.down(answer.available ? null : answer.message);
    this.results = answer.results || [];
    this.active = -1;
    this.render(answer.available && !this.results.length ? "Geen adres gevonden — typ verder, noem de buurt of klik op de kaart." : "");
  }

  render(empty) {
    this.list.innerHTML = this.results.length
      ? this.results.map((r, i) => `<li role="option" data-index="${i}" id="address-option-${i}"
          aria-selected="${i === this.active}" class="${i === this.active ? "active" : ""}">${marked(r.highlight, r.weergavenaam)}</li>`).join("")
      : (empty ? `<li class="empty" aria-disabled="true">${esc(empty)}</li>` : "");
    const open = Boolean(this.list.innerHTML);
    this.list.hidden = !open;
    this.input.setAttribute("aria-expanded", String(open));
    if (this.active >= 0) this.input.setAttribute("aria-activedescendant", `address-option-${this.active}`);
    else this.input.removeAttribute("aria-activedescendant");
  }

  hide() { this.list.hidden = true; this.input.setAttribute("aria-expanded", "false"); }

  key(e) {
    if (this.list.hidden || !this.results.length) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = this.results.length;
      this.active = (this.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      this.render("");
    } else if (e.key === "Enter" && this.active >= 0) {
      e.preventDefault();
      this.choose(this.active);
    } else if (e.key === "Escape") { this.hide(); }
  }

  async choose(index) {
    const pick = this.results[index];
    if (!pick) return;
    this.hide();
    this.input.value = pick.weergavenaam;
    const ask = ++this.asked;
    let answer;
    try { answer = await api("GET", `/api/geocoding/lookup?id=${encodeURIComponent(pick.id)}`); }
    catch (e) { answer = { available: false, message: `adres onbekend — geocoder niet bereikbaar (${e.message})` }; }
    if (ask !== this.asked) return;
    this.down(answer.available ? null : answer.message);
    if (answer.address) {
      this.chosen = answer.address;
      this.input.value = answer.address.weergavenaam;
      this.onChosen(answer.address);
    }
  }

  // a map click: the nearest address fills the field (unless the operator typed something of their own)
  async reverse(lon, lat) {
    clearTimeout(this.timer);  // the click is the newer question: a suggestion not yet asked for is not asked
    const ask = ++this.asked;
    let answer;
    try { answer = await api("GET", `/api/geocoding/reverse?lon=${lon}&lat=${lat}`); }
    catch (e) { answer = { available: false, message: `adres onbekend — geocoder niet bereikbaar (${e.message})`, buurt: null }; }
    const buurt = answer.buurt ? answer.buurt.name : null;
    if (ask !== this.asked) return { address: answer.address || null, buurt };  // asked anew meanwhile: leave the form
    // what is in the field now (typed while the answer was on its way counts too)
    const typedOwn = this.input.value.trim() && (!this.filled || this.input.value !== this.filled);
    if (!answer.available) {
      this.down(`${answer.message}${buurt ? ` — de melding krijgt de buurt ${buurt}` : ""}`);
      this.chosen = null;
      if (!typedOwn && buurt) { this.input.value = buurt; this.filled = buurt; }
      return { address: null, buurt };
    }
    this.down(null);
    this.chosen = answer.address;
    if (answer.address && !typedOwn) { this.input.value = answer.address.weergavenaam; this.filled = this.input.value; }
    return { address: answer.address, buurt };
  }

  // the inline "geocoder niet bereikbaar" line (null: the geocoder answers)
  down(message) {
    this.state.hidden = !message;
    this.state.textContent = message || "";
  }
}
