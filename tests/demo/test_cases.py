"""The demo cases walk the real diagrams to their stages, SUSR ones included (make run seeds them)."""

from __future__ import annotations

from datetime import UTC, datetime

from cprflow import services
from cprflow.db.database import Database
from cprflow.demo import cases as demo
from cprflow.diagrams import diagram_set
from cprflow.features import documents, findings
from tests.conftest import ROOT, T0

#: After the demo's own dates (November 2026): a date the Board acted on cannot be in the future.
DEMO_NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_demo_cases_reach_their_stages_and_fill_the_repository(db: Database) -> None:
    services.deploy(db, diagram_set.read_directories(ROOT / "processes", ROOT / "forms"), actor="owner", now=T0)
    started = demo.ensure_reviews(db, now=DEMO_NOW, step_seconds=5, script=ROOT / "processes" / "demo" / "cases.json")
    views = [services.get_instance(db, i) for i in started]
    # Each step runs on the day the script gives it, so deadlines met on those days stay met: no
    # Chair is asked to chase a Welsh Government notification the Business Unit made on time.
    assert "notification_overdue" not in {t.bpmn_id for v in views for t in v.open_tasks}
    [decided] = [
        e
        for e in services.list_events(db, views[1].id)
        if e.kind == "task_completed" and e.detail["bpmn_id"] == "record_board_decision"
    ]
    assert (decided.at, decided.detail["data"]["completed_on"]) == (
        datetime(2026, 11, 5, 10, 0, tzinfo=UTC),
        "2026-11-05",
    )
    with db.transaction(write=False) as session:  # a step's upload is the person's who took the step
        [draft] = [d for d in documents.list_for(session, views[2].id) if d.slot == "draft_report"]
    assert (draft.uploaded_by, draft.uploaded_at.date().isoformat()) == ("reviewer1", "2026-11-24")
    # The forum started on its own is what its title says: being planned, Welsh Government told.
    [forum] = [
        v for v in views if v.process_id == "multi_agency_professional_forum" and not v.data.get("referred_from")
    ]
    assert [t.bpmn_id for t in forum.open_tasks] == ["plan_forum"] and forum.data["notified_date"] == "2026-11-18"
    susr = [v for v in views if v.process_id == "single_unified_safeguarding_review"]
    assert [[t.bpmn_id for t in v.open_tasks] for v in susr] == [["susr_case_review_group"], ["susr_home_office_qa"]]
    with db.transaction(write=False) as session:
        total, [filed] = findings.search(session, findings.Query(text="coercive control"))
    assert (total, filed.board, filed.review_type, filed.themes) == (
        1,
        "Demo Board",
        "susr",
        ["domestic_abuse", "information_sharing"],
    )
    assert (
        demo.ensure_reviews(db, now=DEMO_NOW, step_seconds=5, script=ROOT / "processes" / "demo" / "cases.json") == []
    )
