"""What the planning page counts and highlights: the diff against a published version and the open demand."""

from __future__ import annotations

from datetime import date

from backend.rooster.repository import DemandRow, DraftAssignment, diff, uncovered

MON, TUE = date(2027, 3, 1), date(2027, 3, 2)


def cell(
    account: int, day: date, shift: int = 1, beat: int = 10, duo: int = 0, pinned: bool = False
) -> DraftAssignment:
    return DraftAssignment(
        account_id=account, day=day, shift_type_id=shift, beat_id=beat, duo=duo, pinned=pinned
    )


def test_the_diff_names_moved_added_and_removed_cells_and_ignores_pins() -> None:
    published = [cell(1, MON), cell(2, MON), cell(3, TUE)]
    draft = [cell(1, MON, pinned=True), cell(2, TUE), cell(3, TUE, beat=11), cell(4, MON)]
    changes = diff(published, draft)
    assert [(c.account_id, c.day, c.before is None, c.after is None) for c in changes] == [
        (2, MON, False, True),
        (4, MON, True, False),
        (2, TUE, True, False),
        (3, TUE, False, False),
    ]
    assert diff(published, published) == []


def test_open_demand_counts_missing_boas_and_incomplete_duos() -> None:
    demand = [
        DemandRow(day=MON, shift_type_id=1, beat_id=10, duos=2, qualification=None, source="sjabloon"),
        DemandRow(day=MON, shift_type_id=2, beat_id=10, duos=1, qualification=None, source="extra"),
        DemandRow(day=TUE, shift_type_id=1, beat_id=10, duos=1, qualification=None, source="sjabloon"),
    ]
    draft = [cell(1, MON), cell(2, MON), cell(3, MON, duo=1), cell(4, TUE), cell(5, TUE)]
    short = uncovered(demand, draft)
    assert [(s.day, s.shift_type_id, s.missing, s.duos_open) for s in short] == [
        (MON, 1, 1, 1),
        (MON, 2, 2, 1),
    ]
    assert uncovered(demand[2:], draft) == []
