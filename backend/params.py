"""Ids in paths and query strings, with their range (shared/ids.py) as Litestar parameter constraints.

Litestar 2.25 does not apply ``msgspec.Meta`` bounds to path and query parameters, only
``Parameter(ge=, le=)``, so these carry the same range that way: id 0 or 2**63 is a 400 naming the parameter.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from shared.ids import INT4_MAX, INT8_MAX

PathId = Annotated[int, Parameter(ge=1, le=INT4_MAX)]
QueryId = Annotated[int | None, Parameter(ge=1, le=INT4_MAX)]
PathBigId = Annotated[int, Parameter(ge=1, le=INT8_MAX)]
