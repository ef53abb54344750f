"""The outbox screen: every unsent item with its state and, when it failed, why; retry or discard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import ListProperty, NumericProperty, StringProperty

from mobile.i18n import t
from mobile.outbox import FAILED, SILENT, Outbox
from mobile.presenters.ports import FrameSender


class OutboxPresenter(EventDispatcher):  # type: ignore[misc]
    rows = ListProperty([])
    waiting = NumericProperty(0)
    failed = NumericProperty(0)
    summary = StringProperty(t("outbox.empty"))

    def __init__(self, outbox: Outbox, frames: FrameSender, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._outbox = outbox
        self._frames = frames  # a refused frame is retried over the link

    def refresh(self) -> None:
        items = self._outbox.items()
        rows: list[dict[str, Any]] = []
        positions = [i for i in items if i.kind == "position" and i.state != FAILED]
        for item in items:
            if item.kind == SILENT:
                continue  # the silent noodknop shows nowhere on the tablet
            if item.kind == "position" and item.state != FAILED:
                continue  # hundreds of positions are one line, not hundreds
            label = f"{t('outbox.kind.' + item.kind)}  {self._summary(item.kind, item.summary)}"
            rows.append(
                {
                    "item_id": item.id,
                    "title": label.strip(),
                    "when": datetime.fromtimestamp(item.created_at).strftime("%H:%M:%S"),
                    "state": t(f"outbox.state.{item.state}"),
                    "failed": item.state == FAILED,
                    "reason": t("outbox.reason", reason=item.reason) if item.reason else "",
                    "urgent": item.kind in ("noodknop", "man_down"),
                }
            )
        if positions:
            state = "sending" if any(p.state == "sending" for p in positions) else "pending"
            rows.append(
                {
                    "item_id": 0,
                    "title": t("outbox.positions", count=len(positions)),
                    "when": datetime.fromtimestamp(positions[0].created_at).strftime("%H:%M:%S"),
                    "state": t(f"outbox.state.{state}"),
                    "failed": False,
                    "reason": "",
                    "urgent": False,
                }
            )
        for row in rows:
            row["heading"] = f"{row['when']}   {row['title']}"
            row["detail"] = row["state"] + (f"   {row['reason']}" if row["reason"] else "")
        rows.sort(key=lambda r: (not r["urgent"], not r["failed"]))
        self.rows = rows
        self.waiting = len(items)
        self.failed = sum(1 for i in items if i.state == FAILED)
        self.summary = t("outbox.empty") if not items else t("link.waiting", count=len(items))

    @staticmethod
    def _summary(kind: str, summary: str) -> str:
        if kind in ("status", "task_update") and summary:
            key = f"status.{summary}" if kind == "status" else f"tasks.state.{summary}"
            return t(key)
        return summary

    def retry(self, item_id: int) -> None:
        outbox = self._outbox
        kind = next((i.channel for i in outbox.items() if i.id == item_id), None)
        if kind == "http":
            outbox.retry_request(item_id)
        elif kind == "frame" and self._frames.linked:
            self._frames.requeue(outbox.take_failed_frame(item_id))
        self.refresh()

    def discard(self, item_id: int) -> None:
        self._outbox.discard(item_id)
        self.refresh()
