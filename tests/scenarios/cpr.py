"""Driver for Child Practice Review scenarios: the real ``processes/`` and ``forms/``, run through
``cprflow.services`` and ``cprflow.services.timers`` as their users would.

Every step opens a brand-new ``Database`` on the same URL and disposes it afterwards, so nothing
survives in memory between steps: each step proves the last one was persisted. Time is always
passed in (``when``), never read from the clock.

The form data every scenario submits lives here, in one place (builders below the driver).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cprflow import services
from cprflow.core import document_fields
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.features import documents
from cprflow.services import timers
from tests.fixtures import files

ROOT = Path(__file__).resolve().parents[2]
#: The diagram set the scenarios deploy: the repository's own, or an edited copy to check against
#: the scenarios before it is committed (``CPRFLOW_SCENARIO_DIAGRAMS=/path/with/processes-and-forms``).
DIAGRAMS = Path(os.environ.get("CPRFLOW_SCENARIO_DIAGRAMS") or ROOT)
CPR = "child_practice_review"
FORUM = "multi_agency_professional_forum"
SUSR = "single_unified_safeguarding_review"

#: Who does a lane's work when the task has no named assignee (the services record the actor).
LANE_ACTORS = {
    "Business Unit": "bu.officer",
    "Review Sub-Group": "subgroup.chair",
    "Board Chair": "board.chair",
    "Review decision": "board.chair",
    "Review Panel": "panel.chair",
    "Board": "board.member",
}


def at(when: str | datetime, hour: int = 9) -> datetime:
    """``"2026-01-05"`` -> 09:00 UTC that day (or the given hour); datetimes pass through."""
    if isinstance(when, datetime):
        return when
    return datetime.fromisoformat(when).replace(hour=hour, tzinfo=UTC)


def midnight(day: str) -> datetime:
    """Task due dates and ``timer_at`` moments fall at 00:00 UTC on their day."""
    return at(day, 0)


def after_day(day: str) -> datetime:
    """When an alarm for something due on ``day`` fires: the day is over in Wales (00:00 Europe/London
    the next day; 23:00 UTC on the day in summer time)."""
    return datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(0), ZoneInfo("Europe/London")).astimezone(
        UTC
    )


def diagrams(root: Path = DIAGRAMS) -> diagram_set.DiagramSet:
    return diagram_set.read_directories(root / "processes", root / "forms")


def copy_diagrams(target: Path) -> Path:
    """A copy of ``processes/`` and ``forms/`` under ``target`` to edit as a new version."""
    for folder in ("processes", "forms"):
        shutil.copytree(DIAGRAMS / folder, target / folder)
    return target


def deploy(url: str, root: Path = DIAGRAMS, *, when: str | datetime = "2026-01-01") -> int:
    with opened(url) as db:
        return services.deploy(db, diagrams(root), actor="owner", now=at(when)).version_id


@contextmanager
def opened(url: str) -> Iterator[Database]:
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()


class Review:
    """One running instance, driven step by step; every call reopens the database."""

    def __init__(self, url: str, instance_id: int) -> None:
        self.url = url
        self.id = instance_id

    @classmethod
    def start(
        cls,
        url: str,
        when: str | datetime = "2026-01-05",
        *,
        process_id: str = CPR,
        data: dict[str, Any] | None = None,
        actor: str = "bu.officer",
    ) -> Review:
        with opened(url) as db:
            if data is None:  # what the process's start form asks, as the Business Unit knows it that day
                data = start_data(at(when).date().isoformat(), process_id)
            view = services.start_instance(db, process_id, data, actor=actor, now=at(when))
        return cls(url, view.id)

    # -- reading -------------------------------------------------------------------------------

    def view(self) -> services.InstanceView:
        with opened(self.url) as db:
            return services.get_instance(db, self.id)

    def data(self) -> dict[str, Any]:
        return self.view().data

    def tasks(self, bpmn_id: str | None = None) -> list[services.TaskView]:
        with opened(self.url) as db:
            found = services.list_tasks(db, instance_id=self.id)
        return [t for t in found if bpmn_id is None or t.bpmn_id == bpmn_id]

    def open(self) -> list[str]:
        """The open tasks' element ids, sorted (one entry per task)."""
        return sorted(t.bpmn_id for t in self.tasks())

    def task(self, bpmn_id: str, assignee: str | None = None) -> services.TaskView:
        found = [t for t in self.tasks(bpmn_id) if assignee is None or t.assignee == assignee]
        if len(found) != 1:
            raise AssertionError(
                f"expected one open {bpmn_id}"
                + (f" for {assignee}" if assignee else "")
                + f", got {[(t.bpmn_id, t.assignee) for t in self.tasks()]}"
            )
        return found[0]

    def events(self) -> list[services.EventView]:
        with opened(self.url) as db:
            return services.list_events(db, self.id, limit=10_000)

    # -- acting --------------------------------------------------------------------------------

    def do(
        self,
        bpmn_id: str,
        data: dict[str, Any],
        when: str | datetime,
        actor: str | None = None,
        *,
        assignee: str | None = None,
    ) -> services.InstanceView:
        """Complete the one open ``bpmn_id`` task (the one assigned to ``assignee`` if given).

        A document the form requires and ``data`` leaves out is uploaded first (a clean PDF), as the
        person would before completing the form."""
        task = self.task(bpmn_id, assignee)
        who = actor or task.assignee or LANE_ACTORS.get(task.lane or "", "someone")
        with opened(self.url) as db:
            schema = services.get_task(db, task.id, with_values=False).schema
        data = dict(data)
        for pointer, template in document_fields.fields(schema):
            key = pointer.strip("/")
            if "/" not in key and key in schema.get("required", []) and key not in data:
                slot = document_fields.slot_of(template, task.assignee) or "unknown"
                data[key] = self.upload(
                    slot,
                    files.pdf(
                        f"{slot.replace('_', ' ').capitalize()}",
                        "The review found that agencies shared information late.",
                    ),
                    when,
                    actor=who,
                    filename=f"{slot}.pdf",
                )
        with opened(self.url) as db:
            return services.complete_task(db, task.id, data, actor=who, now=at(when))

    def upload(
        self,
        slot: str,
        content: bytes,
        when: str | datetime,
        *,
        actor: str = "rev.lewis",
        filename: str = "document.pdf",
    ) -> dict[str, Any]:
        """File a document in a slot of this review; the reference a form's document field holds."""
        with opened(self.url) as db, db.transaction() as session:
            view = documents.store(
                session,
                instance_id=self.id,
                slot=slot,
                filename=filename,
                data=content,
                actor=actor,
                now=at(when),
                text_now=True,
            )
        return document_fields.reference(view)

    def send(
        self, name: str, payload: dict[str, Any], when: str | datetime, actor: str = "board.chair"
    ) -> services.InstanceView:
        with opened(self.url) as db:
            return services.send_message(db, self.id, name, payload, actor=actor, now=at(when))

    def tick(self, when: str | datetime, hour: int = 0) -> bool:
        """Run the timer worker at ``when`` (midnight by default); True if this review's timer fired."""
        return self.id in tick(self.url, when, hour)


def tick(url: str, when: str | datetime, hour: int = 0) -> list[int]:
    """Run the timer worker once at ``when`` (midnight by default); the instances whose timers fired."""
    with opened(url) as db:
        run = timers.run_due(db, now=at(when, hour))
    assert not run.failed and not run.conflicts, run
    return run.fired


# ---------------------------------------------------------------------------------------------
# Form data (fictional), in the shapes the forms require

AGENCIES = ["police", "health", "education"]
ACTION_OF = {"police": "A1", "health": "A2", "education": "A3"}
LEAD, SECOND, REPLACEMENT = "rev.lewis", "rev.jones", "rev.evans"


#: What the Child Practice Review's start form asks (forms/start_child_practice_review.schema.json).
START_FIELDS = ("child_reference", "board_area", "referral_date")


def start_data(referral_date: str = "2026-01-05", process_id: str = CPR) -> dict[str, Any]:
    """A process's start form answered: the review's as ``referral`` answers the same questions, the
    SUSR's (forms/start_single_unified_safeguarding_review.schema.json) and the forum's
    (forms/start_multi_agency_professional_forum.schema.json) as their first tasks are answered here."""
    if process_id == SUSR:
        return {"subject_reference": "SUSR-2026-004", "board_area": "Gwent", "referral_date": referral_date}
    if process_id == FORUM:
        return {key: PLAN_FORUM[key] for key in ("forum_title", "forum_purpose")} | {"board_area": "Cwm Taf Morgannwg"}
    return {key: referral(referral_date)[key] for key in START_FIELDS}


def referral(
    referral_date: str = "2026-01-05",
    *,
    register: bool = False,
    in_area: bool = True,
    abuse: bool = True,
    outcome: str = "died",
) -> dict[str, Any]:
    return {
        "child_reference": "CPR-2026-017",
        "board_area": "Cwm Taf Morgannwg",
        "in_board_area": in_area,
        "referring_agency": "South Wales Police",
        "referral_date": referral_date,
        # the incident came before the referral (scenarios with older referrals move it back)
        "event_date": min("2025-12-20", (date.fromisoformat(referral_date) - timedelta(days=8)).isoformat()),
        "outcome": outcome,
        "abuse_or_neglect": abuse,
        "register_or_looked_after_in_6_months": register,
        "agencies_involved": [{"name": a} for a in AGENCIES],
        # From 1 October 2024 a referral is a SUSR unless kept as a CPR (processes/review_framework.dmn).
        "review_framework": "child_practice_review",
    }


def screening(
    *, register: bool = False, in_area: bool = True, abuse: bool = True, outcome: str = "died", mapf: bool = False
) -> dict[str, Any]:
    return {
        "in_board_area": in_area,
        "abuse_or_neglect": abuse,
        "outcome": outcome,
        "register_or_looked_after_in_6_months": register,
        "multi_agency_learning_available": mapf,
        "adult_at_risk": False,
        "homicide_by_relative_partner_household": False,
        "recommendation": "Recommend as the table says.",
    }


def decision(choice: str, day: str = "2026-01-08") -> dict[str, Any]:
    return {
        "decision": choice,
        "decision_rationale": "Criteria considered by the Board.",
        "decision_date": day,
    }


NOTIFIED = {"date_notified": "2026-01-12"}
PANEL = {
    "panel_established_date": "2026-01-16",
    "panel_chair_name": "A. Independent",
    "panel_chair_independent": True,
    "panel_members": [{"name": "P. Police", "agency": "police"}, {"name": "H. Health", "agency": "health"}],
}
TOR = {
    "review_period_start": "2024-12-20",
    "review_period_end": "2025-12-20",
    "scope": "Practice in the 12 months.",
    "key_questions": [{"question": "Was information shared?"}],
    "tor_agreed_date": "2026-01-19",
}


def reviewers(count: int) -> dict[str, Any]:
    people = [{"username": LEAD, "name": "R. Lewis"}, {"username": SECOND, "name": "S. Jones"}]
    return {"reviewers": people[:count], "appointment_date": "2026-01-20"}


ACCEPT = {"appointment_response": "accept", "independence_declared": True}
DECLINE = {"appointment_response": "decline", "decline_reason": "Unavailable"}


def duties(slot: str, *, withdraw: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "statutory_duties": [
            {
                "agency": "police",
                "duty": "s.47 enquiry",
                "fulfilled": "partly",
                "findings": f"{slot}: strategy meeting late",
            }
        ],
        "statutory_plans": [
            {
                "plan": "child_protection_plan",
                "in_place": "March to December 2025",
                "followed": "partly",
                "findings": f"{slot}: core group did not meet for 10 weeks",
            }
        ],
    }
    if withdraw:
        data.update(withdraw_from_review=True, withdrawal_reason="Appointed to a conflicting role")
    return data


REPLACE = {
    "withdrawal_reason": "Conflict of interest found",
    "replacement_username": REPLACEMENT,
    "replacement_name": "T. Evans",
    "replacement_organisation": "Independent",
}


def timeline(day: str) -> dict[str, Any]:
    return {
        "timeline_events": [{"date": "2025-06-01", "event": "Home visit", "significance": "medium"}],
    }


MERGE = {
    "summary_timeline": [{"date": "2025-06-01", "event": "Home visit", "agencies": "health"}],
    "timeline_merged_date": "2026-02-12",
}
FAMILY_DECLINED = {
    "family_wishes": "declined",
    "child_views": "not_possible",
    "declined_reason": "The family chose not to take part.",
    "family_recorded_date": "2026-02-01",  # on or before every day the scenarios record it
}
LEARNING = {
    "learning_event_date": "2026-03-10",
    "facilitated_by": "R. Lewis",
    "learning_points": [{"theme": "Information sharing", "learning": "Share concerns early."}],
}
OUTLINE = [
    {"action_id": "A1", "action": "Share referrals within 24 hours", "agency": "police", "due_date": "2026-09-30"},
    {"action_id": "A2", "action": "Train health visitors", "agency": "health", "due_date": "2026-10-31"},
    {"action_id": "A3", "action": "Audit school referrals", "agency": "education", "due_date": "2026-12-31"},
]
FINDINGS = [
    {
        "finding": "Concerns about the home were not shared between health and police.",
        "learning": "Share concerns with partner agencies the same day.",
    },
    {"finding": "Nobody asked the child what home was like."},
]
DRAFT = {"anonymised": True, "report_summary": "Summary.", "findings": FINDINGS, "outline_action_plan": OUTLINE}


def revision(number: int, note: str) -> dict[str, Any]:
    return dict(DRAFT, revision_notes=note)  # the driver uploads the next version of the draft


def qa(choice: str, day: str, feedback: str | None = None) -> dict[str, Any]:
    return {"qa_decision": choice, "qa_date": day, **({"panel_feedback": feedback} if feedback else {})}


#: Themes the Board files an approved report under (processes/themes.json).
THEMES = ["information_sharing", "professional_curiosity"]


def board(choice: str, day: str, challenge: str | None = None, themes: list[str] | None = None) -> dict[str, Any]:
    return {
        "board_decision": choice,
        "board_meeting_date": day,
        **({"board_challenge": challenge} if challenge else {}),
        **({"review_themes": themes or THEMES} if choice == "approve" else {}),
    }


SUBMIT = {"submitted_to_wg_date": "2026-04-20"}


def prepare(day: str = "2026-04-22", *, criminal: bool = False, coroner: bool = False) -> dict[str, Any]:
    return {"live_criminal_proceedings": criminal, "coroner_advises_delay": coroner, "publication_checked_date": day}


def publish(day: str) -> dict[str, Any]:
    return {"published_date": day, "publication_url": "https://ctmsafeguarding.example/cpr/17"}


DISSEMINATE = {"dissemination": [{"channel": "seven_minute_briefing", "audience": "All agencies"}]}
KEEP = {"publication_decision_after_period": "keep_published"}
FINALISE = {
    "actions": OUTLINE,
    "finalised_date": "2026-04-29",
    "strategic_implications_addressed": "A1 and A2 carry the Board's point on sharing information.",
}
APPROVE_PLAN = {"action_plan_approved_date": "2026-05-06", "action_plan_submitted_to_wg_date": "2026-05-06"}
DELAY = {
    "delay_reasons": [{"reason": "agency_information", "details": "Late timelines"}],
    "expected_completion_date": "2026-10-31",
    "delay_reported_to": "Board; WG",
    "delay_recorded_date": "2026-07-05",
}
PLAN_OVERDUE = {"overdue_reasons": "Agencies slow to agree owners", "board_direction": "Finalise by 27 May"}


def progress(agency: str, day: str, status: str = "on_track") -> dict[str, Any]:
    """An agency's report on its action (agencies cannot report "superseded": only the audit can)."""
    status = status if status in ("complete", "on_track", "overdue", "blocked") else "on_track"
    return {
        "action_updates": [
            {"action_id": ACTION_OF[agency], "status_reported": status, "evidence": "EV-" + ACTION_OF[agency]}
        ],
    }


def audit(day: str, statuses: dict[str, str], accepted: tuple[str, ...] = ()) -> dict[str, Any]:
    rows = []
    for action in OUTLINE:
        status = statuses.get(action["action_id"], "on_track")
        rows.append(
            dict(
                action,
                audit_status=status,
                evidence_accepted=action["action_id"] in accepted,
                superseded_reason="Replaced by the regional protocol" if status == "superseded" else "",
                effect="Referrals now reach partners the same day." if status == "complete" else "Not yet seen.",
                making_a_difference="yes" if status == "complete" else "too_early",
            )
        )
    return {"actions": rows}  # who audited and the date come from the step


ALL_CLOSED = ({"A1": "complete", "A2": "complete", "A3": "complete"}, ("A1", "A2", "A3"))
REPORT_PROGRESS = {
    "reported_to_board_date": "2026-08-06",  # no later than the first cycle's report (a date cannot be ahead)
    "reported_to_wg_date": "2026-08-06",
    "progress_summary": "Progress this cycle.",
}
DIFFERENCE = {
    "difference_made_summary": "Referrals now shared within a day.",
    "difference_reported_to_wg_date": "2027-01-10",
}
CLOSE = {"closure_date": "2027-01-15", "learning_disseminated": True}
OTHER_BOARD = {"other_board": "Gwent Safeguarding Board", "date_referred": "2026-01-08"}

PLAN_FORUM = {
    "forum_title": "Learning from CPR-2026-017",
    "forum_purpose": "Examine information sharing",
    "facilitator": "Sub-Group chair",
    "planned_date": "2026-02-20",
}
HOLD_FORUM = {"held_date": "2026-02-20", "discussion_summary": "Reflection on information sharing."}
FORUM_LEARNING = {"learning_points": [{"learning": "Use the regional referral form"}]}
FORUM_DISSEMINATION = {"dissemination": [{"channel": "training"}], "dissemination_completed_date": "2026-03-05"}


def hold(
    hold_id: str, scope: list[str], *, kind: str = "criminal", reason: str = "Charging decision pending", **extra: Any
) -> dict[str, Any]:
    return {"hold_id": hold_id, "type": kind, "reason": reason, "authorised_by": "Board Chair", "scope": scope, **extra}


def release(hold_id: str, reason: str = "Charging decision made", **extra: Any) -> dict[str, Any]:
    return {"hold_id": hold_id, "reason": reason, "ended_by": "Board Chair", **extra}


# ---------------------------------------------------------------------------------------------
# Stretches of a review that many scenarios share (the dates are the proven ones)


def to_decision(
    r: Review,
    *,
    register: bool = False,
    decide: str | None = None,
    mapf: bool = False,
    in_area: bool = True,
    abuse: bool = True,
    outcome: str = "died",
    identifiers: dict[str, Any] | None = None,
) -> None:
    r.do(
        "record_referral",
        dict(referral(register=register, in_area=in_area, abuse=abuse, outcome=outcome), **(identifiers or {})),
        "2026-01-05",
    )
    r.do(
        "screen_referral",
        screening(register=register, mapf=mapf, in_area=in_area, abuse=abuse, outcome=outcome),
        "2026-01-08",
    )
    if decide:
        criteria = r.data().get("review_type")
        if decide in ("concise", "extended") and criteria in ("concise", "extended"):
            decide = criteria  # the Board must undertake what the criteria set: its form refuses anything else
        r.do("record_board_decision", decision(decide), "2026-01-08")


def to_reviewers(
    r: Review, kind: str = "concise", *, register: bool | None = None, identifiers: dict[str, Any] | None = None
) -> None:
    """Referral to the reviewers' appointment on 20 January (timelines then due 17 February).

    ``kind`` is what the Board's form asks for; the review type itself comes from the criteria
    (``register`` defaults to the facts that give ``kind``), and as many reviewers are appointed
    as that type needs."""
    to_decision(r, register=kind == "extended" if register is None else register, decide=kind, identifiers=identifiers)
    r.do("notify_welsh_government", NOTIFIED, "2026-01-12")
    r.do("establish_review_panel", PANEL, "2026-01-16")
    r.do("agree_terms_of_reference", TOR, "2026-01-19")
    r.do("appoint_reviewers", reviewers(2 if r.data()["review_type"] == "extended" else 1), "2026-01-20")


def accept_all(r: Review, day: str = "2026-01-22") -> None:
    """Every appointed reviewer accepts; in an extended review each also examines the statutory duties."""
    extended = r.data()["review_type"] == "extended"
    for slot, username in (("lead", LEAD), ("second", SECOND))[: 2 if extended else 1]:
        r.do("accept_appointment", ACCEPT, day, assignee=username)
        if extended:
            r.do("examine_statutory_duties", duties(slot), day, assignee=username)


def timelines(r: Review, day: str = "2026-02-10") -> None:
    for agency in AGENCIES:
        r.do("submit_agency_timeline", timeline(day), day, assignee=agency)


def to_draft(
    r: Review, kind: str = "concise", *, register: bool | None = None, identifiers: dict[str, Any] | None = None
) -> None:
    """A review up to its open first draft (learning event held on 10 March, draft due 21 April).

    ``identifiers`` (``child_name``, ``schools``...) are recorded with the referral."""
    to_reviewers(r, kind, register=register, identifiers=identifiers)
    accept_all(r)
    timelines(r)
    # In an extended review both reviewers are offered these steps; the lead does them here.
    r.do("merge_summary_timeline", MERGE, "2026-02-12", assignee=LEAD)
    r.do("family_involvement", FAMILY_DECLINED, "2026-03-01", assignee=LEAD)
    r.do("learning_event", LEARNING, "2026-03-10", assignee=LEAD)


#: An extended review's draft reports on the agencies' statutory duties to the Panel and the Board.
DUTIES_SUMMARY = "Police and health met their statutory duties in part: the strategy meeting was late."


def approve_report(r: Review) -> None:
    extended = r.data()["review_type"] == "extended"
    draft = dict(DRAFT, statutory_duties_summary=DUTIES_SUMMARY) if extended else DRAFT
    r.do("draft_report", draft, "2026-03-25", assignee=LEAD)
    r.do("panel_quality_assurance", qa("approve", "2026-04-02"), "2026-04-02")
    r.do("board_consideration", board("approve", "2026-04-15"), "2026-04-15")


def publication(
    r: Review, prepare_day: str = "2026-04-22", publish_day: str = "2026-04-25", *, submit_day: str = "2026-04-20"
) -> None:
    r.do("submit_final_report", dict(SUBMIT, submitted_to_wg_date=submit_day), submit_day)
    r.do("prepare_publication", prepare(prepare_day), prepare_day)
    r.do("publish_report", publish(publish_day), publish_day)
    r.do("disseminate_learning", DISSEMINATE, publish_day)


def action_plan(r: Review) -> None:
    r.do("finalise_action_plan", FINALISE, "2026-04-29")
    r.do("approve_action_plan", APPROVE_PLAN, "2026-05-06")


def to_audit_loop(r: Review) -> None:
    """A concise review approved, published, planned and past its 12 weeks: waiting for audit 1 (6 Aug)."""
    to_draft(r)
    approve_report(r)
    publication(r)
    action_plan(r)
    assert r.tick("2026-07-18")
    r.do("review_publication", KEEP, "2026-07-18")


def to_closure(r: Review) -> None:
    """From the approved report: published, planned, kept after its 12 weeks, audited once with
    every action closed and the difference reported; closing the review is next."""
    publication(r)
    action_plan(r)
    assert r.tick("2026-07-18")
    r.do("review_publication", KEEP, "2026-07-18")
    audit_cycle(r, "2026-08-06", *ALL_CLOSED)
    r.do("report_difference_made", DIFFERENCE, "2027-01-10")


def audit_cycle(
    r: Review, due: str, statuses: dict[str, str], accepted: tuple[str, ...] = (), *, escalate: bool = False
) -> dict[str, Any]:
    """Fire the cycle's timer at ``due``, let each reporting agency report, audit, direct, report."""
    assert r.tick(due), f"the audit timer did not fire on {due}"
    for agency in sorted(t.assignee for t in r.tasks("report_action_progress")):
        r.do(
            "report_action_progress",
            progress(agency, due, statuses.get(ACTION_OF[agency], "on_track")),
            due,
            assignee=agency,
        )
    r.do("audit_action_plan", audit(due, statuses, accepted), due)
    if escalate:
        directions = [
            {"action_id": a, "direction": "Report monthly to the Chair"}
            for a, s in sorted(statuses.items())
            if s in ("overdue", "blocked")
        ]
        r.do("direct_escalated_actions", {"board_directions": directions, "board_meeting_date": due}, due)
    r.do("report_audit_progress", {**REPORT_PROGRESS, "reported_to_board_date": due, "reported_to_wg_date": due}, due)
    return r.data()
