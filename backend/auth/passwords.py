"""Password hashing with Argon2id (argon2-cffi), off the event loop.

Argon2 is made to be slow (tens of milliseconds of CPU and 64 MiB per hash). Run on the event loop, a handful
of parallel logins stalls every socket of the instance, tablets' acks included. The async functions here run
the hash in a small executor of its own: argon2-cffi releases the GIL while it hashes, and one thread fewer
than the machine has cores keeps a login flood from taking every core (the event loop and PostgreSQL keep one)
or every thread of the default executor that other work shares. (They keep the process's CPU priority: at
nice +10 on a machine busy with other processes, measured under `schakel bench chaos` at load 16-18, a
login flood's hashes starved for minutes and the bridge's own login with them.)

`login_slot` lets a few logins in at a time (`LOGINS_AT_ONCE`); the rest wait before touching the database,
so a flood of parallel logins can neither empty the shared pool (measured under `schakel bench chaos`: 24
parallel logins kept every pool connection busy for seconds) nor queue hundreds of hashes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the account does not exist, so a missing user costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("schakel-dummy-password")
LOGINS_AT_ONCE = 3

_executor = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1), thread_name_prefix="argon2")
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def login_slot() -> AsyncIterator[None]:
    """One of the LOGINS_AT_ONCE places for work that checks a password (per event loop)."""
    loop = asyncio.get_running_loop()
    gate = _slots.get(loop)
    if gate is None:
        gate = _slots[loop] = asyncio.Semaphore(LOGINS_AT_ONCE)
    async with gate:
        yield


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_off_loop(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_executor, hash_password, password)


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, verify_password, password_hash, password)
