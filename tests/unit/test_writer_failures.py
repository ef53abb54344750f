"""Which failed writes are the database being away (retry the batch) and which are a frame at fault (split
the batch to find it)."""

from __future__ import annotations

import asyncpg
import pytest

from backend.live.writer import is_transient


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"), True),
        (asyncpg.InterfaceError("cannot perform operation: another operation is in progress"), True),
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), True),
        (asyncpg.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.TooManyConnectionsError("too many clients"), True),
        (asyncpg.DeadlockDetectedError("deadlock detected"), True),
        (asyncpg.DiskFullError("could not extend file"), True),
        # the frame's fault
        (asyncpg.exceptions._base.DataError("invalid input for $5: value out of float32 range"), False),
        (asyncpg.CharacterNotInRepertoireError("invalid byte sequence for encoding UTF8: 0x00"), False),
        (asyncpg.NumericValueOutOfRangeError("value out of range"), False),
        (asyncpg.RaiseError("injected failure"), False),
        (asyncpg.ForeignKeyViolationError("violates foreign key constraint"), False),
        (OverflowError("date value out of range"), False),
        (ValueError("bad"), False),
    ],
)
def test_is_transient(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient
