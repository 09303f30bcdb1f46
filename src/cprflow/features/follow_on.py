"""Follow-on processes: a case that ends by handing over (a referral routed to a SUSR, a forum
requested instead of a review) starts the next process itself, carrying the referral over.

The diagram decides when and with what: a service task calls ``start_follow_on`` with the process
and the data to start it with: the answers its start form asks (``subject_reference``, ``board_area``,
``referral_date`` for a SUSR) beside the request (``"susr_request": ...``). They are not checked
against that form here: a case running on an older version hands over what its version passes (the
SUSR's first task still fills its referral from ``susr_request`` alone). The new instance starts in the same
transaction, records ``referred_from`` (the first case) in its data, and the operator answers with
``{process_id, instance_id}`` for the first case to keep (its ``resultVariable``, ``follow_on``);
an event on each case records the link.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cprflow import engine
from cprflow.core import operators
from cprflow.db.store import (
    latest_version_with,
    load_instance,
    record_event,
    start_instance,
)


@operators.register("start_follow_on", required=("process", "data"))
def start_follow_on(step: operators.StepContext, params: dict[str, Any]) -> Any:
    """Start ``process`` with ``data`` (an object), linked to this case; answers {process_id, instance_id}."""
    process, data = params["process"], params["data"]
    if not isinstance(process, str) or not process:
        raise operators.OperatorFailed("'process' must name a process")
    if not isinstance(data, dict):
        raise operators.OperatorFailed("'data' must be an object")
    if step.instance_id is None:
        raise operators.OperatorFailed("a follow-on process is started from a running case")
    return _start(step.session, step.instance_id, process, dict(data), step.actor, step.now)


def _start(session: Session, first_id: int, process: str, data: dict[str, Any], actor: str, now: Any) -> Any:
    first = load_instance(session, first_id)
    version_id = latest_version_with(session, process)
    data["referred_from"] = {"instance_id": first_id, "process_id": first.process_id}
    second, _ = start_instance(session, process, version_id, data, actor, now, engine.DEFAULT_STEP_SECONDS)
    link = {"process_id": process, "instance_id": second.id}
    record_event(session, first_id, "follow_on_started", actor, now, link)
    return link
