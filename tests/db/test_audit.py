"""The tamper-evident event log: every way of tampering with stored events is named, on both backends."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from cprflow import services
from cprflow.cli import main
from cprflow.db import audit
from cprflow.db.database import Database
from tests.conftest import T0, sample_diagrams


def _case(db: Database, claims: int = 4) -> int:
    """An instance with a handful of events in its chain: started, and its task claimed and given back."""
    services.deploy(db, sample_diagrams(), actor="owner", now=T0)
    view = services.start_instance(db, "sample_case", {}, actor="bu", now=T0)
    for i in range(claims):
        at = T0 + timedelta(minutes=i + 1)
        services.claim_task(db, view.open_tasks[0].id, actor=f"clerk{i // 2}", now=at, release=i % 2 == 1)
    return view.id


def _rows(db: Database, instance_id: int, *, chain: str | None = None) -> list[Any]:
    with db.engine.connect() as c:
        return c.execute(
            text("SELECT id, seq, hash, prev_hash FROM events WHERE chain = :c ORDER BY seq"),
            {"c": chain or audit.chain_of(instance_id)},
        ).all()


def _sql(db: Database, statement: str, **params: Any) -> None:
    with db.engine.begin() as c:
        c.execute(text(statement), params)


def _broken(db: Database) -> list[dict[str, Any]]:
    report = audit.verify_log(db)
    assert report["ok"] is (not report["broken"])
    return report["broken"]


def test_an_untouched_log_verifies_and_each_instance_has_its_own_chain(any_db: Database) -> None:
    first, second = _case(any_db), services.start_instance(any_db, "sample_case", {}, actor="bu", now=T0).id
    report = audit.verify_log(any_db)
    assert report["ok"] and report["broken"] == []
    assert set(report["heads"]) == {"system", f"instance:{first}", f"instance:{second}"}
    assert [r.seq for r in _rows(any_db, first)] == [1, 2, 3, 4, 5]
    assert _rows(any_db, first)[0].prev_hash == ""
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(_rows(any_db, first)))


def test_an_edited_event_is_named(any_db: Database) -> None:
    instance_id = _case(any_db)
    target = _rows(any_db, instance_id)[2]
    _sql(any_db, "UPDATE events SET actor = 'someone else' WHERE id = :id", id=target.id)
    assert _broken(any_db) == [
        {
            "chain": f"instance:{instance_id}",
            "event_id": target.id,
            "seq": 3,
            "problem": "edited",
            "message": f"event {target.id} (#3) was changed after it was written",
        }
    ]


def test_an_edited_detail_and_time_are_each_named(any_db: Database) -> None:
    instance_id = _case(any_db)
    rows = _rows(any_db, instance_id)
    _sql(
        any_db,
        "UPDATE events SET at = :at WHERE id = :id",
        at=(T0 + timedelta(days=9)).replace(tzinfo=None),
        id=rows[3].id,
    )
    assert [(b["event_id"], b["problem"]) for b in _broken(any_db)] == [(rows[3].id, "edited")]
    _sql(any_db, "UPDATE events SET kind = 'case_read' WHERE id = :id", id=rows[0].id)
    assert [(b["event_id"], b["problem"]) for b in _broken(any_db)] == [(rows[0].id, "edited")]


def test_a_deleted_event_is_named_by_the_one_after_the_gap(any_db: Database) -> None:
    instance_id = _case(any_db)
    rows = _rows(any_db, instance_id)
    _sql(any_db, "DELETE FROM events WHERE id = :id", id=rows[1].id)
    (found,) = _broken(any_db)
    assert (found["event_id"], found["problem"]) == (rows[2].id, "deleted")
    assert "expected #2" in found["message"]


def test_deleting_the_first_or_the_last_event_is_noticed(any_db: Database) -> None:
    instance_id = _case(any_db)
    rows = _rows(any_db, instance_id)
    _sql(any_db, "DELETE FROM events WHERE id = :id", id=rows[-1].id)
    (found,) = _broken(any_db)
    assert (found["event_id"], found["seq"], found["problem"]) == (None, 5, "deleted")
    _sql(any_db, "DELETE FROM events WHERE id = :id", id=rows[0].id)
    (found,) = _broken(any_db)
    assert (found["event_id"], found["problem"]) == (rows[1].id, "deleted")


def test_deleting_a_whole_chain_is_noticed(any_db: Database) -> None:
    instance_id = _case(any_db)
    _sql(any_db, "DELETE FROM events WHERE instance_id = :i", i=instance_id)
    (found,) = _broken(any_db)
    assert found["chain"] == f"instance:{instance_id}" and found["problem"] == "deleted"


def _forge(db: Database, instance_id: int, seq: int, prev_hash: str, event_id: int | None = None) -> int:
    """Insert an event with a correctly computed hash, as someone who knows the scheme would."""
    chain = audit.chain_of(instance_id)
    digest = audit.event_hash(
        chain=chain,
        seq=seq,
        instance_id=instance_id,
        at=T0,
        kind="task_completed",
        actor="forger",
        task_id=None,
        detail={"data": {"decision": "approved"}},
        prev_hash=prev_hash,
    )
    with db.engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO events (instance_id, at, kind, actor, detail, chain, seq, prev_hash, hash) "
                "VALUES (:i, :at, 'task_completed', 'forger', :detail, :chain, :seq, :prev, :hash)"
            ),
            {
                "i": instance_id,
                "at": T0.replace(tzinfo=None),
                "detail": '{"data": {"decision": "approved"}}',
                "chain": chain,
                "seq": seq,
                "prev": prev_hash,
                "hash": digest,
            },
        )
        return int(c.execute(text("SELECT id FROM events WHERE hash = :h"), {"h": digest}).scalar_one())


def test_an_event_inserted_into_the_middle_is_named(any_db: Database) -> None:
    instance_id = _case(any_db)
    rows = _rows(any_db, instance_id)
    # make room at #3 (highest first, through negatives, so UNIQUE (chain, seq) never clashes)
    _sql(any_db, "UPDATE events SET seq = -seq - 1 WHERE chain = :c AND seq >= 3", c=audit.chain_of(instance_id))
    _sql(any_db, "UPDATE events SET seq = -seq WHERE chain = :c AND seq < 0", c=audit.chain_of(instance_id))
    forged = _forge(any_db, instance_id, 3, rows[1].hash)
    (found,) = _broken(any_db)
    assert (found["event_id"], found["seq"], found["problem"]) == (forged, 3, "inserted")


def test_an_event_appended_after_the_head_is_named(any_db: Database) -> None:
    instance_id = _case(any_db)
    rows = _rows(any_db, instance_id)
    forged = _forge(any_db, instance_id, 6, rows[-1].hash)
    (found,) = _broken(any_db)
    assert (found["event_id"], found["problem"]) == (forged, "inserted")


def test_an_event_without_a_place_in_any_chain_is_named(any_db: Database) -> None:
    instance_id = _case(any_db)
    _sql(
        any_db,
        "INSERT INTO events (instance_id, at, kind, actor, detail) VALUES (:i, :at, 'case_read', 'x', '{}')",
        i=instance_id,
        at=T0.replace(tzinfo=None),
    )
    (found,) = _broken(any_db)
    assert found["problem"] == "inserted" and found["chain"] == f"instance:{instance_id}"


def test_two_events_swapped_are_named_as_reordered(any_db: Database) -> None:
    instance_id = _case(any_db)
    rows = _rows(any_db, instance_id)
    _sql(any_db, "UPDATE events SET seq = -1 WHERE id = :id", id=rows[2].id)
    _sql(any_db, "UPDATE events SET seq = 3 WHERE id = :id", id=rows[3].id)
    _sql(any_db, "UPDATE events SET seq = 4 WHERE id = :id", id=rows[2].id)
    (found,) = _broken(any_db)
    assert (found["event_id"], found["seq"], found["problem"]) == (rows[3].id, 3, "reordered")


def test_rows_swapped_whole_are_named_as_reordered(any_db: Database) -> None:
    """Moving whole rows to each other's ids keeps every hash right but not the order they were written in."""
    instance_id = _case(any_db)
    rows = _rows(any_db, instance_id)
    a, b = rows[1].id, rows[2].id
    _sql(any_db, "UPDATE events SET id = -1 WHERE id = :a", a=a)
    _sql(any_db, "UPDATE events SET id = :a WHERE id = :b", a=a, b=b)
    _sql(any_db, "UPDATE events SET id = :b WHERE id = -1", b=b)
    (found,) = _broken(any_db)
    assert found["problem"] == "reordered" and found["seq"] == 3


def test_cli_verify_exits_non_zero_and_names_the_break(
    db: Database, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    instance_id = _case(db)
    monkeypatch.setenv("CPRFLOW_DATABASE_URL", sqlite_url)
    ok = CliRunner().invoke(main, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output
    target = _rows(db, instance_id)[1]
    _sql(db, 'UPDATE events SET detail = \'{"what": "nothing"}\' WHERE id = :id', id=target.id)
    broken = CliRunner().invoke(main, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"instance:{instance_id}: edited: event {target.id} (#2) was changed after it was written" in broken.output


def test_concurrent_writers_never_fork_a_chain(any_db: Database) -> None:
    """One person reading in many tabs at once: their reads still make one unbroken chain."""
    instance_id = _case(any_db, claims=0)
    barrier = threading.Barrier(8, timeout=5)
    errors: list[BaseException] = []

    def read(i: int) -> None:
        try:
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
            for j in range(5):
                services.record_read(any_db, instance_id, actor="r", now=T0 + timedelta(seconds=j), what=f"tab {i}")
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert [r.seq for r in _rows(any_db, instance_id, chain=audit.reader_chain("r"))] == list(range(1, 41))
    assert audit.verify_log(any_db)["ok"]


def test_reads_are_chained_per_reader_and_a_deleted_read_is_found(any_db: Database) -> None:
    """A read never waits for its case's chain (writers hold its head); the reader's own chain still
    notices a read record taken out of the middle or cut off the end."""
    instance_id = _case(any_db, claims=0)
    for i in range(3):
        services.record_read(any_db, instance_id, actor="auditor", now=T0 + timedelta(minutes=i), what=f"page {i}")
    services.record_read(any_db, instance_id, actor="a" * 60, now=T0, what="instance")
    assert [r.seq for r in _rows(any_db, instance_id)] == [1]  # the case's chain holds only its start
    reads = _rows(any_db, instance_id, chain="reads:auditor")
    assert [r.seq for r in reads] == [1, 2, 3]
    assert len(audit.reader_chain("a" * 60)) <= 40  # a long name still fits the chain column
    events = services.list_events(any_db, instance_id)
    assert [e.detail["what"] for e in events if e.kind == "case_read"] == ["page 0", "page 1", "page 2", "instance"]
    assert audit.verify_log(any_db)["ok"]

    _sql(any_db, "DELETE FROM events WHERE id = :id", id=reads[1].id)
    (found,) = _broken(any_db)
    assert (found["chain"], found["event_id"], found["problem"]) == ("reads:auditor", reads[2].id, "deleted")
    _sql(any_db, "DELETE FROM events WHERE id = :id", id=reads[2].id)
    (found,) = _broken(any_db)
    assert (found["chain"], found["problem"]) == ("reads:auditor", "deleted")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_migration_chains_events_written_before_it(request: pytest.FixtureRequest, backend: str) -> None:
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    import cprflow.db.database as repository

    database = Database(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url"))
    config = Config()
    config.set_main_option("script_location", str(Path(repository.__file__).parent / "migrations"))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    for i, kind in enumerate(["deployed", "started", "case_read", "started", "case_read"]):
        instance = None if kind == "deployed" else (1 if i < 3 else 2)
        _sql(
            database,
            "INSERT INTO events (instance_id, at, kind, actor, detail) VALUES (:i, :at, :k, 'x', '{\"n\": 1.0}')",
            i=instance,
            at=(T0 + timedelta(minutes=i)).replace(tzinfo=None),
            k=kind,
        )
    database.upgrade()
    report = audit.verify_log(database)
    assert report["ok"] and report["events"] == 5 and set(report["heads"]) == {"system", "instance:1", "instance:2"}
    assert [r.seq for r in _rows(database, 1)] == [1, 2]
    database.dispose()
