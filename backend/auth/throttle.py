"""The login throttle: failed logins per account and per client address, counted in PostgreSQL.

PostgreSQL rather than memory because several instances serve the same accounts: a guesser spreading his
attempts over instances meets one count. An attempt on an account is written *before* the password is
checked, so parallel guesses at one account cannot slip past its count while the slow hash runs; a
successful login takes it back and clears the account's count. An address counts failures only, written
after the check: many people behind one NAT logging in at the start of a shift are not locked out by their
own logins in flight. A refusal says when to try again (the oldest failure leaves
the window).
"""

from __future__ import annotations

import math

from backend.db.pool import Conn
from backend.errors import TooManyRequests
from backend.settings import Settings

# Dutch user-visible texts
_ACCOUNT_LOCKED = "te veel mislukte inlogpogingen voor deze gebruiker; probeer het over {s} s opnieuw"
_ADDRESS_LOCKED = "te veel mislukte inlogpogingen vanaf dit adres; probeer het over {s} s opnieuw"


async def begin_attempt(conn: Conn, settings: Settings, username: str, address: str) -> list[int]:
    """Count this attempt against the account and the address; 429 when either is over its limit.

    Returns the ids of the attempt's rows, for :func:`succeeded`.
    """
    window = float(settings.login_window_s)
    await conn.execute(
        "DELETE FROM login_attempts WHERE at < clock_timestamp() - make_interval(secs => $1)", window
    )
    checks = (
        ("account", username, settings.login_failures_per_account, _ACCOUNT_LOCKED, "username"),
        ("address", address, settings.login_failures_per_address, _ADDRESS_LOCKED, None),
    )
    ids: list[int] = []
    for scope, key, limit, text, field in checks:
        row_id: int = 2**62  # the address: its failures so far; nothing is written for it yet
        if scope == "account":
            row_id = await conn.fetchval(
                "INSERT INTO login_attempts (scope, key) VALUES ($1, $2) RETURNING id", scope, key
            )
            ids.append(row_id)
        # the attempts before this one, within the window, and how long until the oldest of them leaves it
        row = await conn.fetchrow(
            """SELECT count(*) AS n,
                      extract(epoch FROM min(at) + make_interval(secs => $4) - clock_timestamp()) AS wait_s
               FROM login_attempts
               WHERE scope = $1 AND key = $2 AND id < $3
                 AND at >= clock_timestamp() - make_interval(secs => $4)""",
            scope,
            key,
            row_id,
            window,
        )
        assert row is not None
        if row["n"] >= limit:
            # a refused attempt does not count: the lock ends when the window has passed, not never
            await conn.execute("DELETE FROM login_attempts WHERE id = ANY($1::bigint[])", ids)
            wait = max(1, math.ceil(float(row["wait_s"] or 1)))
            raise TooManyRequests(text.format(s=wait), retry_after_s=wait, field=field or "address")
    return ids


async def failed(conn: Conn, address: str) -> None:
    """A wrong password: it counts against the address too (the account's attempt stays counted)."""
    await conn.execute("INSERT INTO login_attempts (scope, key) VALUES ('address', $1)", address)


async def succeeded(conn: Conn, username: str, attempt_ids: list[int]) -> None:
    """A good password: this attempt does not count, and the account's earlier failures are forgiven."""
    await conn.execute(
        "DELETE FROM login_attempts WHERE id = ANY($1::bigint[]) OR (scope = 'account' AND key = $2)",
        attempt_ids,
        username,
    )
