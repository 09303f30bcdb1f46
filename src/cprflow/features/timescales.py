"""The timescale report: reporting arithmetic over the dates the diagrams record, never new rules.

The due dates, holds and delay records are computed by the diagrams into each review's data
(processes/README.md); this module only measures against them: elapsed days, days on hold by type,
breach yes or no against the recorded due date, and averages and breach rates by Board and year.
Calendar days throughout (the statutory periods are calendar periods), with working days beside
the elapsed time (Wales bank holidays excluded) for readers who count those.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from cprflow.core import access
from cprflow.core.expressions import day_of, working_days_between
from cprflow.core.register import reference_of
from cprflow.core.views import holds_of
from cprflow.db.database import Database
from cprflow.db.models import Event, Instance
from cprflow.db.store import readable_condition

#: Actions closed in an audit cycle (processes/README.md, "The action plan audit loop").
_CLOSED_ACTIONS = ("complete", "superseded")
#: The statutory reviews, and the ``route`` each diagram records once a referral is decided to be
#: one (processes/README.md). A referral not yet decided is on the clock from its referral date; one
#: routed anywhere else (a MAPF, another Board, no review, a SUSR from a CPR referral or the reverse)
#: is not a review, so never a breach: the review it was routed to is counted in its own right.
STATUTORY_ROUTES = {"child_practice_review": "cpr", "single_unified_safeguarding_review": "susr"}


@dataclass(frozen=True)
class ReviewTimescales:
    instance_id: int
    board: str
    year: int | None
    status: str
    referral_date: str | None
    completion_due: str | None
    completion_date: str | None
    elapsed_days: int | None
    elapsed_working_days: int | None
    complete: bool
    breach: bool | None  # None: not yet due and not complete
    days_late: int | None
    hold_days: dict[str, int] = field(default_factory=dict)
    hold_days_total: int = 0
    hold_days_by_hold: dict[str, int] = field(default_factory=dict)  # hold id -> days, as ``hold_days`` counts
    delay_reasons: list[str] = field(default_factory=list)
    action_plan_due: str | None = None
    action_plan_finalised: str | None = None
    action_plan_in_time: bool | None = None
    published_date: str | None = None
    publication_period_due: str | None = None
    publication_kept: bool | None = None
    overdue_actions: int = 0
    review_type: str | None = None  # concise, extended, susr; None while the referral is undecided
    reference: str | None = None  # the case reference people know the review by (not exported)


def is_statutory_review(process_id: str, data: dict[str, Any]) -> bool:
    """A statutory review, or a referral still being decided; never one routed elsewhere."""
    route = data.get("route")
    return process_id in STATUTORY_ROUTES and route in (None, STATUTORY_ROUTES[process_id])


def hold_days(holds: Iterable[dict[str, Any]], as_of: date) -> tuple[dict[str, int], int]:
    """Days on hold by type, and days covered by at least one hold (overlaps once), to ``as_of``.

    A hold from the 1st to the 4th is 3 days, as the diagrams count it (``days_between``)."""
    by_type: dict[str, int] = defaultdict(int)
    spans: list[tuple[date, date]] = []
    for hold in holds:
        start = day_of(hold.get("started_on"))
        end = day_of(hold.get("ended_on")) or as_of
        if start is None or end < start:
            continue
        by_type[str(hold.get("type") or "other")] += (end - start).days
        spans.append((start, end))
    total, current = 0, None
    for start, end in sorted(spans):
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]).days
            current = (start, end)
        elif end > current[1]:
            current = (current[0], end)
    if current is not None:
        total += (current[1] - current[0]).days
    return dict(sorted(by_type.items())), total


def days_per_hold(holds: Iterable[dict[str, Any]], as_of: date) -> dict[str, int]:
    """Days each hold lasted (one still running: to ``as_of``), by hold id."""
    found: dict[str, int] = {}
    for hold in holds:
        start = day_of(hold.get("started_on"))
        end = day_of(hold.get("ended_on")) or as_of
        if start is not None and end >= start:
            found[str(hold.get("hold_id") or "?")] = (end - start).days
    return found


def _reason(item: Any) -> str:
    if isinstance(item, dict):
        return ": ".join(str(item[k]) for k in ("reason", "details") if item.get(k))
    return str(item)


def review_timescales(
    instance_id: int, status: str, data: dict[str, Any], finalised: date | None, as_of: date
) -> ReviewTimescales:
    referral = day_of(data.get("referral_date"))
    due = day_of(data.get("completion_due"))
    completed = day_of(data.get("completion_date"))
    end = completed or as_of
    breach: bool | None
    if due is None:
        breach = None
    elif completed is not None:
        breach = completed > due
    else:
        breach = True if as_of > due else None
    holds = holds_of(data)
    by_type, total = hold_days(holds, as_of)
    plan_due = day_of(data.get("action_plan_due"))
    published, kept_until = day_of(data.get("published_date")), day_of(data.get("publication_period_due"))
    kept = None
    if published is not None and kept_until is not None:
        kept = data.get("publication_status") != "taken_down" or as_of >= kept_until
    actions = [a for a in data.get("actions") or [] if isinstance(a, dict)]
    overdue = sum(
        1
        for a in actions
        if a.get("audit_status") not in _CLOSED_ACTIONS and (day_of(a.get("due_date")) or date.max) < as_of
    )
    reasons = [
        _reason(item)
        for record in data.get("delay_records") or []
        if isinstance(record, dict)
        for item in (record.get("reasons") if isinstance(record.get("reasons"), list) else [record.get("reasons")])
        if item
    ]
    return ReviewTimescales(
        instance_id=instance_id,
        board=str(data.get("board_area") or "—"),
        year=referral.year if referral else None,
        status=status,
        referral_date=referral.isoformat() if referral else None,
        completion_due=due.isoformat() if due else None,
        completion_date=completed.isoformat() if completed else None,
        elapsed_days=(end - referral).days if referral else None,
        elapsed_working_days=working_days_between(referral, end) if referral else None,
        complete=completed is not None,
        breach=breach,
        days_late=(end - due).days if breach and due else (0 if breach is False else None),
        hold_days=by_type,
        hold_days_total=total,
        hold_days_by_hold=days_per_hold(holds, as_of),
        delay_reasons=reasons,
        action_plan_due=plan_due.isoformat() if plan_due else None,
        action_plan_finalised=finalised.isoformat() if finalised else None,
        action_plan_in_time=(finalised <= plan_due)
        if finalised and plan_due
        else (False if plan_due and as_of > plan_due else None),
        published_date=published.isoformat() if published else None,
        publication_period_due=kept_until.isoformat() if kept_until else None,
        publication_kept=kept,
        overdue_actions=overdue,
        review_type=str(data["review_type"]) if data.get("review_type") else None,
        reference=reference_of(data),
    )


def per_review(db: Database, *, as_of: date, actor: access.Actor | None = None) -> list[ReviewTimescales]:
    """Every statutory review (CPR and SUSR, ``is_statutory_review``) the person reads as a whole
    (all of them when none is given)."""
    with db.transaction(write=False) as session:
        query = select(Instance.id, Instance.process_id, Instance.status, Instance.data).where(
            Instance.process_id.in_(sorted(STATUTORY_ROUTES))
        )
        if actor is not None:
            query = query.where(readable_condition(session, actor, holders=False))
        rows = session.execute(query.order_by(Instance.id)).all()
        finalised = {
            instance_id: at.date()
            for instance_id, at in session.execute(
                select(Event.instance_id, Event.at)
                .where(Event.kind == "task_completed")
                .where(Event.detail["bpmn_id"].as_string() == "finalise_action_plan")
                .order_by(Event.id)
            )
        }
    return [
        review_timescales(r.id, r.status, r.data or {}, finalised.get(r.id), as_of)
        for r in rows
        if is_statutory_review(r.process_id, r.data or {})
    ]


@dataclass(frozen=True)
class GroupTimescales:
    board: str
    year: int | None
    reviews: int
    completed: int
    average_elapsed_days: float | None  # completed reviews
    average_hold_days: float | None
    decided: int  # reviews whose breach is known: completed, or past their due date
    breaches: int
    breach_rate: float | None


def by_board_and_year(reviews: Iterable[ReviewTimescales]) -> list[GroupTimescales]:
    groups: dict[tuple[str, int | None], list[ReviewTimescales]] = defaultdict(list)
    for review in reviews:
        groups[(review.board, review.year)].append(review)
    out = []
    for (board, year), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        done = [m for m in members if m.complete and m.elapsed_days is not None]
        decided = [m for m in members if m.breach is not None]
        breaches = sum(1 for m in decided if m.breach)
        out.append(
            GroupTimescales(
                board,
                year,
                len(members),
                len(done),
                round(sum(m.elapsed_days or 0 for m in done) / len(done), 1) if done else None,
                round(sum(m.hold_days_total for m in members) / len(members), 1) if members else None,
                len(decided),
                breaches,
                round(breaches / len(decided), 3) if decided else None,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# CSV and SVG


REVIEW_COLUMNS = (
    "instance_id",
    "board",
    "year",
    "status",
    "referral_date",
    "completion_due",
    "completion_date",
    "elapsed_days",
    "elapsed_working_days",
    "breach",
    "days_late",
    "hold_days_total",
    "hold_days",
    "hold_days_by_hold",
    "delay_reasons",
    "action_plan_due",
    "action_plan_finalised",
    "action_plan_in_time",
    "published_date",
    "publication_period_due",
    "publication_kept",
    "overdue_actions",
    "review_type",
)
GROUP_COLUMNS = (
    "board",
    "year",
    "reviews",
    "completed",
    "average_elapsed_days",
    "average_hold_days",
    "decided",
    "breaches",
    "breach_rate",
)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        text = "; ".join(f"{k}: {v}" for k, v in value.items())
    elif isinstance(value, list):
        text = " | ".join(str(v) for v in value)
    else:
        text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(rows: Iterable[Any], columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        values = asdict(row)
        writer.writerow([_csv_value(values[c]) for c in columns])
    return out.getvalue()


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    text: str


@dataclass(frozen=True)
class Chart:
    """A bar chart laid out for an SVG template: no script, no inline style, just geometry."""

    title: str
    width: int
    height: int
    bars: list[Bar]
    target_y: float | None
    target_label: str | None
    axis_y: float


def bar_chart(
    title: str,
    points: list[tuple[str, float]],
    *,
    target: float | None = None,
    target_label: str | None = None,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    width: int = 640,
    height: int = 260,
) -> Chart:
    top, bottom, left = 20.0, 40.0, 10.0
    plot = height - top - bottom
    biggest = max([v for _, v in points] + ([target] if target is not None else []) + [1e-9])
    slot = (width - 2 * left) / max(len(points), 1)
    bars = []
    for i, (label, value) in enumerate(points):
        h = plot * value / biggest
        bars.append(Bar(label, value, left + i * slot + slot * 0.15, top + plot - h, slot * 0.7, h, fmt(value)))
    target_y = top + plot - plot * target / biggest if target is not None else None
    return Chart(title, width, height, bars, target_y, target_label, top + plot)
