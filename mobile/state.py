"""What survives an app restart besides the outbox: session, the tablet's enrolment, open shift, tasks,
messages, the noodknop.

One JSON file, replaced atomically; the presenters do not know it exists: they are handed a `save` callback
and the composition root (`mobile.presenters.app`) gathers what to keep.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

import msgspec

from mobile.api import Session
from shared.protocol import TaskAssigned, TaskState, TextMessage
from shared.rooster import PlannedShiftView


class SavedShift(msgspec.Struct, kw_only=True):
    shift_id: int
    call_sign: str
    beat_ids: list[int]


class SavedTask(msgspec.Struct, kw_only=True):
    task: TaskAssigned
    state: TaskState
    reason: str = ""


class SavedEnrolment(msgspec.Struct, kw_only=True):
    """The tablet's device id and the enrolment secret it was first logged in with (asked once)."""

    device_id: int
    device_secret: str


class SavedState(msgspec.Struct, kw_only=True):
    """What survives an app restart besides the outbox: the (device-bound) session and the open shift."""

    session: Session | None = None
    enrolment: SavedEnrolment | None = None  # kept across logouts: the next login needs no koppelcode
    shift: SavedShift | None = None
    status: str = ""  # the status the boa last chose, shown again after a restart
    # the server resends only tasks not yet accepted and messages not yet delivered: keep what we have
    tasks: list[SavedTask] = []
    messages: list[TextMessage] = []
    noodknop_at: datetime | None = None  # the alarm on screen (not yet closed by the boa)
    noodknop_kind: str = "noodknop"  # ... a noodknop or a man-down
    checkin_due: datetime | None = None  # working alone: the next check-in
    checkin_minutes: int = 30
    # Mijn diensten, as last fetched (shown offline with its time); whose it is, so another boa sees none
    rooster: list[PlannedShiftView] = []
    rooster_at: datetime | None = None
    rooster_account: int | None = None


class StateFile:
    """The saved state on disk (readable by this user only: it holds the session's tokens)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> SavedState | None:
        if not self.path.exists():
            return None
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=SavedState)
        except msgspec.DecodeError:
            return None

    def save(self, state: SavedState) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(msgspec.json.encode(state))
        tmp.replace(self.path)
        with contextlib.suppress(OSError):
            self.path.chmod(0o600)
