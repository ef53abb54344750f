"""A console that connects after a police area alert came in finds it in its snapshot while it is in force,
with its shape and the units it reached, and only for the organisations that see it; an expired one is not
in it. A real server, real websockets, a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from shared.protocol import Snapshot
from tests.integration.harness import bearer, login, make_settings, running, socket_to
from tests.integration.test_cluster_police import RING, world_with_bridge


async def test_the_snapshot_carries_the_alerts_in_force_and_not_the_expired_ones(
    database_url: str, tmp_path: Path
) -> None:
    await world_with_bridge(database_url)
    now = datetime.now(UTC)
    async with running(make_settings(database_url, tmp_path)) as server:
        service = await login(server.base, "bridge_mk")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(service)) as bridge:
            posted = {}
            for identifier, headline, expires in (
                ("p-live", "Gezocht: grijze bestelbus", now + timedelta(hours=2)),
                ("p-old", "Vermist: vrouw (80), teruggevonden", now - timedelta(minutes=1)),
            ):
                r = await bridge.post(
                    "/api/area-alerts",
                    json={"source": "politie", "identifier": identifier, "headline": headline,
                          "severity": "Severe", "urgency": "Immediate", "area_desc": "Burgwallen",
                          "polygons": [RING], "circles": [{"lon": 4.9, "lat": 52.37, "radius_km": 0.5}],
                          "sent": (now - timedelta(hours=1)).isoformat(), "expires": expires.isoformat()},
                )  # fmt: skip
                assert r.status_code == 201, r.text
                posted[identifier] = r.json()["alert_id"]
        snapshots = {}
        for name in ("operator_mk", "lead_a", "lead_b"):
            account = await login(server.base, name)
            async with socket_to(server.ws + "/ws/operator", account["access_token"]) as console:
                snapshots[name] = await console.recv()
    # the meldkamer received it: its gemeente A sees it too, gemeente B (not linked) does not
    for name, seen in (("lead_a", [posted["p-live"]]), ("lead_b", [])):
        other = snapshots[name]
        assert isinstance(other, Snapshot) and [a.alert_id for a in other.area_alerts] == seen, name
    snapshot = snapshots["operator_mk"]
    assert isinstance(snapshot, Snapshot)
    assert [a.alert_id for a in snapshot.area_alerts] == [posted["p-live"]]
    shown = snapshot.area_alerts[0]
    assert shown.headline == "Gezocht: grijze bestelbus"
    assert (shown.severity, shown.urgency, shown.area_desc) == ("Severe", "Immediate", "Burgwallen")
    assert shown.expires_at is not None and shown.expires_at > now
    assert shown.area is not None  # the console draws it
    assert [list(p) for p in shown.area.polygons[0]] == RING
    assert [(c.lon, c.lat, c.radius_km) for c in shown.area.circles] == [(4.9, 52.37, 0.5)]
    assert shown.unit_ids == []  # no tablet was inside
