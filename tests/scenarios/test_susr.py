"""Single Unified Safeguarding Reviews end to end, on the real diagrams, reloading between steps.

SUSR reuses the Child Practice Review's call activities (reviewer acceptance, the action plan
audit) and files its learning in the findings repository when the Case Review Group signs off.
The referral date decides the framework (``processes/review_framework.dmn``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from cprflow import services
from cprflow.db.database import Database
from cprflow.features import findings
from tests.scenarios import cpr
from tests.scenarios.cpr import (
    ACCEPT,
    ALL_CLOSED,
    DECLINE,
    FAMILY_DECLINED,
    LEAD,
    LEARNING,
    REPLACE,
    REPLACEMENT,
    Review,
)

SUSR = "single_unified_safeguarding_review"
OUTLINE = cpr.OUTLINE


def susr_referral(day: str = "2026-01-05", criteria: list[str] | None = None) -> dict[str, Any]:
    return {
        "subject_reference": "SUSR-2026-004",
        "board_area": "Gwent",
        "referring_agency": "Gwent Police",
        "referral_date": day,
        "event_date": (date.fromisoformat(day) - timedelta(days=8)).isoformat(),  # the incident came first
        "criteria_met": criteria or ["adult_practice_review"],
        "agencies_involved": [{"name": a} for a in cpr.AGENCIES],
    }


CRG = {"criteria_met": ["adult_practice_review"], "recommendation": "undertake_susr", "discussed_date": "2026-01-09"}
CHAIR = {"susr_decision": "undertake_susr", "decision_rationale": "Criteria met."}
NOTIFY = {"date_notified": "2026-01-13"}
APPOINT = {
    "review_chair_name": "C. Chair",
    "review_chair_list_ref": "WG-AL-101",
    "reviewers": [{"username": LEAD, "name": "R. Lewis", "approved_list_ref": "WG-AL-207"}],
    "approved_list_checked": True,
    "appointment_date": "2026-01-20",
}
DRAFT = dict(
    cpr.DRAFT,
    findings=[
        {
            "finding": "Agencies did not share escalating concerns about coercive control.",
            "learning": "Escalate concerns through the MARAC.",
        }
    ],
)
SIGN_OFF = {
    "signoff_decision": "approve",
    "signoff_date": "2026-04-10",
    "review_themes": ["domestic_abuse", "information_sharing"],
}
HOME_OFFICE = {
    "submitted_to_home_office_date": "2026-04-14",
    "home_office_outcome": "assured",
    "home_office_outcome_date": "2026-05-20",
}
DEPOSIT = {"deposited_date": "2026-05-25", "repository_reference": "WSR-2026-0042"}


@pytest.fixture
def url(review_db: Database) -> str:
    return review_db.url


def to_sign_off(r: Review, criteria: list[str] | None = None) -> None:
    to_draft(r, criteria)
    r.do("draft_report", DRAFT, "2026-03-20", assignee=LEAD)


def to_draft(r: Review, criteria: list[str] | None = None, **referral: Any) -> None:
    """From the referral (with ``referral`` added to its answers) to the lead reviewer's draft."""
    r.do("susr_record_referral", {**susr_referral(criteria=criteria), **referral}, "2026-01-06")
    assert r.data()["framework"] == SUSR
    r.do("susr_case_review_group", dict(CRG, criteria_met=criteria or CRG["criteria_met"]), "2026-01-09")
    r.do("susr_board_chair_decision", CHAIR, "2026-01-12")
    r.do("susr_notify_welsh_government", NOTIFY, "2026-01-13")
    r.do("susr_appoint_reviewers", APPOINT, "2026-01-20")
    r.do("accept_appointment", ACCEPT, "2026-01-22", assignee=LEAD)
    r.do("family_involvement", FAMILY_DECLINED, "2026-02-01", assignee=LEAD)
    r.do("learning_event", {**LEARNING, "learning_event_date": "2026-02-20"}, "2026-02-20", assignee=LEAD)


def filed(url: str) -> list[findings.Filing]:
    with cpr.opened(url) as db, db.transaction(write=False) as session:
        return findings.search(session, findings.Query())[1]


def test_a_susr_from_referral_to_closure(url: str) -> None:
    r = Review.start(url, "2026-01-06", process_id=SUSR)
    assert r.data()["stage"] == "referral"  # named from the start, as a Child Practice Review is
    assert [(t.bpmn_id, t.lane) for t in r.tasks()] == [("susr_record_referral", "Business Unit")]
    r.do("susr_record_referral", susr_referral(), "2026-01-06")
    assert [(t.bpmn_id, t.lane) for t in r.tasks()] == [("susr_case_review_group", "Case Review Group")]
    r.do("susr_case_review_group", CRG, "2026-01-09")
    assert [(t.bpmn_id, t.lane) for t in r.tasks()] == [("susr_board_chair_decision", "Board Chair")]
    r.do("susr_board_chair_decision", CHAIR, "2026-01-12")
    assert cpr_pick(r.data(), "route", "review_type", "stage", "home_office_required") == {
        "route": "susr",
        "review_type": "susr",
        "stage": "notification",
        "home_office_required": False,
    }
    r.do("susr_notify_welsh_government", NOTIFY, "2026-01-13")
    r.do(
        "susr_appoint_reviewers",
        dict(
            APPOINT,
            reviewers=APPOINT["reviewers"]
            + [{"username": cpr.SECOND, "name": "S. Jones", "approved_list_ref": "WG-AL-300"}],
        ),
        "2026-01-20",
    )
    assert sorted((t.bpmn_id, t.assignee) for t in r.tasks()) == sorted(
        [("accept_appointment", LEAD), ("accept_appointment", cpr.SECOND)]
    )
    r.do("accept_appointment", ACCEPT, "2026-01-21", assignee=LEAD)
    r.do("accept_appointment", DECLINE, "2026-01-21", assignee=cpr.SECOND)
    # The reused call activity replaces a reviewer, from the approved list like the first ones.
    r.do("appoint_replacement_reviewer", dict(REPLACE, replacement_approved_list_ref="WG-AL-311"), "2026-01-23")
    r.do("accept_appointment", ACCEPT, "2026-01-24", assignee=REPLACEMENT)
    data = r.data()
    assert data["reviewer_usernames"] == [LEAD, REPLACEMENT] and data["stage"] == "family_and_practitioner_learning"
    r.do("family_involvement", FAMILY_DECLINED, "2026-02-01", assignee=LEAD)
    r.do("learning_event", {**LEARNING, "learning_event_date": "2026-02-20"}, "2026-02-20", assignee=LEAD)
    r.do("draft_report", DRAFT, "2026-03-20", assignee=LEAD)
    assert [(t.bpmn_id, t.lane) for t in r.tasks()] == [("susr_sign_off", "Case Review Group")]
    r.do(
        "susr_sign_off",
        {"signoff_decision": "return", "signoff_comments": "Say more about escalation.", "signoff_date": "2026-03-27"},
        "2026-03-27",
    )
    assert r.data()["panel_feedback"] == "Say more about escalation."
    r.do("revise_draft_report", dict(DRAFT, revision_notes="Escalation added."), "2026-04-03", assignee=LEAD)
    assert filed(url) == []  # nothing is filed before sign-off
    view = r.do("susr_sign_off", SIGN_OFF, "2026-04-10")
    assert [t.bpmn_id for t in view.open_tasks] == ["susr_deposit_in_repository"]  # no Home Office step
    assert cpr_pick(view.data, "stage", "completion_date", "signoff_returns") == {
        "stage": "repository",
        "completion_date": "2026-04-10",
        "signoff_returns": 1,
    }
    [filing] = filed(url)
    assert (filing.board, filing.year, filing.review_type, filing.themes) == (
        "Gwent",
        2026,
        "susr",
        ["domestic_abuse", "information_sharing"],
    )
    assert [(i["kind"], i["text"]) for i in filing.items][:2] == [
        ("finding", "Agencies did not share escalating concerns about coercive control."),
        ("recommendation", "Escalate concerns through the MARAC."),
    ]
    assert [i["text"] for i in filing.items if i["kind"] == "action"] == [a["action"] for a in OUTLINE]
    assert "findings_filed" in [e.kind for e in r.events()]

    r.do("susr_deposit_in_repository", DEPOSIT, "2026-05-25")
    assert cpr_pick(r.data(), "publication_status", "action_plan_status", "next_audit_due") == {
        "publication_status": "deposited",
        "action_plan_status": "in_audit",
        "next_audit_due": "2026-07-10",
    }
    data = cpr.audit_cycle(r, "2026-07-10", *ALL_CLOSED)  # the CPR's audit cycle, reused
    assert data["all_actions_closed"] is True
    view = r.do("close_review", cpr.CLOSE, "2027-01-15")
    assert view.status == "completed"
    assert cpr_pick(view.data, "stage", "route", "action_plan_status", "elapsed_days_to_closure") == {
        "stage": "closed",
        "route": "susr",
        "action_plan_status": "closed",
        "elapsed_days_to_closure": 375,
    }


def test_a_domestic_homicide_goes_to_the_home_office_before_deposit(url: str) -> None:
    r = Review.start(url, "2026-01-06", process_id=SUSR)
    to_sign_off(r, ["domestic_homicide_review", "child_practice_review"])
    assert r.data()["home_office_required"] is True
    view = r.do("susr_sign_off", SIGN_OFF, "2026-04-10")
    assert [(t.bpmn_id, t.lane) for t in view.open_tasks] == [("susr_home_office_qa", "Business Unit")]
    assert len(filed(url)) == 1  # filed at sign-off, before the Home Office answers
    view = r.do("susr_home_office_qa", HOME_OFFICE, "2026-05-20")
    assert view.data["home_office_status"] == "assured"
    assert [t.bpmn_id for t in view.open_tasks] == ["susr_deposit_in_repository"]
    completed = [e.detail.get("bpmn_id") for e in r.events() if e.kind == "task_completed"]
    assert completed.index("susr_home_office_qa") < len(completed)


def test_the_chair_may_decide_against_a_review(url: str) -> None:
    r = Review.start(url, "2026-01-06", process_id=SUSR)
    r.do("susr_record_referral", susr_referral(), "2026-01-06")
    r.do("susr_case_review_group", dict(CRG, recommendation="no_susr"), "2026-01-09")
    view = r.do("susr_board_chair_decision", dict(CHAIR, susr_decision="no_susr"), "2026-01-12")
    assert view.status == "completed" and cpr_pick(view.data, "route", "stage") == {
        "route": "no_review",
        "stage": "closed",
    }


def test_sign_off_needs_themes_from_the_taxonomy(url: str) -> None:
    from cprflow.core.errors import InvalidData

    r = Review.start(url, "2026-01-06", process_id=SUSR)
    to_sign_off(r)
    for themes, pointer in (([], "/review_themes"), (["not_a_theme"], "/review_themes/0")):
        with pytest.raises(InvalidData) as refused:
            r.do("susr_sign_off", dict(SIGN_OFF, review_themes=themes), "2026-04-10")
        assert pointer in refused.value.fields
    assert [t.bpmn_id for t in r.tasks()] == ["susr_sign_off"] and filed(url) == []


# ---------------------------------------------------------------------------------------------
# The referral date rule (processes/review_framework.dmn), both sides of 1 October 2024


@pytest.mark.parametrize(
    "day, framework", [("2024-09-30", "child_practice_review"), ("2024-10-01", SUSR), ("2025-03-01", SUSR)]
)
def test_a_susr_referral_dated_before_october_2024_is_a_legacy_cpr(url: str, day: str, framework: str) -> None:
    r = Review.start(url, day, process_id=SUSR)
    view = r.do("susr_record_referral", susr_referral(day), day)
    assert view.data["framework"] == framework
    if framework == SUSR:
        assert [t.bpmn_id for t in view.open_tasks] == ["susr_case_review_group"]
    else:
        assert view.status == "completed"
        assert cpr_pick(view.data, "route", "stage") == {
            "route": "child_practice_review",
            "stage": "referred_elsewhere",
        }
        assert view.data["cpr_request"]["referral_date"] == day


@pytest.mark.parametrize(
    "day, chosen, framework",
    [
        ("2024-09-30", None, "child_practice_review"),
        ("2024-10-01", None, SUSR),
        ("2026-01-05", None, SUSR),
        ("2026-01-05", "child_practice_review", "child_practice_review"),  # kept as a CPR at referral
    ],
)
def test_a_cpr_referral_from_october_2024_defaults_to_susr(
    url: str, day: str, chosen: str | None, framework: str
) -> None:
    r = Review.start(url, day)
    data = cpr.referral(day)
    data.pop("review_framework", None)
    if chosen:
        data["review_framework"] = chosen
    view = r.do("record_referral", data, day)
    assert view.data["framework"] == framework
    if framework == SUSR:
        assert view.status == "completed"
        assert cpr_pick(view.data, "route", "stage") == {"route": "susr", "stage": "referred_elsewhere"}
        assert view.data["susr_request"]["referral_date"] == day
    else:
        assert [t.bpmn_id for t in view.open_tasks] == ["screen_referral"]


def cpr_pick(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: data.get(k) for k in keys}


def test_a_cpr_referral_routed_to_susr_prefills_the_susr_referral(url: str) -> None:
    cpr_case = Review.start(url, "2026-01-05")
    data = cpr.referral("2026-01-05")
    del data["review_framework"]
    routed = cpr_case.do("record_referral", data, "2026-01-05")
    r = Review(url, routed.data["follow_on"]["instance_id"])  # started by the CPR's "Start the SUSR"
    with cpr.opened(url) as db:
        shown = services.get_task(db, r.task("susr_record_referral").id).data
        # it carries the answers the SUSR's start form asks, as a person starting one gives them
        form = services.start_form(db, SUSR, actor="bu.officer")
        assert form is not None
        answers = {key: r.data()[key] for key in form.schema["properties"]}
        services.check_start(db, SUSR, answers, actor="bu.officer", now=cpr.at("2026-01-05"))
    assert cpr_pick(shown, "subject_reference", "board_area", "referral_date", "agencies_involved") == {
        "subject_reference": "CPR-2026-017",
        "board_area": "Cwm Taf Morgannwg",
        "referral_date": "2026-01-05",
        "agencies_involved": [{"name": a} for a in cpr.AGENCIES],
    }


# ---------------------------------------------------------------------------------------------
# Item 16: the anonymisation check runs before the report goes into either repository

NAMED = (
    "Single Unified Safeguarding Review SUSR-2026-004",
    "Dylan was seen by his GP in May 2025 with injuries to his arm.",
    "Agencies did not share escalating concerns about coercive control.",
)
UNNAMED = (
    "Single Unified Safeguarding Review SUSR-2026-004",
    "Adult D was seen by his GP in May 2025 with injuries to his arm.",
    "Agencies did not share escalating concerns about coercive control.",
)


def test_a_susr_report_naming_the_subject_is_corrected_before_sign_off_and_deposit(url: str) -> None:
    from tests.fixtures import files

    r = Review.start(url, "2026-01-06", process_id=SUSR)
    to_draft(r, subject_name="Dylan Hughes")
    named = r.upload("draft_report", files.docx(*NAMED), "2026-03-20", filename="report.docx")
    r.do("draft_report", dict(DRAFT, draft_report_ref=named), "2026-03-20", assignee=LEAD)
    # The check found the subject's first name: no sign-off, nothing filed, nothing deposited.
    assert [(t.bpmn_id, t.assignee) for t in r.tasks()] == [("susr_resolve_anonymisation_findings", LEAD)]
    [finding] = [f for f in r.data()["anonymisation_findings"] if f["status"] == "open"]
    assert (finding["kind"], finding["text"], finding["slot"]) == ("subject", "Dylan", "draft_report")
    assert filed(url) == []
    corrected = r.upload("draft_report", files.docx(*UNNAMED), "2026-03-23", filename="report-v2.docx")
    view = r.do("susr_resolve_anonymisation_findings", {"draft_report_ref": corrected}, "2026-03-23")
    assert view.data["anonymisation_check_passed"] is True
    assert r.open() == ["susr_sign_off"]
    view = r.do("susr_sign_off", SIGN_OFF, "2026-04-10")
    assert [t.bpmn_id for t in view.open_tasks] == ["susr_deposit_in_repository"]
    assert len(filed(url)) == 1
    checked = [e for e in r.events() if e.kind == "anonymisation_checked"]
    signed = next(e for e in r.events() if e.kind == "task_completed" and e.detail["bpmn_id"] == "susr_sign_off")
    assert checked and all(e.id < signed.id for e in checked)  # every check came before sign-off
