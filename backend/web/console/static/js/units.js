// The unit list: status, time in status, current beat, assigned beat, task; sortable and filterable.
import { STATUS, TASK, age, esc } from "/web/static/js/format.js";

export class UnitList {
  constructor({ rows, filter, statusFilter, head, onSelect, beatNames, taskOf }) {
    Object.assign(this, { rows, filter, statusFilter, onSelect, beatNames, taskOf });
    this.units = new Map();
    this.sortKey = "call_sign";
    this.desc = false;
    this.dirty = true;
    for (const [value, label] of Object.entries(STATUS)) statusFilter.add(new Option(label, value));
    filter.addEventListener("input", () => this.render());
    statusFilter.addEventListener("change", () => this.render());
    head.addEventListener("click", (e) => {
      const th = e.target.closest("th[data-sort]");
      if (!th) return;
      if (this.sortKey === th.dataset.sort) this.desc = !this.desc; else { this.sortKey = th.dataset.sort; this.desc = false; }
      for (const h of head.querySelectorAll("th")) h.classList.toggle("sorted", h === th);
      th.classList.toggle("desc", this.desc);
      this.render();
    });
    head.querySelector('th[data-sort="call_sign"]').classList.add("sorted");
    rows.addEventListener("click", (e) => { const tr = e.target.closest("tr[data-id]"); if (tr) onSelect(Number(tr.dataset.id)); });
  }

  put(view) { this.units.set(view.unit_id, view); this.dirty = true; }

  replace(list) { this.units = new Map(list.map((u) => [u.unit_id, u])); this.dirty = true; }

  row(u) {
    const task = this.taskOf(u.unit_id);
    return {
      u, call_sign: u.call_sign, status: STATUS[u.status] || u.status, since: Date.parse(u.status_since),
      beat: this.names(u.beat_ids), assigned: this.names(u.assigned_beat_ids),
      task: task ? `${task.incident.category} (${TASK[task.state]})` : "",
    };
  }

  // beats of organisations this operator cannot see have no name here and are left out
  names(ids) { return ids.filter((b) => this.beatNames.has(b)).map((b) => this.beatNames.get(b)).join(", "); }

  render() {
    const text = this.filter.value.trim().toLowerCase();
    const status = this.statusFilter.value;
    let rows = [...this.units.values()].map((u) => this.row(u));
    if (status) rows = rows.filter((r) => r.u.status === status);
    if (text) rows = rows.filter((r) => `${r.call_sign} ${r.status} ${r.beat} ${r.assigned} ${r.task}`.toLowerCase().includes(text));
    const key = this.sortKey;
    // a unit in emergency is pinned to the top, whatever the sort
    const sos = (r) => (r.u.status === "emergency" ? 0 : 1);
    rows.sort((a, b) => sos(a) - sos(b) || (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0) * (this.desc ? -1 : 1));
    const now = Date.now();
    this.rows.innerHTML = rows.map((r) => `
      <tr data-id="${r.u.unit_id}" class="${r.u.stale ? "stale" : ""}${r.u.status === "emergency" ? " sos" : ""}" title="${r.u.stale ? "positie verouderd" : ""}">
        <td><b>${esc(r.call_sign)}</b>${r.u.stale ? " ⚠" : ""}</td>
        <td><span class="pill st-${r.u.status}">${esc(r.status)}</span></td>
        <td>${age(r.u.status_since, now)}</td>
        <td title="${esc(r.beat)}">${esc(r.beat) || (r.u.lon == null ? "geen positie" : "buiten gebieden")}</td>
        <td title="${esc(r.assigned)}">${esc(r.assigned)}${r.u.outside_assigned ? " ⚠" : ""}</td>
        <td title="${esc(r.task)}">${esc(r.task)}</td>
      </tr>`).join("");
    this.dirty = false;
  }
}
