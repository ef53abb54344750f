"""The feitcode catalogue on disk: which offence codes a boa may write, with (historic) tariffs, per track.

Three tracks exist (DOMAIN.md, "Fines"): ``om_strafbeschikking`` and ``bestuurlijke_boete`` for APV overlast
(a gemeente uses one of the two) and ``mulder`` (WAHV, parking and traffic). The catalogue is one dated,
versioned JSON file built from the legal tables in ``data/feitcodes/`` (see its NOTICE.md) by
:mod:`backend.feitcodes.build`, and replaceable by an administrator's upload, which :func:`load_catalogue`
validates. At run time only the JSON is read. Amounts are never hard-coded elsewhere.

The data model (amount schemes, tracks, domains), the checks of a file and the picker's search are shared with
the tablet in :mod:`shared.feitcodes`; this module only finds and reads the file.

Amounts are whole euros (``amounts_eur``): every statutory tariff in these tables, and in the yearly indexed
ones, is a whole number of euros. Keys depend on ``amount_scheme``:

* ``person``: ``adult`` (natural person) and ``minor`` when the source states it (none of ours does);
* ``road_user``: WAHV categorie-indeling B, ``1`` motor vehicle > 2 wheels, ``2`` motor vehicle on 2 wheels,
  ``3`` brom-/snorfiets, ``4`` fiets, ``5`` pedestrian, ``6`` other road users, ``7`` skipper, ``8`` anyone.
  Bestuurlijke-boete items with per-road-user amounts (a. … g.) use the same numbers, as the
  vergoedingsregeling does for the same offences;
* ``speed``: WAHV categorie-indeling C (speeding codes S/V…), ``1`` … ``4``;
* ``none``: the data carries no amount (OM tariffs are not in these tables; see :func:`build_catalogue`).

``domain`` is the boa domain (1 = I openbare ruimte … 6 = VI); 0 means "no boa domain in the source data"
(e.g. speeding, which is police work). Run ``python -m backend.feitcodes.build`` to regenerate.
"""

from __future__ import annotations

from pathlib import Path

from shared.feitcodes import Catalogue, CatalogueError, decode_catalogue

DATA_DIR = Path(__file__).parent / "data"
CATALOGUE_PATH = DATA_DIR / "feitcode_catalogue.json"
MAX_FILE_BYTES = 16 * 1024 * 1024


def load_catalogue(path_or_bytes: Path | str | bytes = CATALOGUE_PATH) -> Catalogue:
    """Decode and validate a catalogue file; raise :class:`CatalogueError` naming the entry and field."""
    if isinstance(path_or_bytes, bytes):
        data = path_or_bytes
    else:
        try:
            data = Path(path_or_bytes).read_bytes()
        except OSError as exc:
            raise CatalogueError(None, "file", f"cannot read: {exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise CatalogueError(None, "file", f"larger than {MAX_FILE_BYTES} bytes")
    return decode_catalogue(data)
