"""Database ids with their range in the type: a value outside it names no row, so it is refused where it is
decoded (400 naming the field) instead of reaching PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import msgspec

INT4_MAX = 2**31 - 1  # serial: organisations, accounts, units, devices, beats, shifts, ...
INT8_MAX = 2**63 - 1  # bigserial: incidents, tasks, messages, ...

Id = Annotated[int, msgspec.Meta(ge=1, le=INT4_MAX)]
BigId = Annotated[int, msgspec.Meta(ge=1, le=INT8_MAX)]
