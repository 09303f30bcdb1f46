"""The register's filters run in the database, alike on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from cprflow import services
from cprflow.core.register import Filters
from cprflow.db.database import Database
from tests.scenarios import cpr
from tests.scenarios.cpr import Review

TODAY = date(2026, 12, 1)


def ids(db: Database, **filters: object) -> list[int]:
    found, total = services.list_instances(db, filters=Filters(today=TODAY, **filters))  # type: ignore[arg-type]
    assert total == len(found)
    return [view.id for view in found]


def test_each_filter_narrows_the_list_in_the_database(any_db: Database) -> None:
    cpr.deploy(any_db.url)
    late = Review.start(any_db.url, "2026-01-05")
    cpr.to_decision(late, decide="concise", identifiers={"child_reference": "CPR-2026-101"})
    late.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    late.send("hold_started", cpr.hold("H1", ["learning_event"]), "2026-01-13")
    ended = Review.start(any_db.url, "2026-01-05")
    cpr.to_decision(ended, decide="extended", register=True, identifiers={"child_reference": "CPR-2026-102"})
    ended.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    ended.send("hold_started", cpr.hold("H9", ["learning_event"]), "2026-01-13")
    ended.send("hold_ended", cpr.release("H9"), "2026-01-20")
    recent = Review.start(any_db.url, "2026-11-20")
    recent.do("record_referral", dict(cpr.referral("2026-11-20"), child_reference="OTHER_1%"), "2026-11-20")

    assert ids(any_db) == [recent.id, ended.id, late.id]
    assert ids(any_db, on_hold=True) == [late.id]  # H9 has ended
    assert ids(any_db, overdue=True) == [ended.id, late.id]  # past 5 July, not complete
    assert ids(any_db, review_type="extended") == [ended.id]
    assert ids(any_db, stage="screening") == [recent.id]
    assert ids(any_db, year=2026) == [recent.id, ended.id, late.id] and ids(any_db, year=2025) == []
    assert ids(any_db, reference="cpr-2026-10") == [ended.id, late.id]
    assert ids(any_db, reference="_1%") == [recent.id]  # LIKE's wildcards are searched for as typed
    assert ids(any_db, reference="1%") == [recent.id]
    assert ids(any_db, sort="referral") == [ended.id, late.id, recent.id]  # a tie: newest first
    assert ids(any_db, sort="oldest") == [late.id, ended.id, recent.id]
    assert ids(any_db, process_id=cpr.FORUM) == []
