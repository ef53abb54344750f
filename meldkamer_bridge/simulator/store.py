"""The reference partner's durable state: its outbox and inbox in one SQLite file.

The same rules as the bridge's PostgreSQL outbox (meldkamer_bridge.outbox), on a store a small partner
system could have: a restart keeps the sequence numbers, the de-duplication state and what it received.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from meldkamer_bridge.outbox import Envelope, OutboxMessage, Verdict, classify, new_msg_id

SCHEMA = """
CREATE TABLE IF NOT EXISTS peers (
    peer TEXT PRIMARY KEY, next_seq INTEGER NOT NULL DEFAULT 1, acked_seq INTEGER NOT NULL DEFAULT 0,
    inbound_seq INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS outbox (
    peer TEXT NOT NULL, seq INTEGER NOT NULL, msg_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL, delivered_at TEXT, rejected TEXT, PRIMARY KEY (peer, seq));
CREATE TABLE IF NOT EXISTS inbox (
    peer TEXT NOT NULL, seq INTEGER NOT NULL, msg_id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL,
    received_at TEXT NOT NULL, rejected TEXT, PRIMARY KEY (peer, seq), UNIQUE (peer, msg_id));
"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class SqliteStore:
    """A link Store on SQLite (WAL, synchronous=FULL: an acknowledged message survives a kill -9)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self._changed: dict[str, asyncio.Event] = {}

    def changed(self, peer: str) -> asyncio.Event:
        return self._changed.setdefault(peer, asyncio.Event())

    def look_again(self) -> None:
        """Another process queued messages in this file: every peer's sender looks at its outbox now."""
        for event in self._changed.values():
            event.set()

    def close(self) -> None:
        self.db.close()

    def _peer(self, peer: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO peers (peer) VALUES (?)", (peer,))

    def enqueue(self, peer: str, type_: str, body: str, msg_id: str | None = None) -> int | None:
        """Queue a message for `peer`; None when `msg_id` is already queued."""
        msg_id = msg_id or new_msg_id()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self._peer(peer)
            if self.db.execute("SELECT 1 FROM outbox WHERE msg_id = ?", (msg_id,)).fetchone():
                return None
            (seq,) = self.db.execute("SELECT next_seq FROM peers WHERE peer = ?", (peer,)).fetchone()
            self.db.execute("UPDATE peers SET next_seq = ? WHERE peer = ?", (seq + 1, peer))
            self.db.execute(
                "INSERT INTO outbox (peer, seq, msg_id, type, body, created_at) VALUES (?,?,?,?,?,?)",
                (peer, seq, msg_id, type_, body, _now()),
            )
        self.changed(peer).set()
        return int(seq)

    def enqueue_many(self, peer: str, type_: str, messages: list[tuple[str, str]]) -> int:
        """Queue (msg_id, body) messages for `peer` in one transaction (a partner's backlog, for the bench);
        a msg_id already queued is skipped. How many were queued."""
        queued = 0
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self._peer(peer)
            (seq,) = self.db.execute("SELECT next_seq FROM peers WHERE peer = ?", (peer,)).fetchone()
            for msg_id, body in messages:
                if self.db.execute("SELECT 1 FROM outbox WHERE msg_id = ?", (msg_id,)).fetchone():
                    continue
                self.db.execute(
                    "INSERT INTO outbox (peer, seq, msg_id, type, body, created_at) VALUES (?,?,?,?,?,?)",
                    (peer, seq + queued, msg_id, type_, body, _now()),
                )
                queued += 1
            self.db.execute("UPDATE peers SET next_seq = ? WHERE peer = ?", (seq + queued, peer))
        self.changed(peer).set()
        return queued

    # --- the Store protocol -------------------------------------------------------------------------------

    async def outbound_state(self, peer: str) -> tuple[int, int]:
        self._peer(peer)
        acked, next_seq = self.db.execute(
            "SELECT acked_seq, next_seq FROM peers WHERE peer = ?", (peer,)
        ).fetchone()
        return int(acked), int(next_seq) - 1

    async def pending(self, peer: str, after: int, upto: int) -> list[OutboxMessage]:
        rows = self.db.execute(
            "SELECT seq, msg_id, type, body FROM outbox WHERE peer = ? AND seq > ? AND seq <= ? ORDER BY seq",
            (peer, after, upto),
        ).fetchall()
        return [OutboxMessage(partner=peer, seq=s, msg_id=m, type=t, body=b) for s, m, t, b in rows]

    async def acknowledge(self, peer: str, upto: int) -> int:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            n = self.db.execute(
                "UPDATE outbox SET delivered_at = ? WHERE peer = ? AND seq <= ? AND delivered_at IS NULL",
                (_now(), peer, upto),
            ).rowcount
            self.db.execute("UPDATE peers SET acked_seq = max(acked_seq, ?) WHERE peer = ?", (upto, peer))
        return int(n)

    async def reject(self, peer: str, seq: int, reason: str) -> None:
        self.db.execute("UPDATE outbox SET rejected = ? WHERE peer = ? AND seq = ?", (reason, peer, seq))

    async def inbound_seq(self, peer: str) -> int:
        self._peer(peer)
        return int(self.db.execute("SELECT inbound_seq FROM peers WHERE peer = ?", (peer,)).fetchone()[0])

    async def receive(
        self, peer: str, envelopes: Sequence[Envelope], rejections: dict[int, str]
    ) -> tuple[list[Verdict], int]:
        verdicts: list[Verdict] = []
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self._peer(peer)
            (last,) = self.db.execute("SELECT inbound_seq FROM peers WHERE peer = ?", (peer,)).fetchone()
            for env in envelopes:
                verdict = classify(env.seq, last)
                if verdict is Verdict.NEW:
                    cursor = self.db.execute(
                        "INSERT OR IGNORE INTO inbox (peer, seq, msg_id, type, body, received_at, rejected) "
                        "VALUES (?,?,?,?,?,?,?)",
                        (peer, env.seq, env.msg_id, env.type, env.body, _now(), rejections.get(env.seq)),
                    )
                    last = env.seq
                    if cursor.rowcount == 0:
                        verdict = Verdict.DUPLICATE
                verdicts.append(verdict)
            self.db.execute("UPDATE peers SET inbound_seq = ? WHERE peer = ?", (last, peer))
        return verdicts, int(last)

    async def record_failure(self, peer: str, error: str) -> None:
        self.db.execute("UPDATE peers SET failed = failed + 1 WHERE peer = ?", (peer,))

    # --- what the page shows ------------------------------------------------------------------------------

    def received(self, limit: int = 200) -> list[dict[str, object]]:
        rows = self.db.execute(
            "SELECT peer, seq, msg_id, type, body, received_at, rejected FROM inbox "
            "ORDER BY received_at DESC, seq DESC LIMIT ?",
            (limit,),
        ).fetchall()
        keys = ("peer", "seq", "msg_id", "type", "body", "received_at", "rejected")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def count_outbox(self, peer: str, msg_id_prefix: str) -> int:
        return int(
            self.db.execute(
                "SELECT count(*) FROM outbox WHERE peer = ? AND substr(msg_id, 1, ?) = ?",
                (peer, len(msg_id_prefix), msg_id_prefix),
            ).fetchone()[0]
        )

    def counts(self) -> dict[str, int]:
        return {t: n for t, n in self.db.execute("SELECT type, count(*) FROM inbox GROUP BY type")}
