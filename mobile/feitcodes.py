"""The feitcode catalogue on the tablet: the server's copy when it offers one, else the bundled one.

Searching it is ``shared.feitcodes.search``, the function the server's picker runs too, so offline and online
give the same codes in the same order. Pure: no Kivy, no I/O beyond reading bytes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from shared.feitcodes import Catalogue, decode_catalogue

BUNDLED = Path(__file__).resolve().parents[1] / "backend" / "feitcodes" / "data" / "feitcode_catalogue.json"
EMPTY = Catalogue(version="", valid_from=date.min, source="", entries=())


def load(data: bytes | None = None) -> Catalogue:
    """The catalogue from the server's bytes or, without them, from the bundled file (empty if missing)."""
    if data is None:
        if not BUNDLED.exists():
            return EMPTY
        data = BUNDLED.read_bytes()
    return decode_catalogue(data)
