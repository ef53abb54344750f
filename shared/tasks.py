"""The life of a meldkamer task: its states, which moves a device may make, and what a move implies.

The backend enforces it when a tablet reports progress (``TaskUpdated``); the tablet offers only the next step
it allows; the bridge reads the timeline lines back. One definition, so they cannot drift apart. The states
themselves are the wire enum ``shared.protocol.TaskState``.
"""

from __future__ import annotations

from shared.protocol import TaskState, UnitStatus

ACTIVE_TASK_STATES = frozenset(
    {TaskState.ASSIGNED, TaskState.ACCEPTED, TaskState.EN_ROUTE, TaskState.ON_SCENE}
)
FINAL_TASK_STATES = frozenset({TaskState.DONE, TaskState.DECLINED, TaskState.CANCELLED})
"""A task in one of these stays there."""

DEVICE_TASK_STATES = frozenset(
    {TaskState.ACCEPTED, TaskState.EN_ROUTE, TaskState.ON_SCENE, TaskState.DONE, TaskState.DECLINED}
)
"""What a device may report; assigning and cancelling are the meldkamer's."""

NEXT_STEP = {
    TaskState.ASSIGNED: TaskState.ACCEPTED,
    TaskState.ACCEPTED: TaskState.EN_ROUTE,
    TaskState.EN_ROUTE: TaskState.ON_SCENE,
    TaskState.ON_SCENE: TaskState.DONE,
}
"""The step the tablet offers next (accept → aanrijdend → ter plaatse → afgerond); a duo may skip steps."""

IMPLIED_UNIT_STATUS = {
    TaskState.EN_ROUTE: UnitStatus.EN_ROUTE,
    TaskState.ON_SCENE: UnitStatus.ON_SCENE,
    TaskState.DONE: UnitStatus.AVAILABLE,
}
"""The unit status a task state implies; states not listed leave the status alone."""

TASK_STATE_LABELS = {
    TaskState.ASSIGNED: "opdracht verstrekt",
    TaskState.ACCEPTED: "geaccepteerd",
    TaskState.EN_ROUTE: "aanrijdend",
    TaskState.ON_SCENE: "ter plaatse",
    TaskState.DONE: "afgerond",
    TaskState.DECLINED: "geweigerd",
    TaskState.CANCELLED: "geannuleerd",
}
"""How the incident timeline writes a state ("HH-03: aanrijdend"); the bridge reads these lines back."""


def task_transition_allowed(current: TaskState, new: TaskState) -> bool:
    """A finished task stays finished; a device may not put a task back to 'assigned' or cancel it."""
    if current in FINAL_TASK_STATES or current == new:
        return False
    return new in DEVICE_TASK_STATES
