"""What a case's event was, in the reader's language: the case page's timeline and the trace page.

Events are stored with plain details (a task's bpmn id and English name, a message's name, the
words a read was recorded with); these say them in English or Welsh at display time, naming tasks
by the diagram's Welsh name (``nameCy``) on Welsh pages. The exports keep the stored English summary.
"""

from __future__ import annotations

from typing import Any

from flask import session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cprflow.web import labels
from cprflow.web.pages import welsh_names

#: The case page's sections as a read of one is recorded ("case page (timeline)").
SECTIONS = {
    "overview": _l("overview"),
    "tasks": _l("tasks"),
    "documents": _l("documents"),
    "timeline": _l("timeline"),
    "holds": _l("holds"),
    "timescales": _l("timescales"),
    "decisions": _l("decisions"),
}

#: What was read, as the pages and the API record it.
READS = {
    "instance": _l("the case, through the API"),
    "events": _l("the case's events, through the API"),
    "trace": _l("the trace, through the API"),
    "trace page": _l("the trace page"),
    "trace diagram": _l("the trace's diagram"),
    "trace export (JSON)": _l("the trace export (JSON)"),
    "trace export (CSV)": _l("the trace export (CSV)"),
}


#: The kinds of event, as the trace's filter offers them.
KINDS = {
    "started": _l("Case started"),
    "task_completed": _l("Task done"),
    "message_received": _l("Message received"),
    "signal_received": _l("Signal received"),
    "status_changed": _l("Status changed"),
    "timer_fired": _l("A date was reached"),
    "case_read": _l("Case read"),
    "data_fixed": _l("Case data corrected"),
    "migrated": _l("Moved to a newer version of the process"),
    "error": _l("An error stopped the case"),
}


def kind_name(kind: str) -> str:
    return str(KINDS.get(kind, kind.replace("_", " ").capitalize()))


def task_name(detail: dict[str, Any], version_id: int | None) -> str:
    english = str(detail.get("name") or detail.get("bpmn_id") or "")
    return welsh_names(version_id).task(str(detail.get("bpmn_id") or ""), english, session.get("lang", "en"))


def _read(what: Any) -> str:
    text = str(what or "")
    if text.startswith("case page (") and text.endswith(")"):
        section = text.removeprefix("case page (").removesuffix(")")
        return _("the case page (%(section)s)", section=SECTIONS.get(section, section))
    return str(READS.get(text, text))


def title(kind: str, detail: dict[str, Any] | None, version_id: int | None) -> str:
    """One line saying what happened, for any kind (kinds added later are shown by their words)."""
    detail = detail or {}
    messages = {"hold_started": _("Hold started"), "hold_ended": _("Hold ended")}
    titles = {
        "started": lambda: _("Case started"),
        "task_completed": lambda: _("%(name)s: done", name=task_name(detail, version_id)),
        "message_received": lambda: messages.get(
            detail.get("name"), _("Message received: %(name)s", name=detail.get("name"))
        ),
        "signal_received": lambda: _("Signal received: %(name)s", name=detail.get("name")),
        "status_changed": lambda: _("Status changed to %(status)s", status=labels.label("status", detail.get("to"))),
        "timer_fired": lambda: _("A date was reached"),
        "case_read": lambda: _("Read %(what)s", what=_read(detail.get("what"))),
        "data_fixed": lambda: _("Case data corrected"),
        "migrated": lambda: _(
            "Moved from version %(old)s to version %(new)s",
            old=detail.get("from_version"),
            new=detail.get("to_version"),
        ),
        "error": lambda: _("An error stopped the case"),
    }
    return str(titles[kind]()) if kind in titles else kind.replace("_", " ").capitalize()
