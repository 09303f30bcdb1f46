"""The timescale report counts statutory reviews only: a CPR referral the Board routes to a MAPF is
neither a review nor a breach, and SUSRs are reviews in their own right."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from cprflow.db.database import Database
from cprflow.features import timescales
from tests.scenarios import cpr
from tests.scenarios.cpr import Review


def test_a_referral_routed_to_a_mapf_is_not_a_review_and_a_susr_is(review_db: Database) -> None:
    url = review_db.url
    to_mapf = Review.start(url, "2026-01-05")
    cpr.to_decision(to_mapf, outcome="other", mapf=True, decide="mapf")
    to_mapf.do("notify_welsh_government", {"date_notified": "2026-01-09"}, "2026-01-09")
    assert (to_mapf.view().status, to_mapf.data()["route"]) == ("completed", "mapf")
    statutory = Review.start(url, "2026-01-05")
    cpr.to_decision(statutory, decide="concise")
    susr = Review.start(url, "2026-01-06", process_id="single_unified_safeguarding_review")
    susr.do(
        "susr_record_referral",
        {
            "subject_reference": "SUSR-2026-004",
            "board_area": "Gwent",
            "referring_agency": "Gwent Police",
            "referral_date": "2026-01-06",
            "event_date": "2025-12-28",
            "criteria_met": ["adult_practice_review"],
            "agencies_involved": [{"name": "police"}],
        },
        "2026-01-06",
    )

    # Long past six months from referral: the MAPF referral would have counted as a breach.
    rows = {r.instance_id: r for r in timescales.per_review(review_db, as_of=date(2026, 12, 1))}

    assert to_mapf.id not in rows
    assert rows[statutory.id].breach is True and rows[statutory.id].review_type == "concise"
    assert susr.id in rows and rows[susr.id].board == "Gwent"
    [group] = [g for g in timescales.by_board_and_year(rows.values()) if g.board == "Cwm Taf Morgannwg"]
    assert (group.reviews, group.breaches) == (1, 1)


def test_hold_days_count_each_type_and_overlapping_holds_once() -> None:
    holds = [
        {"type": "police_investigation", "started_on": "2026-03-01", "ended_on": "2026-03-11"},
        {"type": "coroner", "started_on": "2026-03-06", "ended_on": "2026-03-16"},  # overlaps the first
        {"type": "coroner", "started_on": "2026-03-07", "ended_on": "2026-03-09"},  # inside the second
        {"type": "police_investigation", "started_on": "2026-04-01"},  # still running
        {"type": "", "started_on": "2026-05-01T10:00:00+00:00", "ended_on": "2026-05-03"},  # untyped, a datetime
        {"type": "bad", "started_on": "2026-06-10", "ended_on": "2026-06-01"},  # ends before it starts: ignored
        {"type": "bad", "started_on": "not a date"},
    ]
    by_type, total = timescales.hold_days(holds, as_of=date(2026, 4, 5))
    assert by_type == {"coroner": 12, "other": 2, "police_investigation": 14}
    assert total == 15 + 4 + 2  # 1 to 16 March once, 1 to 5 April, the untyped two days
    assert timescales.hold_days([], as_of=date(2026, 4, 5)) == ({}, 0)


def test_the_csv_export_cannot_carry_a_spreadsheet_formula() -> None:
    @dataclass(frozen=True)
    class Row:
        board: str
        breach: bool | None
        reasons: list[str]

    rows = [
        Row('=HYPERLINK("http://evil")', True, ["+1", "Siân's delay"]),
        Row('Cwm Taf, "Morgannwg"', None, []),
        Row("@SUM(A1)", False, ["-2"]),
    ]
    parsed = list(csv.reader(io.StringIO(timescales.to_csv(rows, ("board", "breach", "reasons")))))
    assert parsed == [
        ["board", "breach", "reasons"],
        ['\'=HYPERLINK("http://evil")', "yes", "'+1 | Siân's delay"],
        ['Cwm Taf, "Morgannwg"', "", ""],
        ["'@SUM(A1)", "no", "'-2"],
    ]
