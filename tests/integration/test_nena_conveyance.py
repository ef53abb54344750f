"""The NENA EIDO conveyance (NENA-STA-024 subscribe/notify) over real loopback WebSockets: the bridge
subscribes to the NENA reference partner's incidents and notifies it of its progress; what a partner answers
badly (an error status, a wrong requestId, silence, a malformed frame) is logged, shown and loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import websockets

from backend.db.pool import create_pool
from meldkamer_bridge import outbox
from meldkamer_bridge.adapters import eido
from meldkamer_bridge.adapters.nena_conveyance import (
    Notifier,
    Subscriber,
    check_frame,
    eido_msg_id,
    split_url,
)
from meldkamer_bridge.app import Bridge
from meldkamer_bridge.config import BridgeConfig, Partner
from meldkamer_bridge.simulator.nena_partner import NenaPartner
from meldkamer_bridge.simulator.store import SqliteStore
from tests.integration.harness import free_port

AT = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


def progress(i: int) -> bytes:
    return eido.encode_update(
        eido.IncidentUpdate(
            external_id=f"urn:emergency:uid:incidentid:nena{i:06d}:gms.example.nl",
            agency="handhaving.amsterdam.nl",
            progress=eido.Progress.ACCEPTED,
            at=AT,
            melding_id=i,
        )
    )


@contextlib.asynccontextmanager
async def running(*coros: Any) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        yield
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def until(check: Any, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not await check():
            await asyncio.sleep(0.05)


async def test_bridge_subscribes_to_partner_incidents_and_notifies_its_progress(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    partner_port, schakel_port = free_port(), free_port()
    sim = NenaPartner(
        tmp_path / "nena.sqlite3",
        listen=f"127.0.0.1:{partner_port}",
        subscribe=f"ws://127.0.0.1:{schakel_port}/",
    )
    for n in range(1, 6):
        sim.send_incident(n)
    config = BridgeConfig(
        database_url=database_url,
        partners=(
            Partner(name="nena", url=f"nena+ws://127.0.0.1:{partner_port}/?listen=127.0.0.1:{schakel_port}"),
        ),
        meldkamer="nena",
        police="nena",
    )
    b = Bridge(config, pool)
    async with running(sim.run(), b.run()):
        for i in range(1, 4):
            await b.store.enqueue("nena", "eido_update", progress(i), f"schakel:progress:{i}:1")

        async def arrived() -> bool:
            async with pool.acquire() as conn:
                n = await conn.fetchval("SELECT count(*) FROM bridge_inbox WHERE partner = 'nena'")
                acked, _ = await outbox.outbound_state(conn, "nena")
            return bool(n == 5 and acked == 3 and len(sim.store.received()) == 3)

        await until(arrived)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT seq, msg_id, type, result FROM bridge_inbox WHERE partner = 'nena' ORDER BY seq"
        )
    sent = [json.loads(r[0]) for r in sim.store.db.execute("SELECT body FROM outbox ORDER BY seq")]
    assert [r["msg_id"] for r in rows] == [eido_msg_id(doc) for doc in sent]  # every incident once, in order
    assert {r["type"] for r in rows} == {"eido"} and all(r["result"] is None for r in rows)
    handed = eido.decode_incident(
        (await pool.fetchval("SELECT body FROM bridge_inbox WHERE seq = 1 AND partner = 'nena'")).encode()
    )
    assert handed.partner_incident_id == "GMS-000001"
    got = sorted(sim.store.received(), key=lambda r: int(str(r["seq"])))
    assert [eido.decode_update(str(r["body"]).encode()).melding_id for r in got] == [1, 2, 3]
    assert sim.store.db.execute("SELECT acked_seq FROM peers WHERE peer = 'schakel'").fetchone() == (5,)
    sim.close()


class FakeSubscriber:
    """A partner's subscriber that answers as a test tells it to (real socket, raw frames)."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws

    async def subscribe(self, **extra: Any) -> dict[str, Any]:
        await self.ws.send(json.dumps({"subscribe": {"requestId": "r1", "requestType": "EIDO", **extra}}))
        return await self.next("subscribeResponse")

    async def next(self, kind: str, within: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                got, body = check_frame(json.loads(await self.ws.recv()))
                if got == kind:
                    return body

    async def answer(self, event: dict[str, Any], code: int, text: str = "") -> None:
        await self.ws.send(
            json.dumps(
                {
                    "eventResponse": {
                        "transactionId": event["transactionId"],
                        "statusCode": code,
                        "statusText": text,
                    }
                }
            )
        )


async def test_partner_error_answers_are_retried_refused_or_resent_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "schakel.sqlite3")
    for i in range(1, 4):
        store.enqueue("partner", "eido_update", progress(i).decode(), f"p{i}")
    notifier = Notifier("127.0.0.1:0", store, peer="partner", response_timeout_s=1.0)
    async with running(notifier.run()):
        await notifier.listening.wait()
        url = f"ws://127.0.0.1:{notifier.port}/"
        async with websockets.connect(url) as ws:
            fake = FakeSubscriber(ws)
            response = await fake.subscribe(maxRate=0)
            assert response["statusCode"] == 200 and response["subscriptionId"]
            first = await fake.next("event")
            assert len(first["notification"]) == 3  # the backlog in one event
            await fake.answer(first, 503, "database away")  # temporary: sent again, same transaction
            again = await fake.next("event")
            assert again["transactionId"] == first["transactionId"]
            assert again["notification"] == first["notification"]
            await fake.answer({"transactionId": "not-ours"}, 200)  # ignored, logged
            await fake.answer(again, 200)
            await until(
                lambda: asyncio.sleep(0, store.db.execute("SELECT acked_seq FROM peers").fetchone() == (3,))
            )
            store.enqueue("partner", "eido_update", progress(4).decode(), "p4")
            refused = await fake.next("event")
            await fake.answer(refused, 400, "incidentComponent: not what we expected")  # final: a dead letter
            await until(
                lambda: asyncio.sleep(0, store.db.execute("SELECT acked_seq FROM peers").fetchone() == (4,))
            )
            assert store.db.execute("SELECT rejected FROM outbox WHERE msg_id = 'p4'").fetchone() == (
                "eventResponse 400: incidentComponent: not what we expected",
            )
            assert notifier.status.refused == 1
            store.enqueue("partner", "eido_update", progress(5).decode(), "p5")
            await fake.next("event")  # and never answered: after the timeout the notifier closes
            with pytest.raises(websockets.ConnectionClosed):
                async with asyncio.timeout(5):
                    await ws.recv()
        assert "no eventResponse" in notifier.status.last_error
        async with websockets.connect(url) as ws:  # the partner comes back: the unanswered event again
            fake = FakeSubscriber(ws)
            await fake.subscribe()
            event = await fake.next("event")
            assert [d["incidentComponent"]["internalIncidentId"] for d in event["notification"]] == ["5"]
            await ws.send("{not json")  # a malformed frame: the notifier closes (1002) and says why
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002
        assert "bad frame" in notifier.status.last_error
        async with websockets.connect(url) as ws:
            fake = FakeSubscriber(ws)
            assert (await fake.subscribe(qualFilter="x"))["statusCode"] == 400  # filters are refused, clearly
            await ws.send(json.dumps({"subscribe": {"requestId": "r2", "requestType": "EIDO"}}))
            await fake.next("subscribeResponse")
            event = await fake.next("event")  # still there: nothing lost
            assert event["notification"][0]["incidentComponent"]["internalIncidentId"] == "5"
    store.close()


async def test_subscriber_refuses_wrong_request_ids_and_invalid_eidos_and_keeps_going(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "schakel.sqlite3")
    answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    connections = 0
    valid = json.loads(
        (Path(eido.__file__).parent.parent / "schemas/eido/sample_call_transfer_eido.json").read_text()
    )
    invalid = json.loads(
        (Path(eido.__file__).parent.parent / "schemas/eido/eidolib_EidoWithJcard.json").read_text()
    )

    async def notifier(ws: websockets.ServerConnection) -> None:
        nonlocal connections
        connections += 1
        _, request = check_frame(json.loads(await ws.recv()))
        request_id = request["requestId"] if connections > 1 else "someone-else"  # first: a wrong id
        await ws.send(
            json.dumps(
                {
                    "subscribeResponse": {
                        "requestId": request_id,
                        "subscriptionId": "s1",
                        "statusCode": 200,
                        "statusText": "OK",
                    }
                }
            )
        )
        if connections == 1:
            await ws.wait_closed()
            return
        for transaction, docs in (("t1", [valid, invalid]), ("t1", [valid, invalid]), ("t2", [valid])):
            await ws.send(
                json.dumps(
                    {"event": {"subscriptionId": "s1", "transactionId": transaction, "notification": docs}}
                )
            )
            answers.put_nowait(check_frame(json.loads(await ws.recv()))[1])
        await ws.wait_closed()

    port = free_port()
    async with websockets.serve(notifier, "127.0.0.1", port):
        subscriber = Subscriber(f"ws://127.0.0.1:{port}/", store, peer="gms")
        async with running(subscriber.run()):
            first = await asyncio.wait_for(answers.get(), 10)
            second = await asyncio.wait_for(answers.get(), 5)
            third = await asyncio.wait_for(answers.get(), 5)
    assert "subscribeResponse for request 'someone-else'" in subscriber.status.history[0]
    assert first["statusCode"] == 400 and "lastUpdateTimeStamp" in first["statusText"]
    assert second["statusCode"] == 400  # the same transaction again: stored nothing twice
    assert third == {"transactionId": "t2", "statusCode": 200, "statusText": "OK"}
    rows = store.db.execute("SELECT seq, msg_id, rejected FROM inbox ORDER BY seq").fetchall()
    assert [r[1] for r in rows] == [eido_msg_id(valid), rows[1][1]]  # the valid one once, the invalid kept
    assert rows[1][2] is not None and "lastUpdateTimeStamp" in rows[1][2]
    store.close()


def test_sample_subscribe_frames_of_eidolib_validate() -> None:
    base = Path(eido.__file__).parent.parent / "schemas/eido"
    for name, kind in (
        ("eidolib_ws_BasicSubscribe.json", "subscribe"),
        ("eidolib_ws_BasicSubscribeResponse.json", "subscribeResponse"),
        ("eidolib_ws_NotifyWithEido.json", "event"),
    ):
        assert check_frame(json.loads((base / name).read_text()))[0] == kind


async def test_notifier_keeps_the_rates_the_subscriber_asked_for(tmp_path: Path) -> None:
    """maxRate: at least that many seconds between events (what queued meanwhile goes in one event);
    minRate: an event (empty when there is nothing new) at least that often."""
    store = SqliteStore(tmp_path / "schakel.sqlite3")
    notifier = Notifier("127.0.0.1:0", store, peer="partner")
    async with running(notifier.run()):
        await notifier.listening.wait()
        async with websockets.connect(f"ws://127.0.0.1:{notifier.port}/") as ws:
            fake = FakeSubscriber(ws)
            response = await fake.subscribe(minRate=2, maxRate=1)
            assert (response["minRate"], response["maxRate"]) == (2, 1)
            store.enqueue("partner", "eido_update", progress(1).decode(), "p1")
            first = await fake.next("event")
            t0 = asyncio.get_running_loop().time()
            await fake.answer(first, 200)
            store.enqueue("partner", "eido_update", progress(2).decode(), "p2")
            store.enqueue("partner", "eido_update", progress(3).decode(), "p3")
            second = await fake.next("event")
            t1 = asyncio.get_running_loop().time()
            assert t1 - t0 >= 0.9  # not before maxRate
            assert len(second["notification"]) == 2  # what queued meanwhile, together
            await fake.answer(second, 200)
            heartbeat = await fake.next("event", within=4.0)
            assert heartbeat["notification"] == [] and asyncio.get_running_loop().time() - t1 >= 1.8
            await fake.answer(heartbeat, 200)
            await ws.send(
                json.dumps({"unsubscribe": {"requestId": "u1", "subscriptionId": response["subscriptionId"]}})
            )
            assert (await fake.next("unsubscribeResponse"))["statusCode"] == 200
    assert store.db.execute("SELECT acked_seq FROM peers WHERE peer = 'partner'").fetchone() == (3,)
    store.close()


def test_the_partner_url_carries_the_conveyance_options() -> None:
    url, options = split_url(
        "nena+wss://eido.psap.example.nl/eido?listen=0.0.0.0:9443&minRate=60&maxRate=1&x=y"
    )
    assert url == "wss://eido.psap.example.nl/eido?x=y"
    assert options == {"listen": "0.0.0.0:9443", "minRate": "60", "maxRate": "1"}
    with pytest.raises(ValueError, match="minRate"):
        split_url("nena+ws://127.0.0.1:1/?minRate=soon")
