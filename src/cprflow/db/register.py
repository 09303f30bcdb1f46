"""The reviews register as SQL: the filters of ``core.register`` over the case data, in the database
(SQLite and PostgreSQL), so pages, totals and the API agree however many cases there are."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_
from sqlalchemy.dialects.postgresql import JSONPATH
from sqlalchemy.orm import Session

from cprflow.core.register import REFERENCE_KEYS, SORTS, Filters
from cprflow.core.views import HOLDS_KEY
from cprflow.db.models import ACTIVE_STATUSES, Instance


def _text(key: str) -> ColumnElement[Any]:
    return Instance.data[key].as_string()


def reference() -> ColumnElement[Any]:
    """The case reference as a column: the first of ``REFERENCE_KEYS`` the case data holds, not empty
    (the same answer as ``core.register.reference_of``, without loading the case data)."""
    return func.coalesce(*(func.nullif(_text(key), "") for key in REFERENCE_KEYS))


def narrowed(session: Session, query: Select[Any], filters: Filters) -> Select[Any]:
    """``query`` (over instances) with every filter that is set."""
    conditions: list[ColumnElement[bool]] = []
    if filters.process_id:
        conditions.append(Instance.process_id == filters.process_id)
    if filters.status:
        conditions.append(Instance.status == filters.status)
    if filters.review_type:
        conditions.append(_text("review_type") == filters.review_type)
    if filters.stage:
        conditions.append(_text("stage") == filters.stage)
    if filters.year:
        conditions.append(_text("referral_date").like(f"{filters.year:04d}-%"))
    if filters.reference:
        wanted = filters.reference.strip().lower()
        conditions.append(or_(*(func.lower(_text(key)).contains(wanted, autoescape=True) for key in REFERENCE_KEYS)))
    if filters.overdue and filters.today is not None:
        conditions.extend(
            [
                Instance.status.in_(ACTIVE_STATUSES),
                _text("completion_due") < filters.today.isoformat(),
                _text("completion_date").is_(None),
            ]
        )
    if filters.due_by is not None and filters.today is not None:
        conditions.extend(
            [
                Instance.status.in_(ACTIVE_STATUSES),
                _text("completion_due") >= filters.today.isoformat(),
                _text("completion_due") <= filters.due_by.isoformat(),
                _text("completion_date").is_(None),
            ]
        )
    if filters.on_hold:
        conditions.append(_hold_running(session))
    return query.where(and_(*conditions)) if conditions else query


def ordered(query: Select[Any], filters: Filters) -> Select[Any]:
    key, descending = SORTS.get(filters.sort, SORTS["newest"])
    if key is None:
        column: ColumnElement[Any] = Instance.id  # type: ignore[assignment]
    elif key == "updated_at":
        column = Instance.updated_at  # type: ignore[assignment]
    else:
        column = _text(key)
    first = column.desc() if descending else column.asc()
    # Cases without the date go last, whichever way; the id keeps pages stable.
    return query.order_by(column.is_(None), first, Instance.id.desc())


def _hold_running(session: Session) -> ColumnElement[bool]:
    """The case's one record of holds (``hold_register``; reviews from before it: ``holds``) has one
    with no ``ended_on`` (processes/README.md, "Holds")."""
    record = _running_in(session, HOLDS_KEY)
    return or_(record, and_(_has_key(session, HOLDS_KEY).is_(False), _running_in(session, "holds")))


def _has_key(session: Session, key: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return func.jsonb_exists(Instance.data, literal(key))  # type: ignore[no-any-return]
    return func.json_type(Instance.data, literal("$." + json.dumps(key))).is_not(None)


def _running_in(session: Session, key: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        path = f'$.{key}[*] ? (@.type() == "object" && (!exists(@.ended_on) || @.ended_on == null))'
        return func.jsonb_path_exists(Instance.data, literal(path).cast(JSONPATH))  # type: ignore[no-any-return]
    holds = func.json_each(Instance.data, literal("$." + json.dumps(key))).table_valued("value", "type")
    return (
        exists()
        .select_from(holds)
        .where(holds.c.type == "object", func.json_extract(holds.c.value, "$.ended_on").is_(None))
    )
