"""What the screen presenters need from the rest of the app, as small interfaces.

A presenter is handed exactly these (plus the API client and the outbox) by the composition root,
`mobile.presenters.app`; it never sees that root nor its sibling presenters. What one presenter must tell
another goes through a callback the root wires, so each can be built and tested on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol

from shared.protocol import ManDownTrigger, SequencedFrame, TaskState, UnitStatus

# Run a coroutine on the app's loop (keeping a reference until it is done); returns its task.
Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]
# Keep what the presenters hold (tasks, status, the noodknop on screen) across an app restart.
Save = Callable[[], None]


class FrameSender(Protocol):
    """The field link as the presenters use it: each frame goes into the outbox at once, and out when online.

    Without a session (logged out) there is no link: `linked` is False and frames are dropped.
    """

    @property
    def linked(self) -> bool: ...

    @property
    def online(self) -> bool: ...

    def status(self, status: UnitStatus, at: datetime) -> None: ...

    def noodknop(
        self, at: datetime, lon: float | None, lat: float | None, *, silent: bool = False
    ) -> None: ...

    def man_down(
        self, at: datetime, trigger: ManDownTrigger, lon: float | None, lat: float | None
    ) -> None: ...

    def checkin(self, at: datetime, next_due: datetime | None) -> None:
        """Start or move the server's check-in timer (`next_due`), or stop it (None)."""

    def position(
        self,
        lon: float,
        lat: float,
        at: datetime,
        *,
        late: bool,
        accuracy_m: float | None,
        speed_mps: float | None,
        heading_deg: float | None,
    ) -> None: ...

    def task_update(self, task_id: int, state: TaskState, at: datetime, note: str = "") -> None: ...

    def message_read(self, message_id: int, at: datetime) -> None: ...

    def requeue(self, frame: SequencedFrame) -> None:
        """Send a frame the server refused again, under a new seq."""

    def kick(self) -> None:
        """Reconnect now rather than after the backoff."""


class LocationSource(Protocol):
    """The latest GPS fix (Kivy properties: bind to follow them)."""

    lon: float
    lat: float
    accuracy_m: float  # -1 when unknown
    has_fix: bool
    track: list[tuple[float, float]]  # recent (lon, lat) of this shift

    def bind(self, **handlers: Callable[..., Any]) -> None: ...


# Seconds since some fixed point (time.time in the app; a plain counter in tests): what the alarm timers read.
Clock = Callable[[], float]


class Accelerometer(Protocol):
    """Acceleration in m/s² along the device's x, y, z axes (gravity included): plyer on Android, a simulated
    sensor on a desktop. `start` calls `sample(x, y, z)` on the event loop, a few times a second."""

    def start(self, sample: Callable[[float, float, float], None]) -> None: ...

    def stop(self) -> None: ...
