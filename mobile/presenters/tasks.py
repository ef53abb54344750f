"""Tasks and messages from the meldkamer: an alarm, then accept, aanrijdend, ter plaatse, afgerond (or
weigeren, with a reason).

The list shows open tasks first (priority, then newest first), the finished ones folded under "Afgerond". The
meldkamer's notices stack as banners, newest on top; a notice goes when it has done its job (its task is
accepted, finished, declined or dismissed, or the boa taps it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from kivy.event import EventDispatcher
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty

from mobile.i18n import t
from mobile.presenters.ports import FrameSender, Save
from mobile.state import SavedState
from shared.protocol import AreaAlert, TaskAssigned, TaskCancelled, TaskState, TextMessage
from shared.tasks import FINAL_TASK_STATES, IMPLIED_UNIT_STATUS, NEXT_STEP

MAX_MESSAGES = 50  # the newest are kept (and shown)
MAX_BANNERS = 2  # shown at once, newest first; more are counted in one line (room for the forms)
DESCRIPTION_CHARS = 150  # about two lines of a task row; longer descriptions fold, a tap shows them whole
LINE_CHARS = 70  # characters on one line of a row's text at 20sp (for the height of an unfolded row)
ROW_DP = 196  # a task row's height with a folded description
LINE_DP = 30
# the reasons a boa most often gives for declining (one tap), or a typed one
DECLINE_REASONS = ("decline.busy", "decline.far", "decline.not_mine")

# the button for the next step (shared.tasks.NEXT_STEP says which step that is)
STEP_LABEL = {
    TaskState.ACCEPTED: "tasks.accept",
    TaskState.EN_ROUTE: "tasks.en_route",
    TaskState.ON_SCENE: "tasks.on_scene",
    TaskState.DONE: "tasks.done",
}


class TasksPresenter(EventDispatcher):  # type: ignore[misc]
    __events__ = ("on_alarm",)

    rows = ListProperty(
        []
    )  # one dict per task: open first (priority, newest first), then finished, newest first
    view_rows = ListProperty(
        []
    )  # what the list shows: open rows, the "Afgerond (n)" fold, finished when unfolded
    open_count = NumericProperty(0)
    show_done = BooleanProperty(False)  # the finished tasks unfolded
    banners = ListProperty(
        []
    )  # [{"key", "text"}]: the meldkamer's notices, newest first, at most MAX_BANNERS
    banners_more = StringProperty("")  # "+ 2 meldingen" when more are waiting
    banner = StringProperty("")  # the newest notice (the first of banners), "" when none
    declining = NumericProperty(0)  # the task whose decline reason is being asked, 0: none
    decline_title = StringProperty("")
    decline_reason = StringProperty("")
    decline_reasons = ListProperty([])  # the one-tap reasons
    decline_error = StringProperty("")
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
        self.expanded: set[int] = set()  # rows whose whole description is shown
        self._notices: dict[str, str] = {}  # key -> text, in insertion order (oldest first)
        self.decline_reasons = [t(r) for r in DECLINE_REASONS]

    def on_alarm(self, *_: object) -> None:
        """Default handler; the view plays a sound."""

    def received(self, frame: msgspec.Struct) -> None:
        if isinstance(frame, TaskAssigned):
            if frame.task_id in self.tasks:
                return  # sent again after a reconnect until accepted: one task, one alarm
            self.tasks[frame.task_id] = {"task": frame, "state": TaskState.ASSIGNED}
            self._notify(f"task:{frame.task_id}", t("tasks.new", title=frame.title))
            self.dispatch("on_alarm", frame.priority)
        elif isinstance(frame, TaskCancelled):
            entry = self.tasks.get(frame.task_id)
            if entry is None or entry["state"] in FINAL_TASK_STATES:
                return
            entry["state"] = TaskState.CANCELLED
            entry["reason"] = frame.reason
            self._notify(  # replaces the task's "Nieuwe taak" notice
                f"task:{frame.task_id}",
                t("tasks.cancelled_banner", title=entry["task"].title)
                + ("  —  " + t("tasks.reason", reason=frame.reason) if frame.reason else ""),
            )
            if self.declining == frame.task_id:
                self.cancel_decline()
        elif isinstance(frame, TextMessage):
            if any(m.message_id == frame.message_id for m in self.messages):
                return  # sent again after a reconnect before our message_read was durable
            self.messages = [frame, *self.messages][:MAX_MESSAGES]
            self._notify(
                f"message:{frame.message_id}", t("tasks.message", sender=frame.sender, text=frame.text)
            )
            # "delivered" for the operator; goes through the outbox like every frame
            self._frames.message_read(frame.message_id, datetime.now(UTC))
            self.dispatch("on_alarm", 3)
        elif isinstance(frame, AreaAlert):
            self._notify(f"alert:{frame.alert_id}", t("tasks.alert", headline=frame.headline))
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
        self.expanded.clear()
        self.cancel_decline()
        self.clear_banner()
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
        self._drop_notice(f"task:{task_id}")  # the boa has it: its "Nieuwe taak" notice has done its job
        if step in IMPLIED_UNIT_STATUS:
            self._choose_status(IMPLIED_UNIT_STATUS[step].value)
        self._rebuild()

    def dismiss(self, task_id: int) -> None:
        entry = self.tasks.get(task_id)
        if entry is not None and entry["state"] in FINAL_TASK_STATES:
            del self.tasks[task_id]
            self.expanded.discard(task_id)
            self._drop_notice(f"task:{task_id}")
            self._rebuild()

    def toggle_description(self, task_id: int) -> None:
        """A tap on a row's description: show it whole, or fold it again."""
        if task_id in self.expanded:
            self.expanded.discard(task_id)
        elif task_id in self.tasks:
            self.expanded.add(task_id)
        self._rebuild(save=False)

    def toggle_done(self) -> None:
        self.show_done = not self.show_done
        self._rebuild(save=False)

    # --- weigeren -------------------------------------------------------------------------------------------

    def start_decline(self, task_id: int) -> None:
        """ "Weigeren": ask why (one tap on a usual reason, or typed) before anything goes out."""
        entry = self.tasks.get(task_id)
        if entry is None or entry["state"] in FINAL_TASK_STATES:
            return
        self.declining = task_id
        self.decline_title = t("decline.title", title=entry["task"].category or entry["task"].title)
        self.decline_reason = ""
        self.decline_error = ""

    def cancel_decline(self) -> None:
        self.declining = 0
        self.decline_title = self.decline_reason = self.decline_error = ""

    def decline(self, reason: str | None = None) -> bool:
        """Decline the task being asked about with `reason` (or the typed one); the meldkamer sees the reason
        on the melding's timeline ("HH-01: geweigerd — reden")."""
        task_id = self.declining
        entry = self.tasks.get(task_id)
        text = (reason if reason is not None else self.decline_reason).strip()
        if entry is None or entry["state"] in FINAL_TASK_STATES:
            self.cancel_decline()
            return False
        if not text:
            self.decline_error = t("decline.need_reason")
            return False
        if not self._frames.linked:
            self.decline_error = t("decline.offline")
            return False
        self._frames.task_update(task_id, TaskState.DECLINED, datetime.now(UTC), text)
        entry["state"] = TaskState.DECLINED
        entry["reason"] = text
        self._drop_notice(f"task:{task_id}")
        self.cancel_decline()
        self._rebuild()
        return True

    # --- banners --------------------------------------------------------------------------------------------

    def _notify(self, key: str, text: str) -> None:
        self._notices.pop(key, None)
        self._notices[key] = text  # newest last in the dict, first on screen
        self._banners()

    def _drop_notice(self, key: str) -> None:
        if self._notices.pop(key, None) is not None:
            self._banners()

    def _banners(self) -> None:
        newest = [{"key": k, "text": v} for k, v in reversed(self._notices.items())]
        self.banners = newest[:MAX_BANNERS]
        extra = len(newest) - MAX_BANNERS
        self.banners_more = t("tasks.more_banners", count=extra) if extra > 0 else ""
        self.banner = newest[0]["text"] if newest else ""

    def _row(self, task_id: int, entry: dict[str, Any]) -> dict[str, Any]:
        task: TaskAssigned = entry["task"]
        state: TaskState = entry["state"]
        step = NEXT_STEP.get(state)
        # the server's title repeats priority and address, which the row shows apart
        title = task.category or task.title
        priority = t("tasks.priority", priority=task.priority)
        closed = state in FINAL_TASK_STATES
        description = task.description.strip()
        folds = len(description) > DESCRIPTION_CHARS
        expanded = task_id in self.expanded
        if folds and not expanded:
            shown = (
                description[:DESCRIPTION_CHARS].rsplit(" ", 1)[0].rstrip(" ,.;:") + " …  " + t("tasks.more")
            )
        elif folds:
            shown = description + "  " + t("tasks.less")
        else:
            shown = description
        lines = max(2, -(-len(shown) // LINE_CHARS)) if expanded else 2
        return {
            "viewclass": "TaskRow",
            "task_id": task_id,
            "title": title,
            "priority": priority,
            "heading": f"{priority}  ·  {title}",
            "urgent": task.priority == 1,
            "where": task.address or (f"{task.lat:.5f}, {task.lon:.5f}" if task.lat is not None else ""),
            "description": shown,
            "full_description": description,
            "folds": folds,
            "expanded": expanded,
            "state": t(f"tasks.state.{state.value}")
            + ("  —  " + t("tasks.reason", reason=entry["reason"]) if entry.get("reason") else ""),
            "action": t(STEP_LABEL[step]) if step else "",
            "can_decline": not closed,
            "closed": closed,
            "size": (None, dp(ROW_DP + LINE_DP * (lines - 2))),
        }

    def _rebuild(self, *, save: bool = True) -> None:
        open_ids = sorted(
            (k for k, e in self.tasks.items() if e["state"] not in FINAL_TASK_STATES),
            key=lambda k: (self.tasks[k]["task"].priority, -k),  # a higher task id is a newer task
        )
        done_ids = sorted((k for k in self.tasks if k not in open_ids), reverse=True)
        open_rows = [self._row(k, self.tasks[k]) for k in open_ids]
        done_rows = [self._row(k, self.tasks[k]) for k in done_ids]
        self.rows = [*open_rows, *done_rows]
        fold = []
        if done_rows:
            fold = [
                {
                    "viewclass": "DoneFold",
                    "text": t(
                        "tasks.done_fold_open" if self.show_done else "tasks.done_fold", count=len(done_rows)
                    ),
                    "size": (None, dp(64)),
                }
            ]
        self.view_rows = [*open_rows, *fold, *(done_rows if self.show_done else [])]
        self.title = t("tasks.title") if self.rows else t("tasks.none")
        self.open_count = len(open_rows)
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
        self._notices.clear()
        self._banners()

    def open_from_banner(self, key: str | None = None) -> None:
        """The boa tapped a notice (the newest when `key` is None): show the tasks and messages; that notice
        has done its job, the others stay."""
        if key is None and self._notices:
            key = next(reversed(self._notices))
        if key is not None:
            self._drop_notice(key)
        self._show()
