"""The access policy as plain decisions: who reads a case, works a task, starts, sends."""

from __future__ import annotations

import itertools

import pytest

from cprflow.core import access

PERMS = access.Permissions(
    lanes={"Intake": ["business_unit"], "Agencies": ["agency"], "Reviewers": ["reviewer"], "Board": ["board_chair"]},
    assigned_lanes={"Agencies": "agency", "Reviewers": "username"},
    case_readers=["business_unit"],
    appointed_readers={"reviewer": "reviewer_usernames"},
    starters={"review": ["business_unit"]},
    message_senders={"hold_started": ["business_unit", "board_chair"]},
)
BU = access.Actor("bu", frozenset({"business_unit"}))
POLICE = access.Actor("pc", frozenset({"agency"}), "police")
REVIEWER = access.Actor("rev", frozenset({"reviewer"}))
CHAIR = access.Actor("chair", frozenset({"board_chair"}))
AUDITOR = access.Actor("aud", frozenset({"auditor", "business_unit"}))
ADMIN = access.Actor("root", frozenset({"admin"}))


def test_case_readers_auditors_and_admins_read_every_case() -> None:
    for actor in (BU, AUDITOR, ADMIN):
        assert access.can_read_case(actor, PERMS, {})
    assert not access.can_read_case(POLICE, PERMS, {})


@pytest.mark.parametrize("appointed", [["rev", "other"], "rev"])
def test_appointed_readers_read_the_cases_that_name_them(appointed: object) -> None:
    assert access.can_read_case(REVIEWER, PERMS, {"reviewer_usernames": appointed})
    assert not access.can_read_case(REVIEWER, PERMS, {"reviewer_usernames": ["other"]})
    assert not access.can_read_case(POLICE, PERMS, {"reviewer_usernames": ["pc"]})  # a role not appointed


def test_whoever_holds_a_task_reads_its_case() -> None:
    assert not access.can_read_case(CHAIR, PERMS, {})
    assert access.can_read_case(CHAIR, PERMS, {}, holder=True)


def test_lanes_and_assignments_decide_who_works_a_task() -> None:
    assert access.can_work(POLICE, PERMS, "Agencies", "police")
    assert not access.can_work(POLICE, PERMS, "Agencies", "health")
    assert access.can_work(REVIEWER, PERMS, "Reviewers", "rev")
    assert not access.can_work(REVIEWER, PERMS, "Reviewers", None)
    assert access.can_work(BU, PERMS, "Intake", None)
    assert not access.can_work(AUDITOR, PERMS, "Intake", None)  # auditors change nothing, whatever their roles
    assert not access.can_work(BU, PERMS, None, None)


def test_starting_and_sending_are_read_from_the_permissions() -> None:
    assert access.can_start(BU, PERMS, "review") and not access.can_start(POLICE, PERMS, "review")
    assert not access.can_start(AUDITOR, PERMS, "review")
    assert access.can_send(CHAIR, PERMS, "hold_started") and not access.can_send(POLICE, PERMS, "hold_started")


def test_a_caller_is_recorded_by_name() -> None:
    assert access.name_of(POLICE) == "pc" and access.name_of("timer-worker") == "timer-worker"


@pytest.mark.parametrize("actor", [BU, POLICE, REVIEWER, CHAIR, AUDITOR, ADMIN], ids=lambda a: a.username)
def test_the_rules_for_lists_agree_with_the_one_case_decisions(actor: access.Actor) -> None:
    """``work_rule``/``read_rule`` (turned into SQL by the store) say what ``can_work``/``can_read_case`` say."""
    work = access.work_rule(actor, PERMS)
    for lane, assignee in itertools.product([*PERMS.lanes, "Nowhere", None], ["police", "health", "rev", None]):
        by_rule = (
            lane in work.any
            or (lane in work.by_username and assignee == work.username)
            or (lane in work.by_agency and work.agency is not None and assignee == work.agency)
        )
        assert by_rule == access.can_work(actor, PERMS, lane, assignee), (lane, assignee)
    read = access.read_rule(actor, PERMS)
    for names in (["rev"], ["other"], "rev", None):
        data = {"reviewer_usernames": names} if names is not None else {}
        appointed = any(
            actor.username in (data.get(key) if isinstance(data.get(key), list) else [data.get(key)])
            for key in read.appointed_keys
        )
        assert (read.everything or appointed) == access.can_read_case(actor, PERMS, data), names
