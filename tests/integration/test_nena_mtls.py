"""Mutual TLS on the NENA conveyance: a throwaway CA (openssl CLI) signs the partner's and Schakel's
certificates; a subscriber with the right certificate gets its events, one with a certificate of another CA
or without one cannot even connect, and one of the right CA under another name is refused (1008)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import websockets

from meldkamer_bridge.adapters import eido
from meldkamer_bridge.adapters.nena_conveyance import Notifier, Subscriber
from meldkamer_bridge.adapters.tls import TlsConfig
from meldkamer_bridge.simulator.store import SqliteStore

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(dir: Path, name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=dir,
    )  # fmt: skip


def make_cert(dir: Path, ca: str, name: str, san: str) -> TlsConfig:
    (dir / f"{name}.ext").write_text(f"subjectAltName={san}\n")
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
        "-out", f"{name}.csr", cwd=dir,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
        "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=dir,
    )  # fmt: skip
    return TlsConfig(cert=str(dir / f"{name}.pem"), key=str(dir / f"{name}.key"), ca=str(dir / "ca.pem"))


@contextlib.asynccontextmanager
async def running(coro: object) -> AsyncIterator[None]:
    task = asyncio.create_task(coro)  # type: ignore[arg-type]
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def progress() -> str:
    return eido.encode_update(
        eido.IncidentUpdate(
            external_id="urn:emergency:uid:incidentid:tls000001:gms.example.nl",
            agency="handhaving.amsterdam.nl",
            progress=eido.Progress.ACCEPTED,
            at=datetime(2026, 11, 22, 19, 0, tzinfo=UTC),
            melding_id=1,
        )
    ).decode()


async def test_only_the_partner_with_the_right_certificate_subscribes(tmp_path: Path) -> None:
    make_ca(tmp_path, "ca")
    make_ca(tmp_path, "rogue")
    server = make_cert(tmp_path, "ca", "gms-nena", "DNS:localhost,IP:127.0.0.1")
    good = make_cert(tmp_path, "ca", "schakel", "DNS:schakel")
    intruder = make_cert(tmp_path, "ca", "intruder", "DNS:intruder")
    rogue = make_cert(tmp_path, "rogue", "schakel-rogue", "DNS:schakel")  # the right name, another CA

    notifier_store = SqliteStore(tmp_path / "partner.sqlite3")
    notifier_store.enqueue("schakel", "eido_update", progress(), "p1")
    notifier = Notifier("127.0.0.1:0", notifier_store, peer="schakel", tls=server)
    async with running(notifier.run()):
        await notifier.listening.wait()
        url = f"wss://localhost:{notifier.port}/"

        # the right certificate: subscribed, the event stored and answered
        store = SqliteStore(tmp_path / "schakel.sqlite3")
        subscriber = Subscriber(url, store, peer="gms-nena", tls=good)
        async with running(subscriber.run()):
            async with asyncio.timeout(10):
                await subscriber.connected.wait()
                while not store.received():
                    await asyncio.sleep(0.05)
        assert len(store.received()) == 1

        # a certificate of another CA: the TLS handshake fails, nothing stored, the reason in the status
        rogue_store = SqliteStore(tmp_path / "rogue.sqlite3")
        rogue_sub = Subscriber(url, rogue_store, peer="gms-nena", tls=rogue)
        async with running(rogue_sub.run()):
            await asyncio.sleep(1.0)
        assert not rogue_sub.connected.is_set() and not rogue_store.received()
        assert "cannot connect" in rogue_sub.status.last_error

        # no client certificate at all: refused by the TLS layer
        bare = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        with pytest.raises((ssl.SSLError, OSError, websockets.WebSocketException)):  # TLS 1.3: after
            async with websockets.connect(url, ssl=bare) as ws:
                await ws.recv()

        # the right CA, the wrong name: closed as unauthorized, and the notifier says whom it refused
        client = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        client.load_cert_chain(intruder.cert, intruder.key)
        async with websockets.connect(url, ssl=client) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert (
            "['intruder']" in notifier.status.last_error
            and "expected 'schakel'" in notifier.status.last_error
        )
    for s in (notifier_store, store, rogue_store):
        s.close()


async def test_the_bridge_and_the_partner_on_nena_wss_with_mutual_tls(
    database_url: str, tmp_path: Path
) -> None:
    """The bridge configured as in production (nena+wss://, BRIDGE_TLS_*): it subscribes to the partner over
    TLS and the partner subscribes to it over TLS; each checks the other's certificate and name."""
    from backend.db.pool import create_pool
    from meldkamer_bridge.app import Bridge
    from meldkamer_bridge.config import BridgeConfig, Partner
    from meldkamer_bridge.simulator.nena_partner import NenaPartner
    from tests.integration.harness import free_port

    make_ca(tmp_path, "ca")
    ours = make_cert(tmp_path, "ca", "schakel", "DNS:schakel,DNS:localhost,IP:127.0.0.1")
    theirs = make_cert(tmp_path, "ca", "nena-sim", "DNS:nena-sim,DNS:localhost,IP:127.0.0.1")
    partner_port, schakel_port = free_port(), free_port()
    sim = NenaPartner(
        tmp_path / "nena.sqlite3",
        listen=f"127.0.0.1:{partner_port}",
        subscribe=f"wss://localhost:{schakel_port}/",
        tls=theirs,
    )
    sim.send_incident(1)
    url = f"nena+wss://localhost:{partner_port}/?listen=127.0.0.1:{schakel_port}"
    config = BridgeConfig(
        database_url=database_url,
        partners=(Partner(name="nena-sim", url=url),),
        meldkamer="nena-sim",
        police="nena-sim",
        tls=ours,
    )
    pool = await create_pool(database_url, min_size=1, max_size=4)
    try:
        bridge = Bridge(config, pool)
        await bridge.store.enqueue("nena-sim", "eido_update", progress(), "schakel:progress:1:1")
        async with running(sim.run()), running(bridge.run()):
            async with asyncio.timeout(20):
                while True:
                    n = await pool.fetchval("SELECT count(*) FROM bridge_inbox WHERE partner = 'nena-sim'")
                    if n == 1 and len(sim.store.received()) == 1:
                        break
                    await asyncio.sleep(0.1)
    finally:
        await pool.close()
        sim.close()
