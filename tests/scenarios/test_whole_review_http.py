"""A whole concise review driven through the HTTP API, as a client that knows only the published
contract: sign in, list tasks, open a task's form, file documents, complete, send messages, read the
case and the timescale report. Two holds overlap, one placed and ended by the Board Chair.

Time moves by travelling the clock for each request (the service reads the wall clock); timers fire
through the timer worker, as ``cprflow timers run --at`` would.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient

from cprflow.db.database import Database
from cprflow.services import timers, users
from cprflow.web import create_app
from tests.conftest import T0
from tests.fixtures import files
from tests.scenarios import cpr
from tests.web.casefiles_world import BOUNDARY, multipart
from tests.web.conftest import make_settings

PASSWORD = "a long test password"
PEOPLE: dict[str, tuple[list[str], str | None]] = {
    "bu.officer": (["business_unit"], None),
    "subgroup.chair": (["review_subgroup"], None),
    "board.chair": (["board_chair"], None),
    "panel.chair": (["panel_chair"], None),
    "board.member": (["board_member"], None),
    cpr.LEAD: (["reviewer"], None),
    **{agency: (["agency"], agency) for agency in cpr.AGENCIES},
}
#: Who works each lane (the reviewers' and agencies' tasks go to their assignee).
LANES = {
    "Business Unit": "bu.officer",
    "Review Sub-Group": "subgroup.chair",
    "Board Chair": "board.chair",
    "Review decision": "board.chair",
    "Review Panel": "panel.chair",
    "Board": "board.member",
}


class Client:
    """The API as one client sees it, at a chosen moment."""

    def __init__(self, http: FlaskClient) -> None:
        self.http = http
        self.tokens: dict[tuple[str, str], str] = {}

    def call(self, who: str, when: str, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        with time_machine.travel(cpr.at(when), tick=False):
            key = (who, when)
            if key not in self.tokens:
                signed = self.http.post("/api/auth/token", json={"username": who, "password": PASSWORD})
                assert signed.status_code == 200, signed.get_json()
                self.tokens[key] = signed.get_json()["token"]
            headers = {"Authorization": f"Bearer {self.tokens[key]}"}
            response = self.http.open(path, method=method, headers=headers, **kwargs)
        assert response.status_code == status, (method, path, who, response.get_json())
        return response.get_json() if response.is_json else response

    def complete(self, review: int, bpmn_id: str, data: dict[str, Any], when: str, assignee: str | None = None) -> Any:
        who = assignee
        if who is None:
            lane = self._lane_of(review, bpmn_id, when)
            who = LANES[lane]
        [task] = [
            t
            for t in self.call(who, when, "GET", f"/api/tasks?instance={review}")["tasks"]
            if t["bpmn_id"] == bpmn_id and (assignee is None or t["assignee"] == assignee)
        ]
        form = self.call(who, when, "GET", f"/api/tasks/{task['id']}")
        fields = form["schema"]["properties"]
        kept = {k: v for k, v in form["data"].items() if not fields[k].get("readOnly")}  # read-only: context only
        data = {**kept, **data}  # what the form opened with, as a person would leave it
        for key in form["schema"].get("required", []):
            slot = form["schema"]["properties"][key].get("x-document", {}).get("slot")
            if slot and key not in data:
                slot = slot.replace("{assignee}", task["assignee"] or "")
                filed = self.call(
                    who,
                    when,
                    "POST",
                    f"/api/instances/{review}/documents",
                    201,
                    data=multipart(slot, files.pdf(slot, "Agencies shared information late."), f"{slot}.pdf"),
                    content_type=f"multipart/form-data; boundary={BOUNDARY}",
                )
                data[key] = filed["reference"]
        return self.call(who, when, "POST", f"/api/tasks/{task['id']}/complete", json={"data": data})

    def _lane_of(self, review: int, bpmn_id: str, when: str) -> str:
        case = self.call("bu.officer", when, "GET", f"/api/instances/{review}")
        [task] = [t for t in case["open_tasks"] if t["bpmn_id"] == bpmn_id]
        return str(task["lane"])

    def send(self, review: int, who: str, name: str, payload: dict[str, Any], when: str) -> Any:
        return self.call(
            who, when, "POST", f"/api/instances/{review}/messages", json={"name": name, "payload": payload}
        )


@pytest.fixture
def client(review_db: Database) -> Iterator[Client]:
    for username, (roles, agency) in PEOPLE.items():
        users.add_user(review_db, username, password=PASSWORD, roles=roles, agency=agency, now=T0)
    app = create_app(make_settings(review_db.url), db=review_db)
    yield Client(app.test_client())


def fire_timers(url: str, when: str) -> None:
    with cpr.opened(url) as db:
        run = timers.run_due(db, now=cpr.at(when, 0))
    assert run.fired and not run.failed, run


def page_csv(http: FlaskClient, as_of: str) -> list[dict[str, str]]:
    """The timescale report's CSV, as a signed-in member of staff downloads it from its page."""
    with time_machine.travel(cpr.at(as_of), tick=False):
        found = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
        assert found, "the sign-in page carries a CSRF token"
        token = found.group(1)
        http.post("/login", data={"username": "bu.officer", "password": PASSWORD, "csrf_token": token})
        response = http.get(f"/reports/timescales.csv?as_of={as_of}")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.text)))


def test_a_concise_review_with_two_overlapping_holds_through_the_api(client: Client, review_db: Database) -> None:
    c, url = client, review_db.url
    review = c.call(
        "bu.officer", "2026-01-05", "POST", "/api/instances", 201, json={"process": cpr.CPR, "data": cpr.start_data()}
    )["id"]
    c.complete(review, "record_referral", cpr.referral(), "2026-01-05")
    c.complete(review, "screen_referral", cpr.screening(), "2026-01-08")
    c.complete(review, "record_board_decision", cpr.decision("concise"), "2026-01-08")
    c.complete(review, "notify_welsh_government", cpr.NOTIFIED, "2026-01-12")

    # The Board Chair places a criminal hold and, later, ends it; the Business Unit a coroner's.
    c.send(review, "board.chair", "hold_started", cpr.hold("H1", ["practitioner_contact"]), "2026-01-13")
    c.complete(review, "establish_review_panel", cpr.PANEL, "2026-01-16")
    c.send(review, "bu.officer", "hold_started", cpr.hold("H2", ["practitioner_contact"], kind="coroner"), "2026-01-18")
    c.complete(review, "agree_terms_of_reference", cpr.TOR, "2026-01-19")
    c.complete(review, "appoint_reviewers", cpr.reviewers(1), "2026-01-20")
    c.send(review, "board.chair", "hold_ended", cpr.release("H1"), "2026-01-21")
    unknown = c.call(
        "board.chair",
        "2026-01-22",
        "POST",
        f"/api/instances/{review}/messages",
        422,
        json={"name": "hold_ended", "payload": cpr.release("H7")},
    )
    assert list(unknown["error"]["fields"]) == ["/payload/hold_id"]
    c.complete(review, "accept_appointment", cpr.ACCEPT, "2026-01-22", assignee=cpr.LEAD)
    c.send(review, "bu.officer", "hold_ended", cpr.release("H2", "Inquest adjourned"), "2026-01-23")

    case = c.call("bu.officer", "2026-01-24", "GET", f"/api/instances/{review}")
    assert case["status"] == "running"
    assert [(h["hold_id"], h["type"], h["days"]) for h in case["holds"]] == [
        ("H1", "criminal", 8),
        ("H2", "coroner", 5),
    ]

    for agency in cpr.AGENCIES:
        c.complete(review, "submit_agency_timeline", cpr.timeline("2026-02-10"), "2026-02-10", assignee=agency)
    c.complete(review, "merge_summary_timeline", cpr.MERGE, "2026-02-12", assignee=cpr.LEAD)
    c.complete(review, "family_involvement", cpr.FAMILY_DECLINED, "2026-03-01", assignee=cpr.LEAD)
    c.complete(review, "learning_event", cpr.LEARNING, "2026-03-10", assignee=cpr.LEAD)
    c.complete(review, "draft_report", cpr.DRAFT, "2026-03-25", assignee=cpr.LEAD)
    c.complete(review, "panel_quality_assurance", cpr.qa("approve", "2026-04-02"), "2026-04-02")
    c.complete(review, "board_consideration", cpr.board("approve", "2026-04-15"), "2026-04-15")
    c.complete(review, "submit_final_report", cpr.SUBMIT, "2026-04-20")
    c.complete(review, "prepare_publication", cpr.prepare("2026-04-22"), "2026-04-22")
    c.complete(review, "publish_report", cpr.publish("2026-04-25"), "2026-04-25")
    c.complete(review, "disseminate_learning", cpr.DISSEMINATE, "2026-04-25")
    c.complete(review, "finalise_action_plan", cpr.FINALISE, "2026-04-29")
    c.complete(review, "approve_action_plan", cpr.APPROVE_PLAN, "2026-05-06")
    fire_timers(url, "2026-07-18")
    c.complete(review, "review_publication", cpr.KEEP, "2026-07-18")
    fire_timers(url, "2026-08-06")
    for agency in cpr.AGENCIES:
        progress = cpr.progress(agency, "2026-08-06", "complete")
        c.complete(review, "report_action_progress", progress, "2026-08-06", assignee=agency)
    c.complete(review, "audit_action_plan", cpr.audit("2026-08-06", *cpr.ALL_CLOSED), "2026-08-06")
    c.complete(review, "report_audit_progress", cpr.REPORT_PROGRESS, "2026-08-06")
    c.complete(review, "report_difference_made", cpr.DIFFERENCE, "2027-01-10")
    c.complete(review, "close_review", cpr.CLOSE, "2027-01-15")

    case = c.call("bu.officer", "2027-01-16", "GET", f"/api/instances/{review}")
    assert (case["status"], case["data"]["days_on_hold"]) == ("completed", 10)
    assert [(h["hold_id"], h["type"], h["ended_on"], h["days"]) for h in case["holds"]] == [
        ("H1", "criminal", "2026-01-21", 8),
        ("H2", "coroner", "2026-01-23", 5),
    ]
    by_type: dict[str, int] = {}
    for h in case["holds"]:
        by_type[h["type"]] = by_type.get(h["type"], 0) + h["days"]
    assert by_type == {"criminal": 8, "coroner": 5}

    report = c.call("bu.officer", "2027-01-16", "GET", "/api/reports/timescales?as_of=2027-01-16")
    [row] = [r for r in report["reviews"] if r["instance_id"] == review]
    assert (row["hold_days_by_hold"], row["hold_days"], row["hold_days_total"]) == (
        {"H1": 8, "H2": 5},
        {"coroner": 5, "criminal": 8},
        10,
    )
    [line] = [r for r in page_csv(c.http, "2027-01-16") if r["instance_id"] == str(review)]
    assert (line["hold_days_by_hold"], line["hold_days"], line["hold_days_total"]) == (
        "H1: 8; H2: 5",
        "coroner: 5; criminal: 8",
        "10",
    )
