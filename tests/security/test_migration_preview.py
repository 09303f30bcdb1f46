"""The migration preview tells a process owner what they need to move running reviews, never the
reviews' data: no stage, no dates, no error text that could quote a case; each read is recorded."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from cprflow import engine
from cprflow.db.database import Database
from cprflow.db.models import Event
from cprflow.services import modeling
from tests.scenarios import cpr
from tests.scenarios.cpr import Review, at
from tests.services.test_modeling import edited

SECRET = "Referral summary: Child C, 4, bruising seen by nursery"


@pytest.fixture
def review(db: Database) -> Review:
    cpr.deploy(db.url)
    started = Review.start(db.url, "2026-01-05")
    cpr.to_draft(started)
    cpr.approve_report(started)
    return started


def _v2(db: Database) -> int:
    files = edited(db, 'action_plan_period = process_timescales["action_plan"]', 'action_plan_period = "P2W"')
    return modeling.deploy_edits(db, files, actor="owner", now=at("2026-04-16")).version_id


def test_the_preview_carries_no_case_data_and_each_read_is_recorded(db: Database, review: Review) -> None:
    v2 = _v2(db)
    [preview] = modeling.preview_migrations(db, v2, actor="owner1", now=at("2026-04-16"))
    shown = repr(vars(preview))
    assert not hasattr(preview, "stage")
    assert "2026-05" not in shown  # no timer's due date (worked out from the case's own dates)
    assert preview.changes["timers"]["before"] == ["action_plan_overdue_timer"]
    with db.transaction(write=False) as session:
        reads = session.scalars(select(Event).where(Event.kind == "case_read", Event.actor == "owner1")).all()
    assert [(e.instance_id, e.detail["what"]) for e in reads] == [(review.id, "migration_preview")]


@pytest.mark.parametrize(
    "failure",
    [
        "raise",  # an error while moving, its message quoting the case
        "refuse",  # a refusal whose words carry an error's text
    ],
)
def test_an_error_while_moving_is_reported_without_its_words(
    db: Database, review: Review, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    v2 = _v2(db)

    def migrate(self: Any, spec: str, now: Any, step_seconds: float) -> engine.Migration:
        if failure == "raise":
            raise ValueError(SECRET)
        return engine.Migration(False, [f"its state would not restore on the new version (KeyError: {SECRET})"], {})

    monkeypatch.setattr(engine.Workflow, "migrate", migrate)
    [preview] = modeling.preview_migrations(db, v2, actor="owner1", now=at("2026-04-16"))
    assert not preview.movable
    assert SECRET not in repr(vars(preview))
    assert preview.reasons == ["moving it fails on the new version (an administrator can try it and see why)"]
