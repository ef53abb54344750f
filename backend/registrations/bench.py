"""`schakel bench registrations`: registrations per second, each with a photo, through the real HTTP API.

The server runs as its own process (``schakel serve``) on a fresh database, so the figures include
uvicorn, Litestar, validation, PostgreSQL commits and the fsync of every photo, and the client's own CPU
does not count against the server's. Each registration is: PUT its photo (content hash), POST the
registration (waarneming or fine, alternating), and every tenth one is retried (which must answer 200).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psutil


def _photo(size: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + os.urandom(max(0, size - 6)) + b"\xff\xd9"


def _body(index: int, photo: str, lon: float, lat: float) -> dict[str, Any]:
    common = {
        "id": str(uuid.uuid4()),
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "location": {"lon": lon, "lat": lat, "accuracy_m": 6},
        "photos": [photo],
    }
    if index % 2:
        return {**common, "kind": "waarneming", "category": "afval", "text": f"bench {index}"}
    return {
        **common,
        "kind": "fine",
        "feitcode": "BF 185",
        "offender": {
            "name": f"Bench Persoon {index}",
            "birth_date": "1990-01-01",
            "id_document_type": "paspoort",
            "id_document_number": f"NX{index:08d}",
            "address": {"street": "Dam", "house_number": "1", "city": "Amsterdam"},
        },
    }


async def _prepare(url: str) -> tuple[int, int, int]:
    """A gemeente with the demo beats, one boa with a device; returns (org, account, device)."""
    from backend.db.migrate import migrate
    from backend.db.pool import create_pool
    from backend.demo.seed import buurten_geojson
    from backend.geofencing.importer import parse_beats
    from backend.geofencing.repository import upsert_beats
    from backend.orgs import repository as orgs
    from backend.shifts import repository as shifts

    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
            async with conn.transaction():
                org = await orgs.create_org(conn, "bench", "Gemeente Bench")
                await upsert_beats(conn, org, parse_beats(buurten_geojson()))
                account = await orgs.create_account(
                    conn,
                    org_id=org,
                    username=f"bench-{uuid.uuid4().hex[:8]}",
                    password=uuid.uuid4().hex,
                    role="boa",
                )
                unit = await orgs.create_unit(conn, org_id=org, call_sign="BENCH-1")
                device = await orgs.create_device(conn, org_id=org, name="bench-tablet")
                await shifts.start_shift(
                    conn, unit_id=unit, device_id=device, account_ids=[account], beat_ids=[]
                )
        return org, account, device
    finally:
        await pool.close()


async def _client(base: str, token: str, worker: int, count: int, photo_bytes: int, latencies: list[float],
                  errors: list[str]) -> None:  # fmt: skip
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as http:
        for n in range(count):
            index = worker * 1_000_000 + n
            data = _photo(photo_bytes)
            digest = hashlib.sha256(data).hexdigest()
            body = _body(index, digest, 4.8970 + (n % 50) * 1e-4, 52.3745)
            start = time.perf_counter()
            put = await http.put(
                f"/api/photos/{digest}", content=data, headers={"content-type": "image/jpeg"}
            )
            post = await http.post("/api/registrations", json=body)
            latencies.append(time.perf_counter() - start)
            if put.status_code != 201 or post.status_code != 201 or not post.json()["complete"]:
                errors.append(f"{put.status_code}/{post.status_code}")
            if n % 10 == 9 and (await http.post("/api/registrations", json=body)).status_code != 200:
                errors.append("retry was not 200")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _measure(url: str, data_dir: Path, clients: int, per_client: int, photo_kb: int) -> dict[str, Any]:
    from backend.auth.tokens import Principal, issue_access_token

    org, account, device = await _prepare(url)
    secret = uuid.uuid4().hex * 2
    port = _free_port()
    env = {
        **os.environ,
        "SCHAKEL_DATABASE_URL": url,
        "SCHAKEL_DATA_DIR": str(data_dir),
        "SCHAKEL_SECRET_KEY": secret,
        "SCHAKEL_PORT": str(port),
    }
    server = subprocess.Popen(  # noqa: ASYNC220 - spawning does not block; the server outlives this loop step
        [sys.executable, "-m", "backend.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_healthy(base, server)
        principal = Principal(
            account_id=account,
            org_id=org,
            role="boa",
            visible_org_ids=frozenset({org}),
            device_id=device,
            username="bench",
        )
        token = issue_access_token(principal, secret, 120)
        proc = psutil.Process(server.pid)
        proc.cpu_percent(None)
        latencies: list[float] = []
        errors: list[str] = []
        started = time.perf_counter()
        await asyncio.gather(
            *(_client(base, token, w, per_client, photo_kb * 1024, latencies, errors) for w in range(clients))
        )
        elapsed = time.perf_counter() - started
        cpu = proc.cpu_percent(None)
    finally:
        server.terminate()
        server.wait(timeout=30)
    total = clients * per_client
    integrity = await _integrity(url, org, total)
    if not integrity["ok"]:
        errors.append("stored registrations or photos differ from what was sent")
    return {
        "benchmark": "registrations",
        "clients": clients,
        "registrations": total,
        "photo_kb": photo_kb,
        "seconds": round(elapsed, 3),
        "registrations_per_s": round(total / elapsed, 1),
        "photo_mb_per_s": round(total * photo_kb / 1024 / elapsed, 2),
        "latency_ms": {
            q: round(_percentile(latencies, p) * 1000, 1)
            for q, p in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
        },
        "server_cpu_percent": round(cpu, 1),
        "errors": len(errors),
        "error_samples": errors[:5],
        "integrity": integrity,
        "cpu_count": os.cpu_count(),
        "at": datetime.now(UTC).isoformat(),
    }


async def _integrity(url: str, org: int, expected: int) -> dict[str, Any]:
    """Nothing lost, nothing doubled: one row per registration sent (retries included), every one complete."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            """SELECT count(*) AS stored,
                      count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM unnest(r.photo_hashes) h
                          WHERE NOT EXISTS (SELECT 1 FROM photos p
                                            WHERE p.org_id = r.org_id AND p.sha256 = h))) AS complete,
                      (SELECT count(*) FROM photos WHERE org_id = $1) AS photos
               FROM registrations r WHERE r.org_id = $1""",
            org,
        )
    finally:
        await conn.close()
    assert row is not None  # an aggregate always answers one row
    stored, complete, photos = row["stored"], row["complete"], row["photos"]
    ok = stored == complete == photos == expected
    return {"expected": expected, "stored": stored, "complete": complete, "photos": photos, "ok": ok}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(300):
            if server.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not become healthy")


def run_registrations_bench(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="schakel bench registrations", description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=50)
    parser.add_argument("--photo-kb", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("bench-registrations.json"))
    args = parser.parse_args(argv)
    url = os.environ.get("SCHAKEL_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="schakel-bench-") as tmp:
        if url:
            result = asyncio.run(_measure(url, Path(tmp), args.clients, args.per_client, args.photo_kb))
        else:
            from backend.db.embedded import start_embedded

            pg, url = start_embedded(Path(tmp), delete_on_exit=True)
            try:
                result = asyncio.run(_measure(url, Path(tmp), args.clients, args.per_client, args.photo_kb))
            finally:
                pg.cleanup()
    rows = [("clients", result["clients"]), ("registrations", result["registrations"]),
            ("photo size", f"{result['photo_kb']} KB"), ("seconds", result["seconds"]),
            ("registrations/s", result["registrations_per_s"]), ("photo MB/s", result["photo_mb_per_s"]),
            *((f"latency {k}", f"{v} ms") for k, v in result["latency_ms"].items()),
            ("server CPU", f"{result['server_cpu_percent']} %"), ("errors", result["errors"]),
            ("stored = sent, complete", "yes" if result["integrity"]["ok"] else "NO")]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    args.out.write_bytes(msgspec.json.format(msgspec.json.encode(result), indent=2) + b"\n")
    print(f"wrote {args.out}")
    return 1 if result["errors"] else 0
