"""The anonymisation check before publication, driven through the real review diagrams.

A report that names the child and the child's school cannot be published until both findings are
resolved: one by uploading a corrected report (the check runs again and finds the name gone), the
other by the lead reviewer's justification. Every decision is kept in the case data and the trace.
"""

from __future__ import annotations

from typing import Any

import pytest

from cprflow.db.database import Database
from tests.fixtures import files
from tests.scenarios import cpr
from tests.scenarios.cpr import LEAD, SUBMIT, Review, prepare, publish

IDENTIFIERS = {
    "child_name": "Jamie Pritchard",
    "child_date_of_birth": "2019-03-05",
    "family_members": [{"name": "Carys Pritchard"}],
    "addresses": [{"address": "14 Heol y Felin"}],
    "schools": [{"name": "Ysgol Gynradd Llanfair"}],
    "practitioners": [{"name": "Dr Rhodri Evans"}],
}
REPORT = (
    "Child Practice Review CPR-2026-017: final report",
    "Jamie was known to Ysgol Gynradd Llanfair from September 2024.",
    "Agencies did not share concerns about the household quickly enough.",
)
CLEANED = (
    "Child Practice Review CPR-2026-017: final report",
    "Child A was known to Ysgol Gynradd Llanfair from September 2024.",
    "Agencies did not share concerns about the household quickly enough.",
)
BRIEFING = ("7-minute briefing", "Share concerns early; ask about the household.")


@pytest.fixture
def url(any_db: Database) -> str:
    """SQLite, and PostgreSQL when configured, with the real processes/ and forms/ deployed."""
    cpr.deploy(any_db.url)
    return any_db.url


def _open_findings(r: Review) -> list[dict[str, Any]]:
    return [f for f in r.data()["anonymisation_findings"] if f["status"] == "open"]


def _to_publication_check(url: str, report: bytes) -> Review:
    r = Review.start(url)
    cpr.to_draft(r, identifiers=IDENTIFIERS)
    cpr.approve_report(r)
    final = r.upload("final_report", report, "2026-04-20", actor="bu.officer", filename="final-report.docx")
    r.do("submit_final_report", dict(SUBMIT, final_report_ref=final), "2026-04-20")
    briefing = r.upload(
        "seven_minute_briefing", files.pdf(*BRIEFING), "2026-04-22", actor="bu.officer", filename="briefing.pdf"
    )
    r.do("prepare_publication", dict(prepare("2026-04-22"), seven_minute_briefing_ref=briefing), "2026-04-22")
    return r


def test_a_report_naming_the_child_and_school_waits_until_both_findings_are_resolved(url: str) -> None:
    r = _to_publication_check(url, files.docx(*REPORT))

    # The check found the child's first name and the school, in the report, with where and context.
    assert "publish_report" not in r.open()
    assert r.task("resolve_anonymisation_findings").assignee == LEAD
    found = {(f["kind"], f["text"]): f for f in _open_findings(r)}
    assert set(found) == {("child", "Jamie"), ("school", "Ysgol Gynradd Llanfair")}
    assert found[("child", "Jamie")]["where"] == "paragraph 2"
    school = found[("school", "Ysgol Gynradd Llanfair")]
    assert (school["filename"], school["version"], school["where"]) == ("final-report.docx", 1, "paragraph 2")
    assert "known to Ysgol Gynradd Llanfair from September" in school["context"]
    assert r.data()["anonymisation_check_passed"] is False

    # A corrected report removes the name; the school is still there, so publication still waits.
    corrected = r.upload("final_report", files.docx(*CLEANED), "2026-04-23", filename="final-report-v2.docx")
    r.do("resolve_anonymisation_findings", {"final_report_ref": corrected}, "2026-04-23")
    assert "publish_report" not in r.open() and r.open().count("resolve_anonymisation_findings") == 1
    assert [(f["kind"], f["version"]) for f in _open_findings(r)] == [("school", 2)]
    child = next(f for f in r.data()["anonymisation_findings"] if f["kind"] == "child")
    assert (child["status"], child["decided_by"]) == ("resolved", LEAD)
    assert "no longer in the newest version" in child["resolution"]

    # A justification naming no open finding decides nothing.
    r.do(
        "resolve_anonymisation_findings",
        {"justifications": [{"finding_id": "F99", "reason": "Not a finding"}]},
        "2026-04-24",
    )
    assert [f["kind"] for f in _open_findings(r)] == ["school"]

    # The reviewer justifies the school; the check passes and the report can be published.
    school_id = _open_findings(r)[0]["id"]
    reason = "The Board agreed to name the school: its own review is already public."
    r.do(
        "resolve_anonymisation_findings",
        {"justifications": [{"finding_id": school_id, "reason": reason}]},
        "2026-04-25",
    )
    # The corrected report is not the one the Board approved and Welsh Government received: it goes
    # back to the Board and to Welsh Government before it can be published.
    assert "publish_report" not in r.open() and "resolve_anonymisation_findings" not in r.open()
    assert r.data()["publication_decision"] == "back_to_board"
    r.do("rework_for_publication", {"reapproval_meeting_date": "2026-04-25"}, "2026-04-25")
    r.do(
        "submit_final_report", dict(SUBMIT, final_report_ref=corrected, submitted_to_wg_date="2026-04-25"), "2026-04-25"
    )
    r.do("prepare_publication", prepare("2026-04-25"), "2026-04-25")
    assert "publish_report" in r.open()
    data = r.data()
    assert data["anonymisation_check_passed"] is True and data["publication_decision"] == "publish"
    decided = {
        f["kind"]: (f["status"], f["resolution"], f["decided_by"], f["decided_on"])
        for f in data["anonymisation_findings"]
    }
    assert decided["school"] == ("justified", reason, LEAD, "2026-04-25")
    view = r.do("publish_report", publish("2026-04-26"), "2026-04-26")
    assert view.data["publication_status"] == "published"

    # Each check, and what it decided, is in the trace.
    checks = [e for e in r.events() if e.kind == "anonymisation_checked"]
    assert [c.detail["open"] for c in checks] == [2, 1, 1, 0, 0]
    assert [(d["kind"], d["status"]) for c in checks for d in c.detail["decisions"]] == [
        ("child", "resolved"),
        ("school", "justified"),
    ]


def test_patterns_and_recorded_dates_are_found_in_a_pdf_with_their_page(url: str) -> None:
    report = files.pdf(
        "Final report",
        "The family could be reached on 07700 900123 at CF10 1AA.",
        "NHS number 943 476 5919 was on the referral; 943 476 5918 is not a valid one.",
        "Born 5th March 2019.",
    )
    r = _to_publication_check(url, report)
    kinds = sorted((f["kind"], f["text"]) for f in _open_findings(r))
    # The recorded date of birth, and the pattern for a date of birth written out, both catch the last line;
    # the number that fails the NHS check digit is not reported.
    assert kinds == [
        ("date of birth", "5th March 2019"),
        ("date_of_birth", "Born 5th March 2019"),
        ("nhs_number", "943 476 5919"),
        ("postcode", "CF10 1AA"),
        ("uk_phone_number", "07700 900123"),
    ]
    where = {f["kind"]: f["where"] for f in _open_findings(r)}
    assert (where["postcode"], where["nhs_number"], where["date of birth"]) == (
        "page 1, paragraph 2",
        "page 1, paragraph 3",
        "page 1, paragraph 4",
    )


def test_a_clean_report_goes_straight_to_publication(url: str) -> None:
    r = _to_publication_check(url, files.docx(*CLEANED[:1], "Agencies shared concerns late."))
    assert "publish_report" in r.open()
    assert r.data()["anonymisation_findings"] == [] and r.data()["anonymisation_check_passed"] is True
