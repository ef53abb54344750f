"""The tablet's persistent outbox: everything the boa sends waits here (SQLite) until the server has it.

Two channels share one file:

* ``frame``: socket frames (positions, status, noodknop, task updates). This is the `FrameStore` of
  `shared.client.FieldClient`; the server acknowledges them cumulatively by seq and stores each seq once.
* ``http``: requests (registrations, photos) with an idempotency key (the registration's client-made UUID, the
  photo's sha256), sent strictly in order, with exponential backoff while the network or server is down.

An item is ``pending`` (waiting), ``sending`` (on the wire, not yet confirmed) or ``failed`` (the server
refused it for good; the boa sees why and may retry or discard it). Confirmed items are deleted. Every
change is committed before it is acted on, so killing the app at any moment loses nothing; an item
interrupted mid-send is sent again after a restart and the server's de-duplication keeps it single.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from shared.client import StoredFrames
from shared.protocol import NoodknopPressed, PositionReported, SequencedFrame, encoder

PENDING, SENDING, FAILED = "pending", "sending", "failed"
# The kind of a silent noodknop's item: on its way like any frame, but not on the screen (nor in the counts
# the boa sees): an aggressor looking at the tablet must not learn that the meldkamer was alerted.
SILENT = "noodknop_silent"
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 120.0

_frame_decoder = msgspec.json.Decoder(SequencedFrame)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,   -- the order of creation, the order of sending
    channel TEXT NOT NULL CHECK (channel IN ('frame', 'http')),
    kind TEXT NOT NULL,                     -- position, status, noodknop, task_update, registration, photo
    seq INTEGER UNIQUE,                     -- frames: the per-device sequence number
    key TEXT UNIQUE,                        -- http: the idempotency key
    method TEXT, path TEXT, content_type TEXT,
    body BLOB NOT NULL,
    summary TEXT NOT NULL DEFAULT '',       -- a few words for the outbox screen (data, not UI text)
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    reason TEXT,                            -- why the last attempt failed
    created_at REAL NOT NULL
);
"""


@dataclass(frozen=True, kw_only=True)
class OutboxItem:
    id: int
    channel: str
    kind: str
    state: str
    summary: str
    created_at: float
    attempts: int
    reason: str | None
    seq: int | None = None
    key: str | None = None


@dataclass(frozen=True, kw_only=True)
class HttpItem:
    id: int
    kind: str
    key: str
    method: str
    path: str
    content_type: str
    body: bytes
    attempts: int


class Outbox:
    """One SQLite file per tablet. Not thread-safe: use it from the event loop only."""

    def __init__(
        self, path: Path | str, *, clock: Callable[[], float] = time.time, rng: random.Random | None = None
    ) -> None:
        self.path = str(path)
        self._clock = clock
        self._rng = rng or random.Random()
        self._db = sqlite3.connect(self.path, isolation_level=None)  # autocommit; explicit BEGIN where needed
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a confirmed write survives a power cut
        self._db.executescript(SCHEMA)
        # an app killed mid-send: the request may or may not have arrived; idempotent keys make resending safe
        self._db.execute("UPDATE items SET state = 'pending' WHERE state = 'sending'")
        self.listeners: list[Callable[[], None]] = []
        self._frames_online = False

    def close(self) -> None:
        self._db.close()

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    # --- meta ---------------------------------------------------------------------------------------------

    def _meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def _set_meta(self, key: str, value: object) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
            "excluded.value",
            (key, str(value)),
        )

    def bind_device(self, device_id: int) -> None:
        """The outbox belongs to one device's numbering; a different device starts a fresh numbering."""
        current = self._meta("device_id")
        if current != str(device_id):
            self._db.execute("BEGIN IMMEDIATE")
            self._set_meta("device_id", device_id)
            self._set_meta("synced", 0)
            self._db.execute("COMMIT")

    @property
    def device_id(self) -> int | None:
        value = self._meta("device_id")
        return None if value is None else int(value)

    # --- the frame channel (FrameStore) -------------------------------------------------------------------

    def load(self) -> StoredFrames:
        rows = self._db.execute(
            "SELECT body FROM items WHERE channel = 'frame' AND state != 'failed' ORDER BY seq"
        ).fetchall()
        frames = []
        for (body,) in rows:
            frame = _frame_decoder.decode(body)
            if isinstance(frame, PositionReported) and not frame.late:
                # it waited in the outbox across a restart: history now, not the live position
                frame = msgspec.structs.replace(frame, late=True)
            frames.append(frame)
        return StoredFrames(
            next_seq=int(self._meta("next_seq", "1") or 1), synced=self._meta("synced") == "1", frames=frames
        )

    def add(self, frame: SequencedFrame) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute(
            "INSERT INTO items (channel, kind, seq, body, summary, state, created_at) "
            "VALUES ('frame', ?, ?, ?, ?, ?, ?)",
            (
                _kind_of(frame),
                frame.seq,
                encoder.encode(frame),
                _summary_of(frame),
                SENDING if self._frames_online else PENDING,
                self._clock(),
            ),
        )
        next_seq = int(self._meta("next_seq", "1") or 1)
        self._set_meta("next_seq", max(next_seq, frame.seq + 1))
        self._db.execute("COMMIT")
        self._changed()

    def acked(self, upto: int) -> None:
        cur = self._db.execute(
            "DELETE FROM items WHERE channel = 'frame' AND seq <= ? AND state != 'failed'", (upto,)
        )
        if cur.rowcount:
            self._changed()

    def failed(self, seq: int, reason: str) -> None:
        self._db.execute(
            "UPDATE items SET state = 'failed', reason = ?, attempts = attempts + 1 WHERE channel = 'frame' "
            "AND seq = ?",
            (reason, seq),
        )
        self._changed()

    def welcomed(self, next_seq: int, frames: Sequence[SequencedFrame]) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        old = {
            row[0]: row[1]
            for row in self._db.execute(
                "SELECT seq, created_at FROM items WHERE channel = 'frame' AND state != 'failed' ORDER BY seq"
            )
        }
        created = list(old.values())
        self._db.execute("DELETE FROM items WHERE channel = 'frame' AND state != 'failed'")
        # a failed frame's seq may collide with a renumbered one: failed frames keep their data, not their seq
        self._db.execute("UPDATE items SET seq = -id WHERE channel = 'frame' AND state = 'failed'")
        for i, frame in enumerate(frames):
            at = created[i] if i < len(created) else self._clock()
            self._db.execute(
                "INSERT INTO items (channel, kind, seq, body, summary, created_at) "
                "VALUES ('frame', ?, ?, ?, ?, ?)",
                (_kind_of(frame), frame.seq, encoder.encode(frame), _summary_of(frame), at),
            )
        self._set_meta("next_seq", next_seq)
        self._set_meta("synced", 1)
        self._db.execute("COMMIT")
        self._changed()

    def frames_sending(self, sending: bool) -> None:
        """The link is up (frames are on the wire until acknowledged) or down (they wait)."""
        self._frames_online = sending
        new, old = (SENDING, PENDING) if sending else (PENDING, SENDING)
        cur = self._db.execute("UPDATE items SET state = ? WHERE channel = 'frame' AND state = ?", (new, old))
        if cur.rowcount:
            self._changed()

    def take_failed_frame(self, item_id: int) -> SequencedFrame:
        """Remove a failed frame to send it again under a new seq (the caller re-queues it)."""
        row = self._db.execute(
            "SELECT body FROM items WHERE id = ? AND channel = 'frame' AND state = 'failed'", (item_id,)
        ).fetchone()
        if row is None:
            raise KeyError(item_id)
        self._db.execute("DELETE FROM items WHERE id = ?", (item_id,))
        self._changed()
        frame: SequencedFrame = _frame_decoder.decode(row[0])
        return frame

    # --- the http channel ---------------------------------------------------------------------------------

    def add_request(
        self,
        *,
        kind: str,
        key: str,
        method: str,
        path: str,
        body: bytes,
        content_type: str = "application/json",
        summary: str = "",
    ) -> bool:
        """Queue a request; False if one with this key is queued already (a double tap stores once)."""
        cur = self._db.execute(
            """INSERT INTO items (channel, kind, key, method, path, content_type, body, summary, created_at)
               VALUES ('http', ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING""",
            (kind, key, method, path, content_type, body, summary, self._clock()),
        )
        if cur.rowcount:
            self._changed()
        return bool(cur.rowcount)

    def next_request(self) -> tuple[HttpItem | None, float | None]:
        """The oldest waiting request if it is due, else None and when it will be (None: nothing waits).

        Strict order: a request waiting for its backoff holds back the ones after it; a failed one does not.
        """
        row = self._db.execute(
            """SELECT id, kind, key, method, path, content_type, body, attempts, next_attempt_at FROM items
               WHERE channel = 'http' AND state != 'failed' ORDER BY id LIMIT 1"""
        ).fetchone()
        if row is None:
            return None, None
        if row[8] > self._clock():
            return None, float(row[8])
        self._db.execute("UPDATE items SET state = 'sending' WHERE id = ?", (row[0],))
        self._changed()
        return HttpItem(
            id=row[0],
            kind=row[1],
            key=row[2],
            method=row[3],
            path=row[4],
            content_type=row[5],
            body=bytes(row[6]),
            attempts=row[7],
        ), None

    def request_done(self, item_id: int) -> None:
        self._db.execute("DELETE FROM items WHERE id = ?", (item_id,))
        self._changed()

    def request_retry(self, item_id: int, reason: str) -> float:
        """A transient failure (no network, server busy): back off exponentially with jitter.

        Returns the delay."""
        attempts = self._db.execute("SELECT attempts FROM items WHERE id = ?", (item_id,)).fetchone()
        n = (attempts[0] if attempts else 0) + 1
        delay: float = min(BACKOFF_FIRST_S * 2 ** (n - 1), BACKOFF_MAX_S) * self._rng.uniform(0.8, 1.2)
        self._db.execute(
            "UPDATE items SET state = 'pending', attempts = ?, reason = ?, next_attempt_at = ? WHERE id = ?",
            (n, reason, self._clock() + delay, item_id),
        )
        self._changed()
        return delay

    def request_failed(self, item_id: int, reason: str) -> None:
        """The server refused it (4xx): retrying unchanged will not help; the boa decides."""
        self._db.execute(
            "UPDATE items SET state = 'failed', attempts = attempts + 1, reason = ? WHERE id = ?",
            (reason, item_id),
        )
        self._changed()

    def wake_requests(self) -> None:
        """The network is back: try the waiting requests now instead of after their backoff."""
        self._db.execute("UPDATE items SET next_attempt_at = 0 WHERE channel = 'http' AND state = 'pending'")

    # --- what the boa sees and does -----------------------------------------------------------------------

    def items(self) -> list[OutboxItem]:
        rows = self._db.execute(
            """SELECT id, channel, kind, state, summary, created_at, attempts, reason, seq, key FROM items
               ORDER BY created_at, id"""
        ).fetchall()
        return [
            OutboxItem(
                id=r[0],
                channel=r[1],
                kind=r[2],
                state=r[3],
                summary=r[4],
                created_at=r[5],
                attempts=r[6],
                reason=r[7],
                seq=r[8],
                key=r[9],
            )
            for r in rows
        ]

    def count(self, state: str | None = None) -> int:
        if state is None:
            return int(self._db.execute("SELECT count(*) FROM items").fetchone()[0])
        return int(self._db.execute("SELECT count(*) FROM items WHERE state = ?", (state,)).fetchone()[0])

    def visible_count(self, state: str | None = None) -> int:
        """`count` without the silent noodknop (what the boa may see waiting)."""
        sql, args = "SELECT count(*) FROM items WHERE kind != ?", [SILENT]
        if state is not None:
            sql, args = sql + " AND state = ?", [SILENT, state]
        return int(self._db.execute(sql, args).fetchone()[0])

    def has(self, kind: str, *, failed: bool = False) -> bool:
        """Whether an item of this kind is still on its way (or, with `failed`, refused and kept)."""
        row = self._db.execute(
            "SELECT 1 FROM items WHERE kind = ? AND (state != 'failed' OR ?) LIMIT 1", (kind, failed)
        ).fetchone()
        return row is not None

    def retry_request(self, item_id: int) -> None:
        cur = self._db.execute(
            """UPDATE items SET state = 'pending', next_attempt_at = 0, reason = NULL
               WHERE id = ? AND channel = 'http' AND state = 'failed'""",
            (item_id,),
        )
        if not cur.rowcount:
            raise KeyError(item_id)
        self._changed()

    def discard(self, item_id: int) -> None:
        """Only a failed item may be thrown away; anything else is still on its way."""
        cur = self._db.execute("DELETE FROM items WHERE id = ? AND state = 'failed'", (item_id,))
        if not cur.rowcount:
            raise KeyError(item_id)
        self._changed()


def _kind_of(frame: SequencedFrame) -> str:
    if isinstance(frame, NoodknopPressed) and frame.silent:
        return SILENT  # its own kind: the visible noodknop and the outbox screen never show it
    return str(msgspec.to_builtins(frame)["kind"])


def _summary_of(frame: SequencedFrame) -> str:
    data = msgspec.to_builtins(frame)
    for key in ("status", "state"):
        if key in data:
            return str(data[key])
    if "lat" in data and data["lat"] is not None:
        return f"{data['lat']:.5f}, {data['lon']:.5f}"
    return ""
