"""What each connected operator has not yet been sent.

Changes are merged into the operator's mailbox, never queued: a slow operator gets one combined delta with
the latest of everything when its socket drains. The tick wakes the mailboxes that have news; an open safety
alert wakes its mailboxes at once and goes out ahead of the delta.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from backend.alerts.logic import is_urgent
from backend.live.links import SendBytes
from shared.protocol import (
    AlertRaised,
    AlertView,
    AreaAlertView,
    Delta,
    IncidentView,
    Message,
    MessageView,
    TimelineEntry,
    UnitView,
    encoder,
)


@dataclass(slots=True, eq=False)
class OperatorMailbox:
    """What one operator has not yet been sent."""

    org_ids: frozenset[int]
    send: SendBytes
    role: str = "operator"  # the account's role: escalations reach team leads only when the org says so
    units: dict[int, UnitView] = field(default_factory=dict)
    alerts: list[AlertView] = field(default_factory=list)
    urgent: list[AlertView] = field(default_factory=list)
    incidents: dict[int, IncidentView] = field(default_factory=dict)
    timeline: list[TimelineEntry] = field(default_factory=list)
    messages: dict[int, MessageView] = field(default_factory=dict)
    area_alerts: dict[int, AreaAlertView] = field(default_factory=dict)  # by alert id: the latest view
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def has_news(self) -> bool:
        return bool(
            self.units or self.alerts or self.incidents or self.timeline or self.messages or self.area_alerts
        )

    def take_frames(self, now: datetime) -> list[Message]:
        """Empty the mailbox into the frames to send: each urgent alert, then one delta with the rest."""
        frames: list[Message] = [AlertRaised(alert=a) for a in self.urgent]
        self.urgent = []
        if self.has_news():
            frames.append(
                Delta(
                    units=list(self.units.values()),
                    alerts=self.alerts,
                    server_time=now,
                    incidents=list(self.incidents.values()),
                    timeline=self.timeline,
                    messages=list(self.messages.values()),
                    area_alerts=list(self.area_alerts.values()),
                )
            )
            self.units, self.alerts, self.area_alerts = {}, [], {}
            self.incidents, self.timeline, self.messages = {}, [], {}
        return frames


class Mailboxes:
    """Every connected operator's mailbox, with the task that drains it."""

    def __init__(self) -> None:
        self._boxes: set[OperatorMailbox] = set()

    def add(self, org_ids: frozenset[int], send: SendBytes, role: str = "operator") -> OperatorMailbox:
        """Collect changes for a new operator at once; nothing is sent until `activate` (after the
        snapshot)."""
        box = OperatorMailbox(org_ids=org_ids, send=send, role=role)
        self._boxes.add(box)
        return box

    def activate(self, box: OperatorMailbox) -> None:
        box.task = asyncio.create_task(_drain(box), name="operator-sender")

    def remove(self, box: OperatorMailbox) -> None:
        self._boxes.discard(box)
        if box.task is not None:
            box.task.cancel()

    def remove_all(self) -> None:
        for box in list(self._boxes):
            self.remove(box)

    def push_units(self, views: list[UnitView]) -> None:
        """The tick's changed units; every mailbox with news is woken."""
        for box in self._boxes:
            box.units.update((v.unit_id, v) for v in views if v.org_id in box.org_ids)
            if box.has_news():
                box.wake.set()

    def push_alert(self, view: AlertView, *, skip_roles: frozenset[str] = frozenset()) -> None:
        """Open safety alerts go out at once; others ride with the next tick. Consoles of `skip_roles`
        accounts are left out (an escalation the organisation does not send to its team leads)."""
        for box in self._boxes:
            if view.org_id in box.org_ids and box.role not in skip_roles:
                if is_urgent(view):
                    box.urgent.append(view)
                    box.wake.set()
                else:
                    box.alerts.append(view)

    def push_dispatch(
        self,
        org_id: int,
        *,
        incident: IncidentView | None = None,
        timeline: list[TimelineEntry] | None = None,
        message: MessageView | None = None,
    ) -> None:
        """Incident, timeline and message changes ride with the next tick to operators who may see org_id."""
        for box in self._boxes:
            if org_id in box.org_ids:
                if incident is not None:
                    box.incidents[incident.incident_id] = incident
                if timeline:
                    box.timeline.extend(timeline)
                if message is not None:
                    box.messages[message.message_id] = message

    def push_area_alert(self, org_ids: frozenset[int], view: AreaAlertView) -> None:
        """A partner's area alert rides with the next tick to operators who see any of org_ids: once per tick,
        the view that reached the most units (its `unit_ids` only grow; reads of the row may finish out of
        order)."""
        for box in self._boxes:
            if box.org_ids & org_ids:
                held = box.area_alerts.get(view.alert_id)
                if held is None or len(view.unit_ids) >= len(held.unit_ids):
                    box.area_alerts[view.alert_id] = view

    def wake(self, org_id: int) -> None:
        """Send what the operators who may see org_id have now, without waiting for the tick."""
        for box in self._boxes:
            if org_id in box.org_ids:
                box.wake.set()


async def _drain(box: OperatorMailbox) -> None:
    while True:
        await box.wake.wait()
        box.wake.clear()
        for frame in box.take_frames(datetime.now(UTC)):
            try:
                await box.send(encoder.encode(frame))
            except Exception:  # the socket is gone; its handler removes the mailbox
                return
