"""The reviews register's question: which reviews, in what order. Plain values, checked at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from cprflow.core.views import holds_of

#: How the register can be ordered: the key the page and the API accept -> (case data key or column,
#: newest or largest first). ``None`` as key: the instance's own id.
SORTS: dict[str, tuple[str | None, bool]] = {
    "newest": (None, True),
    "oldest": (None, False),
    "referral": ("referral_date", False),
    "due": ("completion_due", False),
    "updated": ("updated_at", True),
}
#: The case data keys that hold a case's reference (CPR: the child's; SUSR: the subject's; a forum:
#: the case it follows, if any, from its start form).
REFERENCE_KEYS = ("child_reference", "subject_reference", "case_reference")


@dataclass(frozen=True)
class Filters:
    """Each filter narrows the list; None (or False) leaves it open."""

    process_id: str | None = None  # the framework: CPR, SUSR or a forum
    review_type: str | None = None
    stage: str | None = None
    status: str | None = None
    overdue: bool = False  # open past its statutory completion date
    on_hold: bool = False  # a hold that has not ended
    year: int | None = None  # of the referral
    reference: str | None = None  # part of the case reference, any case
    due_by: date | None = None  # open, not yet past its 6-month date, and due on or before this day
    sort: str = "newest"
    today: date | None = None  # what "overdue" is measured against (the caller's clock)


def reference_of(data: dict[str, Any]) -> str | None:
    for key in REFERENCE_KEYS:
        if isinstance(data.get(key), str) and data[key]:
            return str(data[key])
    return None


def overdue(status: str, data: dict[str, Any], today: date) -> bool:
    """Open past its statutory completion date (the same test as the register's SQL filter)."""
    due = data.get("completion_due")
    return (
        status in ("running", "waiting")
        and isinstance(due, str)
        and due[:10] < today.isoformat()
        and not data.get("completion_date")
    )


def holds_running(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's holds that have not ended (processes/README.md, "Holds")."""
    return [h for h in holds_of(data) if not h.get("ended_on")]
