"""Report queries in PostgreSQL: counts for the monthly overview and the figures of the area report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
from shapely.geometry import shape

from backend.db.pool import Conn
from backend.geofencing.logic import PreparedBeats, containing_beats_many
from backend.geofencing.repository import list_beats
from backend.registrations.repository import Registration
from backend.reports import area
from shared.protocol import TaskState
from shared.tasks import TASK_STATE_LABELS


class OverviewRow(msgspec.Struct, frozen=True, kw_only=True):
    beat_id: int | None
    beat_name: str
    category: str
    count: int


async def overview(conn: Conn, org_id: int, since: datetime, until: datetime) -> list[OverviewRow]:
    rows = await conn.fetch(
        """SELECT b.id AS beat_id, coalesce(b.name, 'buiten de gebieden') AS beat_name, r.category,
                  count(*) AS count
           FROM registrations r
           LEFT JOIN LATERAL unnest(CASE WHEN r.beat_ids = '{}' THEN ARRAY[NULL::int] ELSE r.beat_ids END)
                AS rb(id) ON true
           LEFT JOIN beats b ON b.id = rb.id
           WHERE r.org_id = $1 AND r.state = 'active' AND r.occurred_at >= $2 AND r.occurred_at < $3
           GROUP BY b.id, b.name, r.category ORDER BY beat_name, r.category""",
        org_id,
        since,
        until,
    )
    return [OverviewRow(**dict(r)) for r in rows]


# --- rapportage per gebied (backend/reports/area.py holds the definitions and the arithmetic) --------------

_OUTCOME_SQL = """CASE WHEN r.kind = 'fine' THEN
                      CASE r.derived->'entry'->>'track' WHEN 'bestuurlijke_boete' THEN 'bsb'
                                                        WHEN 'mulder' THEN 'mulder' ELSE 'pv' END
                  WHEN r.kind = 'waarneming' AND r.feitcode IS NOT NULL THEN 'waarschuwing' END"""
_ON_SCENE = r"^[^:]+: " + TASK_STATE_LABELS[TaskState.ON_SCENE] + "( — |$)"  # the timeline line of a task


STREET_SAMPLES = """
    SELECT p.at, p.lon, p.lat,
           least(coalesce(extract(epoch FROM lead(p.at) OVER (PARTITION BY s.id ORDER BY p.at) - p.at), 0),
                 $4) * greatest(cardinality(s.account_ids), 1) AS weight
    FROM shifts s JOIN units u ON u.id = s.unit_id AND u.org_id = $1
    JOIN positions p ON p.unit_id = s.unit_id AND p.at >= s.started_at
                    AND p.at < coalesce(s.ended_at, 'infinity') AND p.at >= $2 AND p.at < $3"""
"""Each position of a unit on shift, weighted with the boa-seconds it stands for (area.beat_seconds)."""


async def area_report(conn: Conn, org_id: int, month: str, now: datetime) -> area.AreaReport:
    """Every figure of `month` per beat and in total, and the trend over the twelve months ending with it."""
    since, until = area.month_range(month, now)
    months = area.trend_months(month)
    trend_since = area.month_start(months[0]).astimezone(UTC)
    beat_rows = await list_beats(conn, [org_id])
    prepared = PreparedBeats((b.id, shape(b.geometry)) for b in beat_rows)
    counts: dict[tuple[str, int | None], area.Counts] = defaultdict(area.Counts)

    def at(month_: str, beat: int | None) -> area.Counts:
        return counts[(month_, beat)]

    # registrations: a registration on the border of two beats counts in both, once in the total
    for r in await conn.fetch(
        f"""WITH r AS (
                SELECT to_char(r.occurred_at AT TIME ZONE $4, 'YYYY-MM') AS month, r.id, r.beat_ids, r.kind,
                       {_OUTCOME_SQL} AS outcome,
                       coalesce(r.derived->'entry'->>'category', r.category) AS grp
                FROM registrations r
                WHERE r.org_id = $1 AND r.state = 'active' AND r.occurred_at >= $2 AND r.occurred_at < $3
                  AND (r.kind IN ('fine', 'aggression') OR r.feitcode IS NOT NULL))
            SELECT r.month, rb.id AS beat_id, GROUPING(rb.id) = 1 AS total, r.kind, r.outcome, r.grp,
                   count(DISTINCT r.id) AS n
            FROM r LEFT JOIN LATERAL
                 unnest(CASE WHEN r.beat_ids = '{{}}' THEN ARRAY[NULL::int] ELSE r.beat_ids END)
                 AS rb(id) ON true
            GROUP BY GROUPING SETS ((r.month, rb.id, r.kind, r.outcome, r.grp),
                                    (r.month, r.kind, r.outcome, r.grp))""",
        org_id,
        trend_since,
        until,
        area.TIMEZONE,
    ):
        c = at(r["month"], None if r["total"] else r["beat_id"] or 0)
        if r["kind"] == "aggression":
            c.aggression += r["n"]
        else:
            group = c.enforcement.setdefault(r["grp"], {})
            group[r["outcome"]] = group.get(r["outcome"], 0) + r["n"]

    for r in await conn.fetch(
        """SELECT i.month, i.beat_id, GROUPING(i.beat_id) = 1 AS total, i.category, count(*) AS n
           FROM (SELECT to_char(created_at AT TIME ZONE $4, 'YYYY-MM') AS month, beat_id, category
                 FROM incidents WHERE org_id = $1 AND created_at >= $2 AND created_at < $3
                   AND exercise = '') i
           GROUP BY GROUPING SETS ((i.month, i.beat_id, i.category), (i.month, i.category))""",
        org_id,
        trend_since,
        until,
        area.TIMEZONE,
    ):
        c = at(r["month"], None if r["total"] else r["beat_id"] or 0)
        c.meldingen[r["category"]] = c.meldingen.get(r["category"], 0) + r["n"]

    for r in await conn.fetch(
        """SELECT to_char(i.created_at AT TIME ZONE $4, 'YYYY-MM') AS month, i.beat_id, i.priority,
                  extract(epoch FROM min(e.at) - i.created_at)::float8 AS seconds
           FROM incidents i
           JOIN incident_events e ON e.incident_id = i.id AND e.kind = 'task_state' AND e.text ~ $5
           WHERE i.org_id = $1 AND i.created_at >= $2 AND i.created_at < $3 AND i.exercise = ''
           GROUP BY i.id""",
        org_id,
        trend_since,
        until,
        area.TIMEZONE,
        _ON_SCENE,
    ):
        for beat in (None, r["beat_id"] or 0):
            at(r["month"], beat).response.setdefault(r["priority"], []).append(max(r["seconds"], 0.0))

    for r in await conn.fetch(
        """SELECT i.month, i.beat_id, GROUPING(i.beat_id) = 1 AS total, count(*) AS n,
                  count(*) FILTER (WHERE coalesce(i.closed_at, now()) > i.deadline) AS breached
           FROM (SELECT to_char(created_at AT TIME ZONE $4, 'YYYY-MM') AS month, beat_id, deadline, closed_at
                 FROM incidents WHERE org_id = $1 AND created_at >= $2 AND created_at < $3
                   AND deadline IS NOT NULL) i
           GROUP BY GROUPING SETS ((i.month, i.beat_id), (i.month))""",
        org_id,
        trend_since,
        until,
        area.TIMEZONE,
    ):
        c = at(r["month"], None if r["total"] else r["beat_id"] or 0)
        c.sla_total += r["n"]
        c.sla_breached += r["breached"]

    assists = await conn.fetch(
        """SELECT a.at, (a.payload->>'lon')::float8 AS lon, (a.payload->>'lat')::float8 AS lat FROM alerts a
           WHERE a.org_id = $1 AND a.kind = 'assistance' AND a.at >= $2 AND a.at < $3""",
        org_id,
        trend_since,
        until,
    )
    located = [a for a in assists if a["lon"] is not None and a["lat"] is not None]
    inside = containing_beats_many([a["lon"] for a in located], [a["lat"] for a in located], prepared)
    for a, beats_in in zip(located, inside, strict=True):
        at(area.month_of(a["at"]), None).police_assists += 1
        for beat in beats_in or {0}:
            at(area.month_of(a["at"]), beat).police_assists += 1
    for a in assists:
        if a["lon"] is None or a["lat"] is None:  # no fix: counted in the total and outside the beats
            at(area.month_of(a["at"]), None).police_assists += 1
            at(area.month_of(a["at"]), 0).police_assists += 1

    for r in await conn.fetch(
        f"""SELECT to_char(at AT TIME ZONE $5, 'YYYY-MM') AS month, sum(weight)::float8 AS seconds
            FROM ({STREET_SAMPLES}) w GROUP BY 1""",
        org_id,
        trend_since,
        until,
        area.STREET_GAP_S,
        area.TIMEZONE,
    ):
        at(r["month"], None).street_s = r["seconds"] or 0.0
    samples = await conn.fetch(
        f"SELECT lon, lat, weight::float8 FROM ({STREET_SAMPLES}) w WHERE weight > 0",
        org_id,
        since,  # cut at the same month end as the query above, so the beats add up to its total
        until,
        area.STREET_GAP_S,
    )
    inside = containing_beats_many([s["lon"] for s in samples], [s["lat"] for s in samples], prepared)
    for beat, seconds in area.beat_seconds([s["weight"] for s in samples], inside).items():
        at(month, beat).street_s = seconds

    names = {b.id: (b.code, b.name) for b in beat_rows}
    names[0] = ("", area.OUTSIDE)
    org_name = await conn.fetchval("SELECT name FROM organisations WHERE id = $1", org_id)
    beats = [
        area.figures(beat_id, *names[beat_id], counts.get((month, beat_id), area.Counts()))
        for beat_id in [b.id for b in beat_rows] + [0]
    ]
    beats = [b for b in beats if b.beat_id != 0 or area.has_data(b)]
    total = area.figures(None, "", "Totaal", counts.get((month, None), area.Counts()))
    trend = [
        area.trend_point(m, area.figures(None, "", "", counts.get((m, None), area.Counts()))) for m in months
    ]
    return area.AreaReport(
        month=month,
        org_name=org_name or "",
        generated_at=now,
        empty=not area.has_data(total),
        beats=beats,
        total=total,
        trend=trend,
    )


class ExportNames(msgspec.Struct, frozen=True, kw_only=True):
    """What the registrations and GIR CSVs write instead of ids: names, call signs, the geocoded address."""

    org_name: str
    accounts: dict[int, str]  # display names
    units: dict[int, str]  # call signs
    beats: dict[int, str]
    addresses: dict[str, tuple[str | None, str | None, str | None]]  # registration id: (text, BAG id, buurt)
    kenmerken: dict[str, str]


async def export_names(conn: Conn, org_id: int, registrations: Sequence[Registration]) -> ExportNames:
    """The names behind the ids of these registrations (of one gemeente), in a few queries for any number."""
    account_ids = sorted({a for r in registrations for a in (r.author_id, *r.boa_ids)})
    unit_ids = sorted({r.unit_id for r in registrations if r.unit_id is not None})
    beat_ids = sorted({b for r in registrations for b in r.beat_ids})
    ids = [r.id for r in registrations]
    org_name = await conn.fetchval("SELECT name FROM organisations WHERE id = $1", org_id)
    accounts = await conn.fetch("SELECT id, display_name FROM accounts WHERE id = ANY($1)", account_ids)
    units = await conn.fetch("SELECT id, call_sign FROM units WHERE id = ANY($1)", unit_ids)
    beats = await conn.fetch("SELECT id, name FROM beats WHERE id = ANY($1)", beat_ids)
    addresses = await conn.fetch(
        """SELECT r.id, r.address_text, r.bag_id, r.buurtcode, k.kenmerk FROM registrations r
           LEFT JOIN registration_kenmerken k ON k.registration_id = r.id WHERE r.id = ANY($1)""",
        ids,
    )
    return ExportNames(
        org_name=org_name or "",
        accounts={r["id"]: r["display_name"] for r in accounts},
        units={r["id"]: r["call_sign"] for r in units},
        beats={r["id"]: r["name"] for r in beats},
        addresses={str(r["id"]): (r["address_text"], r["bag_id"], r["buurtcode"]) for r in addresses},
        kenmerken={str(r["id"]): r["kenmerk"] for r in addresses if r["kenmerk"]},
    )
