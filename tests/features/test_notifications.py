"""Notifications against a real SMTP server (aiosmtpd on a free port), driven by the real review diagrams.

Each step reopens the database (tests/scenarios/cpr.py); time is always passed in.
"""

from __future__ import annotations

import asyncio
import email
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from cprflow import services
from cprflow.config import MailSettings
from cprflow.core.access import Actor
from cprflow.core.errors import Conflict, DeployRefused, InvalidData
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.features import documents, notifications
from cprflow.services import users
from tests.scenarios import cpr
from tests.scenarios.cpr import Review, at, midnight

BASE = "https://cpr.example.wales"
#: Names a referral carries that must never leave the system by email.
NAMES = ("Gwenllian Pryce", "South Wales Police", "Cwm Taf Morgannwg")
PEOPLE = {
    # username: (roles, language, email, digest)
    "subgroup.chair": (["review_subgroup"], "en", "chair.subgroup@example.wales", False),
    "subgroup.member": (["review_subgroup"], "cy", "aelod@example.wales", False),
    "subgroup.gone": (["review_subgroup"], "en", "gone@example.wales", False),  # disabled below
    "board.chair": (["board_chair"], "en", "board.chair@example.wales", False),
    "bu.officer": (["business_unit"], "en", "bu@example.wales", False),
}


class Sink:
    """An SMTP server's handler: keeps what it accepts; can refuse or hold a delivery on request."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = 0  # answer this many deliveries with 451
        self.hold: threading.Event | None = None  # accept, then wait for this before answering 250
        self.arrived = threading.Event()
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))  # type: ignore[arg-type]
        self.arrived.set()
        if self.hold is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait)
        return "250 2.0.0 Accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sink]:
    sink = Sink()
    port = sink.port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in {
        "CPRFLOW_SMTP_HOST": "127.0.0.1",
        "CPRFLOW_SMTP_PORT": str(port),
        "CPRFLOW_BASE_URL": BASE,
        "CPRFLOW_SMTP_FROM": "cpr@example.wales",
        "CPRFLOW_NOTIFY_BACKOFF_SECONDS": "60",
        "CPRFLOW_NOTIFY_MAX_ATTEMPTS": "3",
        "CPRFLOW_NOTIFY_IN_DOUBT_SECONDS": "600",
    }.items():
        monkeypatch.setenv(name, value)
    yield sink
    if sink.hold is not None:
        sink.hold.set()
    controller.stop()


@pytest.fixture
def url(review_db: Database, smtp: Sink) -> str:
    """A migrated SQLite database with the review diagrams deployed and the people above."""
    return _people(review_db)


@pytest.fixture(params=["sqlite", "postgres"])
def any_url(request: pytest.FixtureRequest, smtp: Sink) -> str:
    """The same on both backends (PostgreSQL: a schema of its own)."""
    if request.param == "sqlite":
        return _people(request.getfixturevalue("review_db"))
    db = request.getfixturevalue("pg_db")
    cpr.deploy(db.url)
    return _people(db)


def _people(db: Database) -> str:
    for username, (roles, language, address, digest) in PEOPLE.items():
        users.add_user(
            db, username, password="long enough password", roles=roles, language=language, now=at("2026-01-01")
        )
        notifications.set_setting(db, username, email=address, daily_digest=digest)
    users.set_disabled(db, "subgroup.gone")
    return db.url


def run(url: str, when: str | datetime, hour: int = 9) -> notifications.NotifyRun:
    with cpr.opened(url) as db:
        return notifications.run_once(db, now=at(when, hour), settings=MailSettings.from_env())


def referral_with_names() -> dict[str, Any]:
    data = cpr.referral()
    data["referring_agency"] = "South Wales Police"
    data["agencies_involved"][0]["contact_name"] = "Gwenllian Pryce"
    return data


def text_of(message: EmailMessage) -> str:
    return message.as_string() + message.get_content()


def test_a_referral_reaches_the_sub_group_members_in_their_language_without_case_details(url: str, smtp: Sink) -> None:
    r = Review.start(url)
    r.do("record_referral", referral_with_names(), "2026-01-05")
    sent = run(url, "2026-01-05", 10)
    assert len(sent.delivery.sent) == 2
    assert sorted(m["To"] for m in smtp.messages) == ["aelod@example.wales", "chair.subgroup@example.wales"]
    (english,) = smtp.to("chair.subgroup@example.wales")
    (welsh,) = smtp.to("aelod@example.wales")
    assert english["Subject"] == "New Child Practice Review referral CPR-2026-017"
    assert welsh["Subject"] == "Atgyfeiriad newydd am Adolygiad Ymarfer Plant CPR-2026-017"
    assert "Is-grŵp Adolygu" in welsh.get_content()
    for message in smtp.messages:
        assert f"{BASE}/reviews/{r.id}" in message.get_content()
        assert not any(name in text_of(message) for name in NAMES)
    assert [e.detail["recipients"] for e in r.events() if e.kind == "notification_queued"] == [
        ["subgroup.chair", "subgroup.member"]
    ]
    run(url, "2026-01-05", 11)
    assert len(smtp.messages) == 2  # never twice


def test_an_overdue_task_gives_one_reminder_and_one_overdue_notice_however_often_the_worker_runs(
    url: str, smtp: Sink
) -> None:
    r = Review.start(url)
    cpr.to_decision(r, decide="concise")  # notify_welsh_government opens, due 13 January, remindBefore P2D
    assert r.task("notify_welsh_government").due_at == midnight("2026-01-13")
    for day, hour in [
        ("2026-01-08", 10),
        ("2026-01-10", 9),
        ("2026-01-11", 0),
        ("2026-01-11", 9),
        ("2026-01-12", 9),
        ("2026-01-13", 0),
        ("2026-01-13", 0),
        ("2026-01-14", 9),
        ("2026-01-20", 9),
    ]:
        run(url, day, hour)
    subjects = [m["Subject"] for m in smtp.to("bu@example.wales")]
    assert subjects == [
        "A task is waiting for you: Notify Welsh Government (CPR-2026-017)",
        "Reminder: Notify Welsh Government is due by 2026-01-13 (CPR-2026-017)",
        "Overdue: Notify Welsh Government was due by 2026-01-13 (CPR-2026-017)",
    ]
    with cpr.opened(url) as db:
        rows = [m for m in notifications.messages_for(db, instance_id=r.id) if m.recipient == "bu.officer"]
    assert [(m.kind, m.created_at) for m in rows] == [
        ("task_ready", at("2026-01-08")),
        ("task_due_soon", midnight("2026-01-11")),
        ("task_overdue", midnight("2026-01-13")),
    ]


def test_two_workers_scanning_at_once_queue_a_reminder_once(any_url: str, smtp: Sink) -> None:
    r = Review.start(any_url)
    cpr.to_decision(r, decide="concise")
    with cpr.opened(any_url) as one, cpr.opened(any_url) as two:
        barrier = threading.Barrier(2)
        found: list[list[tuple[str, str]]] = []

        def scan(db: Database) -> None:
            barrier.wait()
            found.append(notifications.queue_reminders(db, now=midnight("2026-01-14")))

        threads = [threading.Thread(target=scan, args=(db,)) for db in (one, two)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(k for run_ in found for _, k in run_) == ["due_soon", "overdue"]
    run(any_url, "2026-01-14")
    assert len([m for m in smtp.to("bu@example.wales") if m["Subject"].startswith(("Reminder", "Overdue"))]) == 2


def test_a_breach_of_the_statutory_timescale_reaches_the_board_chair(url: str, smtp: Sink) -> None:
    r = Review.start(url)
    cpr.to_decision(r, decide="concise")
    r.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    run(url, "2026-01-12")
    assert smtp.to("board.chair@example.wales") == []
    assert r.tick(cpr.after_day("2026-07-05"))  # six months from the referral, once that day is over
    assert "record_completion_delay" in r.open()
    run(url, "2026-07-06")
    (message,) = smtp.to("board.chair@example.wales")
    assert message["Subject"] == "Statutory timescale breached: CPR-2026-017"
    assert f"{BASE}/reviews/{r.id}" in message.get_content()


def _queue_referral(url: str) -> Review:
    r = Review.start(url)
    r.do("record_referral", referral_with_names(), "2026-01-05")
    return r


def test_a_refused_send_is_retried_with_backoff_and_delivered_once(any_url: str, smtp: Sink) -> None:
    with cpr.opened(any_url) as db:
        notifications.set_setting(db, "subgroup.member", email=None, daily_digest=False)  # one recipient
    _queue_referral(any_url)
    smtp.refuse = 2
    t0 = at("2026-01-05", 10)
    first = run(any_url, t0)
    assert len(first.delivery.retrying) == 1 and first.delivery.sent == []
    with cpr.opened(any_url) as db:
        waiting = [m for m in notifications.messages_for(db) if m.status == "pending"]
    assert [(m.attempts, m.next_attempt_at, m.last_error) for m in waiting] == [
        (1, t0 + timedelta(seconds=60), "SMTP 451")
    ]
    assert run(any_url, t0 + timedelta(seconds=59)).delivery.retrying == []  # not before its time
    assert len(run(any_url, t0 + timedelta(seconds=60)).delivery.retrying) == 1  # second refusal: wait doubles
    assert run(any_url, t0 + timedelta(seconds=179)).delivery.sent == []
    assert len(run(any_url, t0 + timedelta(seconds=180)).delivery.sent) == 1
    run(any_url, t0 + timedelta(hours=1))
    assert [m["To"] for m in smtp.messages] == ["chair.subgroup@example.wales"]


def test_a_server_that_is_down_fails_the_message_after_the_last_attempt_and_admins_retry_it(
    url: str, smtp: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = _queue_referral(url)
    monkeypatch.setenv("CPRFLOW_SMTP_PORT", str(_free_port()))  # nothing listens there
    t0 = at("2026-01-05", 10)
    for seconds in (0, 60, 180):
        run(url, t0 + timedelta(seconds=seconds))
    with cpr.opened(url) as db:
        failed = notifications.problems(db, now=t0 + timedelta(seconds=200))
        assert [(v.status, v.attempts, v.last_error) for v in failed] == [("failed", 3, "ConnectionRefusedError")] * 2
        assert run(url, t0 + timedelta(days=1)).delivery.sent == []  # failed stays failed
        monkeypatch.setenv("CPRFLOW_SMTP_PORT", str(smtp.port))
        again = notifications.retry(db, failed[0].id, actor="admin", now=t0 + timedelta(days=1))
        assert again.status == "pending"
        with pytest.raises(Conflict):
            notifications.retry(db, failed[0].id, actor="admin", now=t0 + timedelta(days=1))  # only failed or in doubt
    assert len(run(url, t0 + timedelta(days=1)).delivery.sent) == 1
    assert len(smtp.messages) == 1
    retried = [e for e in r.events() if e.kind == "notification_retried"]
    assert [(e.actor, e.detail["from"]) for e in retried] == [("admin", "failed")]


def test_a_worker_killed_between_sending_and_recording_does_not_send_twice(any_url: str, smtp: Sink) -> None:
    with cpr.opened(any_url) as db:
        notifications.set_setting(db, "subgroup.member", email=None, daily_digest=False)  # one recipient is enough
    r = _queue_referral(any_url)
    smtp.hold = threading.Event()
    env = {**os.environ, "CPRFLOW_DATABASE_URL": any_url}
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "cprflow"), "notify", "run", "--at", "2026-01-05T10:00:00+00:00"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert smtp.arrived.wait(120), "the worker never reached the SMTP server"
        os.kill(worker.pid, signal.SIGKILL)  # the server has the message; the worker never hears "250"
        worker.wait(60)
    finally:
        smtp.hold.set()
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == -signal.SIGKILL
    (first,) = smtp.messages
    smtp.hold = None
    later = at("2026-01-05", 11)
    run(any_url, later)
    run(any_url, later + timedelta(hours=1))  # new workers: the claimed row is not sent again by itself
    assert len(smtp.messages) == 1
    with cpr.opened(any_url) as db:
        assert [v.status for v in notifications.problems(db, now=later)] == ["in_doubt"]
        (doubt,) = notifications.problems(db, now=later)
        notifications.retry(db, doubt.id, actor="admin", now=later)  # an admin who checked decides to resend
    run(any_url, later)
    assert len(smtp.messages) == 2 and smtp.messages[1]["Message-ID"] == first["Message-ID"]  # recognisable downstream
    assert [e.detail["from"] for e in r.events() if e.kind == "notification_retried"] == ["in_doubt"]


def test_a_daily_digest_gathers_a_persons_notifications_into_one_email(url: str, smtp: Sink) -> None:
    with cpr.opened(url) as db:
        notifications.set_setting(db, "subgroup.member", email="aelod@example.wales", daily_digest=True)
    first, second = _queue_referral(url), _queue_referral(url)
    run(url, "2026-01-05", 12)
    assert smtp.to("aelod@example.wales") == [] and len(smtp.to("chair.subgroup@example.wales")) == 2
    run(url, "2026-01-06", 6)  # before the digest hour
    assert smtp.to("aelod@example.wales") == []
    run(url, "2026-01-06", 8)
    run(url, "2026-01-06", 9)
    (digest,) = smtp.to("aelod@example.wales")
    assert digest["Subject"] == "Eich crynodeb dyddiol o Adolygiadau Ymarfer Plant"
    body = digest.get_content()
    assert f"{BASE}/reviews/{first.id}" in body and f"{BASE}/reviews/{second.id}" in body
    assert not any(name in body for name in NAMES)


def test_the_letters_the_review_needs_are_filed_as_case_documents(url: str, smtp: Sink) -> None:
    r = Review.start(url)
    cpr.to_decision(r, decide="concise")
    r.do("notify_welsh_government", cpr.NOTIFIED, "2026-01-12")
    with cpr.opened(url) as db, db.transaction(write=False) as session:
        (letter,) = documents.list_for(session, r.id)
        text = documents.text(session, letter.id) or ""
    assert (letter.slot, letter.version, letter.content_type, letter.uploaded_by) == (
        "wg_notification_letter",
        1,
        documents.PDF,
        "bu.officer",
    )
    assert "Hysbysiad i Lywodraeth Cymru" in text and "Notification to Welsh Government" in text
    assert "CPR-2026-017" in text and "Dîm Diogelu" in text
    stored = [e for e in r.events() if e.kind == "document_stored"]
    assert [e.detail["slot"] for e in stored] == ["wg_notification_letter"]


# ---------------------------------------------------------------------------------------------
# The deploy check


def _edited(tmp_path: Path, edit: Any) -> diagram_set.DiagramSet:
    root = cpr.copy_diagrams(tmp_path / "set")
    edit(root)
    return cpr.diagrams(root)


def _json_edit(path: Path, change: Any) -> None:
    import json

    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


@pytest.mark.parametrize(
    "edit, file, message",
    [
        (
            lambda root: _json_edit(root / "forms/referral_received.notification.json", lambda d: d.pop("cy")),
            "forms/referral_received.notification.json",
            "'cy' needs a 'subject' and a 'body'",
        ),
        (
            lambda root: _json_edit(
                root / "forms/task_overdue.notification.json", lambda d: d["en"].update(body="{{ child_name }} is late")
            ),
            "forms/task_overdue.notification.json",
            "'child_name' is undefined",
        ),
        (
            lambda root: (root / "forms/statutory_breach.notification.json").unlink(),
            "processes/child_practice_review.bpmn",
            "notification template 'statutory_breach' not found",
        ),
        (
            lambda root: _replace(root, 'name="remindBefore" value="P2D"', 'name="remindBefore" value="two days"'),
            "processes/child_practice_review.bpmn",
            "remindBefore 'two days' is not an ISO 8601 duration",
        ),
        (
            lambda root: _replace(root, "value=\"'board_chair'\"", "value=\"'board_chiar'\""),
            "processes/child_practice_review.bpmn",
            "role 'board_chiar' is not a role",
        ),
        (
            lambda root: (root / "forms/wg_notification.letter.json").unlink(),
            "processes/child_practice_review.bpmn",
            "letter template 'wg_notification' not found",
        ),
    ],
)
def test_deploy_refuses_notifications_it_could_not_send(
    db: Database, tmp_path: Path, edit: Any, file: str, message: str
) -> None:
    with pytest.raises(DeployRefused) as refused:
        services.deploy(db, _edited(tmp_path, edit), actor="owner", now=at("2026-01-01"))
    assert any(p.file == file and message in p.message for p in refused.value.problems), refused.value.problems
    assert services.list_versions(db) == []


def _replace(root: Path, old: str, new: str) -> None:
    path = root / "processes/child_practice_review.bpmn"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_email_setting_must_be_an_address(db: Database) -> None:
    users.add_user(db, "someone", password="long enough password", roles=["business_unit"], now=at("2026-01-01"))
    with pytest.raises(InvalidData) as refused:
        notifications.set_setting(db, "someone", email="not an address", daily_digest=False)
    assert refused.value.fields == {"/email": ["is not an email address"]}
    assert notifications.get_setting(db, "someone") == notifications.SettingView("someone", None, False)


def test_someone_given_a_task_by_somebody_else_is_told_in_their_language(url: str, smtp: Sink) -> None:
    """The Business Unit gives the police's timeline to one officer: that officer is emailed, in Welsh,
    without case details; taking a task yourself, or giving it to yourself, tells no one."""
    with cpr.opened(url) as db:
        for username, language, address in (
            ("police.one", "cy", "un@heddlu.example.wales"),
            ("police.two", "en", "two@police.example.wales"),
        ):
            users.add_user(
                db,
                username,
                password="long enough password",
                roles=["agency"],
                agency="police",
                language=language,
                now=at("2026-01-01"),
            )
            notifications.set_setting(db, username, email=address, daily_digest=False)
    r = Review.start(url)
    cpr.to_reviewers(r)
    timeline = r.task("submit_agency_timeline", assignee="police").id
    run(url, "2026-01-20", 10)
    before = len(smtp.messages)
    bu, officer = (
        Actor("bu.officer", frozenset({"business_unit"})),
        Actor("police.two", frozenset({"agency"}), "police"),
    )
    with cpr.opened(url) as db:
        services.assign_task(db, timeline, "police.one", actor=bu, now=at("2026-01-20", 11))
        services.assign_task(db, timeline, None, actor=bu, now=at("2026-01-20", 12))
        services.claim_task(db, timeline, actor=officer, now=at("2026-01-20", 12))  # taken, not given
    run(url, "2026-01-20", 13)
    (told,) = smtp.messages[before:]
    assert told["To"] == "un@heddlu.example.wales"
    assert told["Subject"] == "Rhoddwyd tasg i chi: Submit the agency timeline (CPR-2026-017)"
    assert f"{BASE}/tasks/{timeline}" in told.get_content()
    with cpr.opened(url) as db:
        kinds = [m.kind for m in notifications.messages_for(db, instance_id=r.id) if m.recipient == "police.one"]
    assert kinds.count("task_assigned") == 1
