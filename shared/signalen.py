"""Bodies of the Signalen API (`/api/signalen/...`), shared by the backend and the tablet."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

CategoryPath = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9-]{1,100}/[a-z0-9-]{1,100}$")]  # main/sub slug
Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9-]{1,100}$")]


class Observation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a boa saw for another department (a broken lamp, a full container), filed once per event id."""

    event_id: uuid.UUID  # made on the tablet: a resend of the same observation files nothing twice
    category: CategoryPath  # the Signalen category, "main_slug/sub_slug"
    text: Annotated[str, msgspec.Meta(min_length=3, max_length=2000)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]


class HistoryLine(msgspec.Struct, frozen=True, kw_only=True):
    identifier: str
    at: datetime
    action: str
    description: str = ""


class ObservationView(msgspec.Struct, frozen=True, kw_only=True):
    event_id: uuid.UUID
    category: str
    text: str
    lon: float
    lat: float
    created_at: datetime
    signal_id: int | None  # None until Signalen made the signal
    state: str  # Signalen's state code ('' until filed; m gemeld, b in behandeling, o afgehandeld, ...)
    state_text: str  # its Dutch display text
    last_error: str  # why filing or following is waiting, if it is
    history: list[HistoryLine] = []


class CategoryMapping(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    category_slug: Slug  # Signalen's sub category slug
    domain: Annotated[int, msgspec.Meta(ge=1, le=6)] = 1  # the boa domain the melding needs
    priority: Annotated[int, msgspec.Meta(ge=1, le=3)] | None = None  # None: from the signal's priority


class SyncStatus(msgspec.Struct, frozen=True, kw_only=True):
    configured: bool
    created_after: datetime | None
    polled_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    meldingen: int  # meldingen made from signals
    updates_waiting: int  # status/notes not yet taken by Signalen
    updates_refused: int  # refused for good by Signalen (the reason is on the row)
    observations_waiting: int
