"""Tasks and messages from the meldkamer: an alarm, then accept, aanrijdend, ter plaatse, afgerond."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from kivy.event import EventDispatcher
from kivy.properties import ListProperty, NumericProperty, StringProperty

from mobile.i18n import t
from mobile.presenters.ports import FrameSender, Save
from mobile.state import SavedState
from shared.protocol import AreaAlert, TaskAssigned, TaskCancelled, TaskState, TextMessage
from shared.tasks import FINAL_TASK_STATES, IMPLIED_UNIT_STATUS, NEXT_STEP

MAX_MESSAGES = 50  # the newest are kept (and shown)

# the button for the next step (shared.tasks.NEXT_STEP says which step that is)
STEP_LABEL = {
    TaskState.ACCEPTED: "tasks.accept",
    TaskState.EN_ROUTE: "tasks.en_route",
    TaskState.ON_SCENE: "tasks.on_scene",
    TaskState.DONE: "tasks.done",
}


class TasksPresenter(EventDispatcher):  # type: ignore[misc]
    __events__ = ("on_alarm",)

    rows = ListProperty([])  # one dict per task, ready for the view
    open_count = NumericProperty(0)
    banner = StringProperty("")  # the latest message or area alert
    messages = ListProperty([])  # TextMessage frames, newest first
    message_rows = ListProperty([])  # one dict per message, ready for the view
    title = StringProperty(t("tasks.none"))
    messages_caption = StringProperty("")

    def __init__(
        self,
        frames: FrameSender,
        *,
        save: Save,
        choose_status: Callable[[str], None],
        show: Callable[[], None],
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self._frames = frames
        self._save = save  # kept in state.json: an accepted task survives a restart
        self._choose_status = choose_status  # a step of a task is also the unit's status
        self._show = show  # bring the tasks screen up
        self.tasks: dict[int, dict[str, Any]] = {}

    def on_alarm(self, *_: object) -> None:
        """Default handler; the view plays a sound."""

    def received(self, frame: msgspec.Struct) -> None:
        if isinstance(frame, TaskAssigned):
            if frame.task_id in self.tasks:
                return  # sent again after a reconnect until accepted: one task, one alarm
            self.tasks[frame.task_id] = {"task": frame, "state": TaskState.ASSIGNED}
            self.banner = t("tasks.new", title=frame.title)
            self.dispatch("on_alarm", frame.priority)
        elif isinstance(frame, TaskCancelled):
            entry = self.tasks.get(frame.task_id)
            if entry is None or entry["state"] in FINAL_TASK_STATES:
                return
            entry["state"] = TaskState.CANCELLED
            entry["reason"] = frame.reason
            self.banner = t("tasks.cancelled_banner", title=entry["task"].title) + (
                "  —  " + t("tasks.reason", reason=frame.reason) if frame.reason else ""
            )
        elif isinstance(frame, TextMessage):
            if any(m.message_id == frame.message_id for m in self.messages):
                return  # sent again after a reconnect before our message_read was durable
            self.messages = [frame, *self.messages][:MAX_MESSAGES]
            self.banner = t("tasks.message", sender=frame.sender, text=frame.text)
            # "delivered" for the operator; goes through the outbox like every frame
            self._frames.message_read(frame.message_id, datetime.now(UTC))
            self.dispatch("on_alarm", 3)
        elif isinstance(frame, AreaAlert):
            self.banner = t("tasks.alert", headline=frame.headline)
            self.dispatch("on_alarm", 1)
        else:
            return
        self._rebuild()

    def restore(self, state: SavedState) -> None:
        """After a restart: the tasks and messages the app had (the server resends only part of them)."""
        self.tasks = {
            s.task.task_id: {"task": s.task, "state": s.state, "reason": s.reason} for s in state.tasks
        }
        self.messages = list(state.messages)
        self._rebuild(save=False)

    def shift_ended(self) -> None:
        """Finished tasks and the messages go; a task still open stays (the server still has it)."""
        self.tasks = {k: e for k, e in self.tasks.items() if e["state"] not in FINAL_TASK_STATES}
        self.messages = []
        self.banner = ""
        self._rebuild()

    def advance(self, task_id: int) -> None:
        """Report the next step of a task (accept → aanrijdend → ter plaatse → afgerond)."""
        entry = self.tasks.get(task_id)
        if entry is None or not self._frames.linked or entry["state"] not in NEXT_STEP:
            return
        step = NEXT_STEP[entry["state"]]
        now = datetime.now(UTC)
        self._frames.task_update(task_id, step, now)
        entry["state"] = step
        if step in IMPLIED_UNIT_STATUS:
            self._choose_status(IMPLIED_UNIT_STATUS[step].value)
        self._rebuild()

    def dismiss(self, task_id: int) -> None:
        entry = self.tasks.get(task_id)
        if entry is not None and entry["state"] in FINAL_TASK_STATES:
            del self.tasks[task_id]
            self._rebuild()

    def _rebuild(self, *, save: bool = True) -> None:
        rows = []
        for task_id, entry in sorted(self.tasks.items(), key=lambda kv: (kv[1]["task"].priority, kv[0])):
            task: TaskAssigned = entry["task"]
            state: TaskState = entry["state"]
            step = NEXT_STEP.get(state)
            # the server's title repeats priority and address, which the row shows apart
            title = task.category or task.title
            priority = t("tasks.priority", priority=task.priority)
            rows.append(
                {
                    "task_id": task_id,
                    "title": title,
                    "priority": priority,
                    "heading": f"{priority}  ·  {title}",
                    "urgent": task.priority == 1,
                    "where": task.address
                    or (f"{task.lat:.5f}, {task.lon:.5f}" if task.lat is not None else ""),
                    "description": task.description,
                    "state": t(f"tasks.state.{state.value}")
                    + ("  —  " + t("tasks.reason", reason=entry["reason"]) if entry.get("reason") else ""),
                    "action": t(STEP_LABEL[step]) if step else "",
                    "closed": state in FINAL_TASK_STATES,
                }
            )
        self.rows = rows
        self.title = t("tasks.title") if rows else t("tasks.none")
        self.open_count = sum(1 for r in rows if not r["closed"])
        self.message_rows = [
            {
                "text": m.text,
                "meta": t(
                    "tasks.message_meta", sender=m.sender, time=m.sent_at.astimezone().strftime("%H:%M")
                ),
            }
            for m in self.messages
        ]
        self.messages_caption = t("tasks.messages") if self.message_rows else ""
        if save:
            self._save()

    def clear_banner(self) -> None:
        self.banner = ""

    def open_from_banner(self) -> None:
        """The boa tapped the notice: show the tasks and messages; the notice has done its job."""
        self.clear_banner()
        self._show()
