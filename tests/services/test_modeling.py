"""Moving running reviews to a new version: the preview, the move, its event, and refusals."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from cprflow.core.errors import InvalidData, MigrationRefused
from cprflow.db.database import Database
from cprflow.services import modeling
from tests.scenarios import cpr
from tests.scenarios.cpr import Review, after_day, at

BPMN = "processes/child_practice_review.bpmn"


def edited(db: Database, old: str, new: str) -> dict[str, str]:
    text = modeling.version_files(db, 1)[BPMN]
    assert text.count(old) == 1
    return {BPMN: text.replace(old, new)}


def retyped(db: Database, element_id: str, kind: str) -> dict[str, str]:
    """The review diagram with one element turned into another kind (a manual task, say)."""
    root = etree.fromstring(modeling.version_files(db, 1)[BPMN].encode())
    node = root.xpath("//*[@id=$id]", id=element_id)[0]
    node.tag = f"{{http://www.omg.org/spec/BPMN/20100524/MODEL}}{kind}"
    return {BPMN: etree.tostring(root, encoding="unicode")}


@pytest.fixture
def at_action_plan(db: Database) -> Review:
    """A review on version 1 whose final report was approved on 15 April: action plan due 13 May."""
    cpr.deploy(db.url)
    review = Review.start(db.url, "2026-01-05")
    cpr.to_draft(review)
    cpr.approve_report(review)
    return review


def test_a_running_review_moves_keeping_its_statutory_dates(db: Database, at_action_plan: Review) -> None:
    review = at_action_plan
    before = review.data()
    task_before = review.task("finalise_action_plan")
    v2 = modeling.deploy_edits(
        db,
        edited(db, 'action_plan_period = process_timescales["action_plan"]', 'action_plan_period = "P2W"'),
        actor="owner",
        now=at("2026-04-16"),
    ).version_id

    [preview] = modeling.preview_migrations(db, v2, actor="owner", now=at("2026-04-16"))
    assert (preview.instance_id, preview.movable, preview.reasons) == (review.id, True, [])
    assert preview.changes["elements"] == {
        "child_practice_review": {"added": [], "removed": [], "changed": {"set_timescales": ["script"]}}
    }
    assert preview.changes["timers"] == {
        "before": ["action_plan_overdue_timer"],
        "after": ["action_plan_overdue_timer"],
        "rescheduled": [],  # its due date was worked out before and stays; the date itself is not shown
    }
    assert review.view().version_id == 1  # a preview changes nothing

    view = modeling.migrate_instance(db, review.id, v2, reason="new timescales", actor="owner", now=at("2026-04-16"))
    assert view.version_id == v2
    after = Review(db.url, review.id)
    data = after.data()
    assert {k: v for k, v in data.items() if k.endswith("_due")} == {
        k: v for k, v in before.items() if k.endswith("_due")
    }
    assert data["action_plan_due"] == "2026-05-13"  # an absolute date: the new period does not touch it
    assert after.view().next_timer_at == after_day("2026-05-13")
    assert after.open() == ["disseminate_learning", "finalise_action_plan", "submit_final_report"]
    moved = after.task("finalise_action_plan")
    assert moved.version_id == v2 and moved.due_at == task_before.due_at
    [event] = [e for e in after.events() if e.kind == "migrated"]
    assert event.detail["from_version"] == 1 and event.detail["to_version"] == v2
    assert event.detail["reason"] == "new timescales"
    assert event.detail["changes"]["elements"]["child_practice_review"]["changed"] == {"set_timescales": ["script"]}

    # It carries on on the new version: the timer still fires on 13 May, not on 29 April.
    assert not after.tick(after_day("2026-04-29"))
    assert after.tick(after_day("2026-05-13"))
    assert "action_plan_overdue" in after.open()


def test_an_open_task_keeps_its_id_claim_and_draft(db: Database, at_action_plan: Review) -> None:
    from cprflow import services

    task = at_action_plan.task("finalise_action_plan")
    services.save_draft(db, task.id, {"actions": []}, actor="board.member", now=at("2026-04-16"))
    services.claim_task(db, task.id, actor="board.member", now=at("2026-04-16"))
    v2 = modeling.deploy_edits(
        db,
        edited(db, 'action_plan_period = process_timescales["action_plan"]', 'action_plan_period = "P3W"'),
        actor="owner",
        now=at("2026-04-16"),
    ).version_id
    modeling.migrate_instance(db, at_action_plan.id, v2, reason="r", actor="owner", now=at("2026-04-16"))
    detail = services.get_task(db, at_action_plan.task("finalise_action_plan").id)
    assert detail.task.id == task.id  # still open on the new version: the same task
    assert (detail.task.claimed_by, detail.task.version_id) == ("board.member", v2)
    assert detail.data.get("actions") == []


def test_a_review_at_an_element_made_another_kind_is_refused(db: Database, at_action_plan: Review) -> None:
    v2 = modeling.deploy_edits(
        db, retyped(db, "finalise_action_plan", "manualTask"), actor="owner", now=at("2026-04-16")
    ).version_id
    [preview] = modeling.preview_migrations(db, v2, actor="owner", now=at("2026-04-16"))
    assert not preview.movable
    assert preview.reasons == [
        "it is at 'Finalise the action plan' (child_practice_review), which the new version "
        "makes a different kind of element"
    ]
    state_before = at_action_plan.view()
    with pytest.raises(MigrationRefused, match="different kind of element"):
        modeling.migrate_instance(db, at_action_plan.id, v2, reason="r", actor="owner", now=at("2026-04-16"))
    after = at_action_plan.view()
    assert (after.version_id, after.updated_at, after.open_tasks) == (
        1,
        state_before.updated_at,
        state_before.open_tasks,
    )
    assert not [e for e in at_action_plan.events() if e.kind == "migrated"]


def cut_out(db: Database, element_id: str) -> dict[str, str]:
    """The review diagram with one element (one flow in, one out) cut out and the flow joined up."""
    root = etree.fromstring(modeling.version_files(db, 1)[BPMN].encode())

    def find(id_: str) -> Any:
        return root.xpath("//*[@id=$id]", id=id_)[0]

    node = find(element_id)
    [into] = [c.text for c in node if etree.QName(c).localname == "incoming"]
    [out] = [c.text for c in node if etree.QName(c).localname == "outgoing"]
    target = find(out).get("targetRef")
    find(into).set("targetRef", target)
    for ref in find(target):
        if etree.QName(ref).localname == "incoming" and ref.text == out:
            ref.text = into
    gone = root.xpath("//*[@bpmnElement=$a or @bpmnElement=$b]", a=element_id, b=out)
    gone += root.xpath("//*[local-name()='flowNodeRef' and text()=$a]", a=element_id)
    for each in [node, find(out), *gone]:
        each.getparent().remove(each)
    return {BPMN: etree.tostring(root, encoding="unicode")}


def test_a_review_at_a_removed_element_is_refused(review_db: Database) -> None:
    db = review_db
    review = Review.start(db.url, "2026-01-05")
    assert review.open() == ["record_referral"]
    v2 = modeling.deploy_edits(db, cut_out(db, "record_referral"), actor="owner", now=at("2026-01-06")).version_id
    [preview] = modeling.preview_migrations(db, v2, actor="owner", now=at("2026-01-06"))
    assert preview.reasons == ["it is at 'Record the referral' (child_practice_review), which the new version removes"]
    with pytest.raises(MigrationRefused, match="which the new version removes"):
        modeling.migrate_instance(db, review.id, v2, reason="r", actor="owner", now=at("2026-01-06"))
    assert (review.view().version_id, review.open()) == (1, ["record_referral"])


def test_a_review_that_passed_a_removed_element_is_refused(review_db: Database) -> None:
    db = review_db
    review = Review.start(db.url, "2026-01-05")
    cpr.to_reviewers(review)
    v2 = modeling.deploy_edits(db, cut_out(db, "set_timescales"), actor="owner", now=at("2026-01-20")).version_id
    [preview] = modeling.preview_migrations(db, v2, actor="owner", now=at("2026-01-20"))
    assert not preview.movable
    assert preview.reasons == [
        "it has passed 'Set timescales and the 6-month completion date' (child_practice_review), which the new "
        "version removes, so its history could not be kept"
    ]
    assert preview.changes["elements"]["child_practice_review"]["removed"] == ["set_timescales"]
    with pytest.raises(MigrationRefused, match="which the new version removes"):
        modeling.migrate_instance(db, review.id, v2, reason="r", actor="owner", now=at("2026-01-20"))
    assert review.view().version_id == 1
    # A review started on the new version never passes it, and one not yet past it could move.
    assert Review.start(db.url, "2026-01-21").view().version_id == v2


def test_a_renamed_element_it_passed_is_followed(review_db: Database) -> None:
    """SpiffWorkflow aligns an element whose id changed by where it sits in the flow."""
    db = review_db
    review = Review.start(db.url, "2026-01-05")
    cpr.to_reviewers(review)  # waiting on three agencies' timelines (multi-instance) and a reviewer
    text = modeling.version_files(db, 1)[BPMN]
    v2 = modeling.deploy_edits(
        db, {BPMN: text.replace("set_timescales", "set_the_timescales")}, actor="owner", now=at("2026-01-20")
    ).version_id
    before = review.view()
    [preview] = modeling.preview_migrations(db, v2, actor="owner", now=at("2026-01-20"))
    assert preview.movable
    assert preview.changes["elements"]["child_practice_review"]["changed"]["set_timescales"] == ["bpmn_id", "name"]
    modeling.migrate_instance(db, review.id, v2, reason="renamed", actor="owner", now=at("2026-01-20"))
    after = review.view()
    assert sorted(t.id for t in after.open_tasks) == sorted(t.id for t in before.open_tasks)
    assert (after.next_timer_at, after.waiting_for) == (before.next_timer_at, before.waiting_for)
    for task in [t for t in review.tasks() if t.bpmn_id == "submit_agency_timeline"]:
        review.do("submit_agency_timeline", cpr.timeline("2026-02-01") | {}, "2026-02-01", assignee=task.assignee)
    assert "merge_summary_timeline" not in review.open()  # waits for the reviewer still


def test_migration_needs_a_reason_and_a_newer_version(db: Database, at_action_plan: Review) -> None:
    with pytest.raises(InvalidData):
        modeling.migrate_instance(db, at_action_plan.id, 1, reason=" ", actor="owner", now=at("2026-04-16"))
    with pytest.raises(MigrationRefused, match="only move to a newer one"):
        modeling.migrate_instance(db, at_action_plan.id, 1, reason="r", actor="owner", now=at("2026-04-16"))


# ---------------------------------------------------------------------------------------------
# The timescales file: what the editor writes is what the deploy check accepts


def test_a_timescales_file_that_does_not_parse_is_refused_naming_the_timescale(db: Database) -> None:
    from tests.web.pages.test_modeler_editors import TIMESCALES

    cpr.deploy(db.url)
    good = modeling.with_durations(TIMESCALES, {("child_practice_review", "notification"): "P7D"})
    assert modeling.check_edits(db, {"processes/timescales.json": good}).ok
    bad = TIMESCALES.replace('"P5D"', '"5 days"', 1).replace('"statutory"', '"advisory"', 1)
    report = modeling.check_edits(db, {"processes/timescales.json": bad})
    assert [p.message for p in report.problems] == [
        "child_practice_review.completion: kind must be 'statutory' or 'local', not 'advisory'",
        "child_practice_review.notification: duration '5 days' is not an ISO 8601 duration of years, "
        "months, weeks and days, such as P5D or P6M",
    ]
    with pytest.raises(InvalidData) as refused:
        modeling.with_durations(TIMESCALES, {("child_practice_review", "completion"): "P0M"})
    assert refused.value.fields == {"/child_practice_review/completion/duration": ["a timescale cannot be zero"]}


@pytest.mark.parametrize(
    ("duration", "problem"),
    [
        ("P5D", None),
        ("P1Y6M", None),
        ("P12W", None),
        ("P", "not an ISO 8601 duration of years, months, weeks and days, such as P5D or P6M"),
        ("P5H", "not an ISO 8601 duration of years, months, weeks and days, such as P5D or P6M"),
        ("p5d", "not an ISO 8601 duration of years, months, weeks and days, such as P5D or P6M"),
        ("P0D", "a timescale cannot be zero"),
        ("P1000D", "no part may be more than 999"),
    ],
)
def test_durations_a_timescale_may_take(duration: str, problem: str | None) -> None:
    assert modeling.duration_problem(duration) == problem
