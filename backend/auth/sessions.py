"""Login sessions: ended in PostgreSQL, known in memory, and live sockets put out when theirs ends.

The token guard asks :meth:`SessionWatch.is_revoked` on every request: a set lookup, no query. The set is
filled by this instance at once (logout, refresh-token reuse) and by :meth:`SessionWatch.follow`, which
reads the sessions ended since its last look every `session_check_s` (another instance's logout, or the
accounts trigger after a role or password change). An ended session is remembered for as long as an access
token issued from it could still be valid.

A socket registers an `end` callback with :meth:`SessionWatch.watch`; it is called when the session ends
or when the access token the socket said hello with expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

import asyncpg

from backend.db.pool import Conn

log = logging.getLogger(__name__)

End = Callable[[str], Awaitable[None]]  # end(reason)
EXPIRED = "expired"
# how far back a look reaches before its previous one: a transaction that ended a session may commit a
# moment after a later one did
_OVERLAP = timedelta(seconds=5)


async def start(conn: Conn, account_id: int, device_id: int | None) -> str:
    sid: str = await conn.fetchval(
        "INSERT INTO auth_sessions (account_id, device_id) VALUES ($1, $2) RETURNING id::text",
        account_id,
        device_id,
    )
    return sid


async def end(conn: Conn, session_id: str, reason: str) -> bool:
    """End a session and its refresh tokens; False if it had ended already."""
    ended = await conn.fetchval(
        """UPDATE auth_sessions SET revoked_at = clock_timestamp(), revoked_reason = $2
           WHERE id = $1::uuid AND revoked_at IS NULL RETURNING true""",
        session_id,
        reason,
    )
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE session_id = $1::uuid AND revoked_at IS NULL",
        session_id,
    )
    return bool(ended)


class SessionWatch:
    def __init__(self, remember_s: float) -> None:
        self.remember_s = remember_s
        self._ended: dict[str, float] = {}  # session id -> when we learnt it (monotonic)
        self._watchers: dict[str | None, set[End]] = {}
        self._looked_at: datetime | None = None
        self._ending: set[asyncio.Task[None]] = set()

    def is_revoked(self, session_id: str | None) -> bool:
        return session_id is not None and session_id in self._ended

    def watch(self, session_id: str | None, expires_at: datetime | None, end: End) -> Callable[[], None]:
        """Call `end(reason)` once when the session ends or the token expires; returns the unwatch."""
        watchers = self._watchers.setdefault(session_id, set())
        watchers.add(end)
        timer: asyncio.TimerHandle | None = None
        if expires_at is not None:
            delay = max(0.0, (expires_at - datetime.now(UTC)).total_seconds())
            timer = asyncio.get_running_loop().call_later(delay, self._expire, session_id, end)

        def unwatch() -> None:
            if timer is not None:
                timer.cancel()
            watchers.discard(end)
            if not watchers and self._watchers.get(session_id) is watchers:
                del self._watchers[session_id]

        return unwatch

    def _expire(self, session_id: str | None, end: End) -> None:
        watchers = self._watchers.get(session_id)
        if watchers is not None and end in watchers:
            watchers.discard(end)
            self._spawn(end, EXPIRED)

    def ended(self, session_ids: Iterable[str], reason: str) -> list[asyncio.Task[None]]:
        """These sessions ended: their tokens are refused from now on and their sockets ended (the tasks)."""
        now = time.monotonic()
        tasks = []
        for sid in session_ids:
            self._ended.setdefault(sid, now)
            for end_ in self._watchers.pop(sid, set()):
                tasks.append(self._spawn(end_, reason))
        return tasks

    def _spawn(self, end_: End, reason: str) -> asyncio.Task[None]:
        task = asyncio.create_task(self._run_end(end_, reason), name="end-session-socket")
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)
        return task

    @staticmethod
    async def _run_end(end_: End, reason: str) -> None:
        try:
            await end_(reason)
        except Exception:
            log.exception("ending a socket failed")

    async def look(self, conn: Conn) -> None:
        """Take in the sessions ended since the last look (on the first, within the remembered span)."""
        since = (
            datetime.now(UTC) - timedelta(seconds=self.remember_s)
            if self._looked_at is None
            else self._looked_at - _OVERLAP
        )
        looked_at: datetime = await conn.fetchval("SELECT clock_timestamp()")
        rows = await conn.fetch(
            """SELECT id::text AS id, revoked_reason FROM auth_sessions
               WHERE revoked_at IS NOT NULL AND revoked_at > $1""",
            since,
        )
        for row in rows:
            if row["id"] not in self._ended:
                self.ended([row["id"]], row["revoked_reason"] or "revoked")
        self._looked_at = looked_at
        cutoff = time.monotonic() - self.remember_s
        for sid in [s for s, at in self._ended.items() if at < cutoff]:
            del self._ended[sid]

    async def follow(self, pool: asyncpg.Pool, interval_s: float) -> None:
        """Look every `interval_s` until cancelled; a failing look (database away) is retried."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                async with pool.acquire(timeout=5) as conn:
                    await self.look(conn)
            except Exception:
                log.warning("reading ended sessions failed; trying again", exc_info=True)

    async def stop(self) -> None:
        for task in list(self._ending):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
