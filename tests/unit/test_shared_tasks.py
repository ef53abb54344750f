"""The task state machine the backend enforces, the tablet steps through and the bridge reads back."""

from __future__ import annotations

import itertools

from shared.protocol import TaskState
from shared.tasks import (
    ACTIVE_TASK_STATES,
    DEVICE_TASK_STATES,
    FINAL_TASK_STATES,
    IMPLIED_UNIT_STATUS,
    NEXT_STEP,
    TASK_STATE_LABELS,
    task_transition_allowed,
)


def test_every_state_is_either_active_or_final() -> None:
    assert ACTIVE_TASK_STATES | FINAL_TASK_STATES == set(TaskState)
    assert not ACTIVE_TASK_STATES & FINAL_TASK_STATES


def test_the_tablets_steps_are_allowed_and_lead_from_assigned_to_done() -> None:
    state, walked = TaskState.ASSIGNED, []
    while state in NEXT_STEP:
        step = NEXT_STEP[state]
        assert task_transition_allowed(state, step), (state, step)
        walked.append(step)
        state = step
    assert walked == [TaskState.ACCEPTED, TaskState.EN_ROUTE, TaskState.ON_SCENE, TaskState.DONE]
    assert not NEXT_STEP.keys() & FINAL_TASK_STATES  # a finished task offers no button


def test_no_move_leaves_a_final_state_and_a_device_never_assigns_or_cancels() -> None:
    for current, new in itertools.product(TaskState, repeat=2):
        allowed = task_transition_allowed(current, new)
        if current in FINAL_TASK_STATES or new in (TaskState.ASSIGNED, TaskState.CANCELLED) or current == new:
            assert not allowed, (current, new)
        else:
            assert allowed == (new in DEVICE_TASK_STATES), (current, new)


def test_only_reported_states_imply_a_unit_status() -> None:
    assert IMPLIED_UNIT_STATUS.keys() <= DEVICE_TASK_STATES


def test_each_state_has_its_own_timeline_label() -> None:
    """The bridge reads "HH-03: <label>" back into a state: two states with one label would be confused."""
    assert set(TASK_STATE_LABELS) == set(TaskState)
    assert len(set(TASK_STATE_LABELS.values())) == len(TASK_STATE_LABELS)
