"""The timescale report counts statutory reviews only: a CPR referral the Board routes to a MAPF is
neither a review nor a breach, and SUSRs are reviews in their own right."""

from __future__ import annotations

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
