"""Submitting and correcting registrations: the checks of validation.py joined with the database.

``submit`` is idempotent on the client's id: the same id with the same content returns the stored record
and stores nothing; the same id with other content is a conflict listing the differing fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.errors import Forbidden
from backend.feitcodes import repository as feitcodes
from backend.geofencing.logic import PreparedBeats, containing_beats
from backend.registrations import kenmerk, validation
from backend.registrations import repository as repo
from shared.feitcodes import FeitEntry
from shared.registrations import Aggression, FieldError, Fine, Submission, Waarneming, canonical

WRITERS = ("boa", "teamlead")


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    created: bool
    registration: repo.Registration | None = None
    conflict: list[str] | None = None  # differing fields when the id was used for other content


async def submit(
    conn: Conn,
    principal: Principal,
    submission: Submission,
    beats: PreparedBeats,
    now: datetime,
) -> Outcome:
    if principal.role not in WRITERS:
        raise Forbidden(f"role {principal.role!r} does not register")
    submission = validation.normalise(submission)
    offered = canonical(submission)
    existing = await repo.submitted_content(conn, submission.id)
    if existing is None:
        row = await _checked_row(conn, principal, submission, beats, now)
        if await repo.insert(conn, row):
            if row.kind == "fine":  # the kenmerk on its kennisgeving, fixed from the start
                await kenmerk.assign(conn, row.org_id, row.id, row.occurred_at)
            return Outcome(created=True, registration=await repo.get_raw(conn, submission.id))
        existing = await repo.submitted_content(conn, submission.id)  # a concurrent first submit won
        assert existing is not None
    org_id, stored = existing
    if org_id != principal.org_id:
        return Outcome(created=False, conflict=["id"])
    diff = validation.differences(stored, offered)
    if diff:
        return Outcome(created=False, conflict=diff)
    return Outcome(created=False, registration=await repo.get_raw(conn, submission.id))


async def _checked_row(
    conn: Conn,
    principal: Principal,
    submission: Submission,
    beats: PreparedBeats,
    now: datetime,
) -> repo.NewRow:
    validation.check_common(submission, now)
    regime = validation.check_regime(submission)
    derived: dict[str, Any] = {}
    feitcode: str | None = None
    version_id: int | None = None
    person: tuple[str | None, Any] = (None, None)
    if isinstance(submission, Waarneming):
        validation.check_category(submission, await repo.categories(conn, principal.org_id))
        category = submission.category
        if submission.warning_feitcode is not None:  # a warning: the feitcode must be one the boa may write
            version_id, entry = await _feit(
                conn, principal, submission.warning_feitcode, submission.occurred_at, "warning_feitcode"
            )
            entry_json = msgspec.to_builtins(entry)
            derived = {"warning": True, "entry": entry_json, "catalogue_version_id": version_id}
            feitcode = entry.code
    elif isinstance(submission, Fine):
        version_id, entry = await _feit(conn, principal, submission.feitcode, submission.occurred_at)
        tariff = validation.check_fine(submission, entry)
        derived = {
            "tariff": msgspec.to_builtins(tariff),
            "entry": msgspec.to_builtins(entry),
            "catalogue_version_id": version_id,
        }
        category, feitcode = entry.category, entry.code
        person = (repo.person_key(submission.offender.name), submission.offender.birth_date)
    else:
        validation.check_aggression(submission)
        category = "agressie"
        derived = {"aangifte_deadline": validation.aangifte_deadline(submission.occurred_at).isoformat()}
        if submission.offender is not None and submission.offender.name and submission.offender.birth_date:
            person = (repo.person_key(submission.offender.name), submission.offender.birth_date)
    others = [i for i in submission.boa_ids if i != principal.account_id]
    await repo.check_colleagues(conn, principal.org_id, others)
    unit_id = await repo.unit_for(conn, principal, submission.unit_id)
    loc = submission.location
    beat_ids = await repo.org_beats(conn, principal.org_id, containing_beats(loc.lon, loc.lat, beats))
    return repo.NewRow(
        id=submission.id,
        org_id=principal.org_id,
        kind=_kind(submission),
        regime=regime,
        purpose=submission.purpose,
        author_id=principal.account_id,
        boa_ids=sorted({principal.account_id, *others}),
        unit_id=unit_id,
        occurred_at=submission.occurred_at,
        lon=loc.lon,
        lat=loc.lat,
        accuracy_m=loc.accuracy_m,
        beat_ids=beat_ids,
        category=category,
        feitcode=feitcode,
        catalogue_version_id=version_id,
        photo_hashes=list(submission.photos),
        person_name=person[0],
        person_birth_date=person[1],
        details=canonical(submission),
        derived=derived,
    )


def _kind(submission: Submission) -> str:
    return {Waarneming: "waarneming", Fine: "fine", Aggression: "aggression"}[type(submission)]


async def _feit(
    conn: Conn, principal: Principal, code: str, occurred_at: datetime, field: str = "feitcode"
) -> tuple[int, FeitEntry]:
    """The catalogue entry for a fine's (or warning's) feitcode: the gemeente's track (or Mulder), the boa's
    domain."""
    on = occurred_at.astimezone(validation.LOCAL).date()
    version_id, catalogue = await feitcodes.active_catalogue(conn, principal.org_id, on)
    track = await feitcodes.org_track(conn, principal.org_id)
    matches = [e for e in catalogue.entries if e.code == code and e.track in (track, "mulder")]
    if not matches:
        raise FieldError(field, f"feitcode {code} staat niet in de catalogus van deze gemeente")
    domains = await feitcodes.account_domains(conn, principal.account_id)
    allowed = [e for e in matches if e.domain in domains]
    if not allowed:
        raise FieldError(field, f"feitcode {code} hoort niet bij uw domein")
    return version_id, allowed[0]


async def correct(
    conn: Conn, principal: Principal, current: repo.Registration, submission: Submission,
    reason: str, beats: PreparedBeats, now: datetime,
) -> None:  # fmt: skip
    """A team lead's correction: checked like a new submission, the old version kept with the reason."""
    submission = validation.normalise(submission)
    if submission.id != current.id:
        raise FieldError("registration.id", "id van de correctie hoort bij een andere registratie")
    if _kind(submission) != current.kind:
        raise FieldError("registration.kind", "de soort registratie kan niet worden gewijzigd")
    author = msgspec.structs.replace(principal, account_id=current.author_id, role="boa")
    try:
        row = await _checked_row(conn, author, submission, beats, min(now, submission.occurred_at))
    except FieldError as exc:
        raise FieldError(f"registration.{exc.field}", exc.message) from None
    columns = {
        name: getattr(row, name)
        for name in (
            "category",
            "feitcode",
            "occurred_at",
            "lon",
            "lat",
            "beat_ids",
            "photo_hashes",
            "person_name",
            "person_birth_date",
            "regime",
            "purpose",
            "boa_ids",
            "unit_id",
            "catalogue_version_id",
        )
    }
    columns["unit_id"] = row.unit_id if submission.unit_id is not None else current.unit_id
    await repo.replace(
        conn,
        current,
        account_id=principal.account_id,
        action="correct",
        reason=reason,
        new_details=row.details,
        new_derived=row.derived,
        columns=columns,
    )
