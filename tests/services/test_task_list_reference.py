"""A person's task list names each case by its reference, read with the tasks in one query, on both
databases: the child's reference of a review, the subject's of a SUSR, nothing before it is known."""

from __future__ import annotations

from cprflow import services
from cprflow.db.database import Database
from cprflow.db.models import Instance
from tests.conftest import T0
from tests.scenarios import cpr

SUSR = "single_unified_safeguarding_review"


def test_each_listed_task_carries_its_cases_reference(any_db: Database) -> None:
    cpr.deploy(any_db.url)
    review = services.start_instance(any_db, cpr.CPR, cpr.start_data(), actor="bu", now=T0).id
    other = services.start_instance(
        any_db, cpr.CPR, {**cpr.start_data(), "child_reference": "CPR-2026-099"}, actor="bu", now=T0
    ).id
    susr = services.start_instance(any_db, SUSR, cpr.start_data(process_id=SUSR), actor="bu", now=T0).id
    forum = services.start_instance(any_db, cpr.FORUM, cpr.start_data(process_id=cpr.FORUM), actor="bu", now=T0).id
    references = {t.instance_id: t.reference for t in services.list_tasks(any_db)}
    # a stand-alone forum need not name a case
    assert references == {review: "CPR-2026-017", other: "CPR-2026-099", susr: "SUSR-2026-004", forum: None}
    with any_db.transaction() as session:
        session.execute(
            Instance.__table__.update()  # type: ignore[attr-defined]
            .where(Instance.id == susr)
            .values(data={"child_reference": "", "subject_reference": "SUSR-2026-003"})
        )
    assert {t.instance_id: t.reference for t in services.list_tasks(any_db)}[susr] == "SUSR-2026-003"
