"""Bilingual names for the values the diagrams keep (status, framework, review type, stage, hold type),
so no page shows a raw id. Looked up at render time in the reader's language; a value added to the
diagrams later shows as its words until it is named here and in the Welsh catalogue. (A hold's kind
is named first by the ``hold_started`` message's form; these names serve a case whose form lacks it.)"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

STATUS = {
    "running": _l("In progress"),
    "waiting": _l("Waiting"),
    "completed": _l("Completed"),
    "error": _l("Needs an administrator"),
    "suspended": _l("Suspended"),
    "terminated": _l("Terminated"),
}
FRAMEWORK = {
    "child_practice_review": _l("Child Practice Review"),
    "single_unified_safeguarding_review": _l("Single Unified Safeguarding Review"),
    "multi_agency_professional_forum": _l("Multi-agency professional forum"),
}
REVIEW_TYPE = {
    "concise": _l("Concise"),
    "extended": _l("Extended"),
    "susr": _l("SUSR"),
    "not_statutory": _l("Criteria not met"),
    "not_this_board": _l("Another Board's"),
    "other": _l("Other"),
}
STAGE = {
    "referral": _l("Referral"),
    "screening": _l("Screening"),
    "decision": _l("Board decision"),
    "notification": _l("Notifying Welsh Government"),
    "referred_elsewhere": _l("Referred elsewhere"),
    "forum_requested": _l("Forum requested"),
    "forum_planning": _l("Planning the forum"),
    "forum_meeting": _l("Holding the forum"),
    "forum_learning": _l("Recording the forum's learning"),
    "dissemination": _l("Sharing the learning"),
    "panel_setup": _l("Setting up the Panel"),
    "terms_of_reference": _l("Terms of reference"),
    "reviewer_appointment": _l("Appointing reviewers"),
    "reviewers": _l("Reviewers accepting"),
    "reviewers_and_timelines": _l("Reviewers and agency timelines"),
    "summary_timeline": _l("Summary timeline"),
    "family_and_learning_event": _l("Family and learning event"),
    "family_and_practitioner_learning": _l("Family and practitioner learning"),
    "draft_report": _l("Draft report"),
    "quality_assurance": _l("Quality assurance"),
    "board_consideration": _l("Board consideration"),
    "revision": _l("Revising the report"),
    "anonymisation": _l("Anonymisation"),
    "final_report_approved": _l("Final report approved"),
    "sign_off": _l("Sign-off"),
    "signed_off": _l("Signed off"),
    "publication_and_action_plan": _l("Publication and action plan"),
    "action_plan": _l("Action plan"),
    "repository": _l("Filing the learning"),
    "closed": _l("Closed"),
}
HOLD_TYPE = {
    "criminal": _l("Criminal proceedings"),
    "coroner": _l("Coroner's inquest"),
    "disciplinary": _l("Disciplinary proceedings"),
    "other": _l("Other"),
}
ROUTE = {
    "cpr": _l("A Child Practice Review"),
    "mapf": _l("Referred to a multi-agency professional forum"),
    "other_board": _l("Referred to another Board"),
    "adult_practice_review": _l("Referred for an Adult Practice Review"),
    "domestic_homicide_review": _l("Referred for a Domestic Homicide Review"),
    "no_review": _l("No review"),
    "susr": _l("A Single Unified Safeguarding Review"),
    "child_practice_review": _l("Run as a Child Practice Review"),
}
#: The events processes/cpr_completion_clock.dmn may name as stopping the 6-month clock.
CLOCK_EVENT = {
    "board_approval": _l("the Board's approval of the final report"),
    "submission": _l("the final report's submission to Welsh Government"),
    "publication": _l("the report's publication"),
}
TABLES = {
    "status": STATUS,
    "framework": FRAMEWORK,
    "review_type": REVIEW_TYPE,
    "stage": STAGE,
    "hold_type": HOLD_TYPE,
    "route": ROUTE,
    "clock_event": CLOCK_EVENT,
}


def label(table: str, value: Any) -> str:
    """The name of ``value`` in the reader's language; an unnamed value as its words; nothing as a dash."""
    if value is None or value == "":
        return "—"
    named = TABLES[table].get(str(value))
    return str(named) if named is not None else str(value).replace("_", " ").capitalize()


def choices(table: str) -> list[tuple[str, str]]:
    return [(key, str(name)) for key, name in TABLES[table].items()]
