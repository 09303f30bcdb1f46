"""Follow-on processes: a case that ends by handing over (a referral routed to a SUSR, a forum
requested instead of a review) starts the next process itself, carrying the referral over.

The diagram decides when and with what: a service task calls ``start_follow_on`` with the process
and the data to start it with (``{"susr_request": ...}``). The new instance starts in the same
transaction, records ``referred_from`` (the first case) in its data, and the operator answers with
``{process_id, instance_id}`` for the first case to keep (its ``resultVariable``, ``follow_on``);
an event on each case records the link.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cprflow import engine
from cprflow.core import operators
from cprflow.db.models import Instance
from cprflow.db.store import (
    deployed_version,
    latest_version_with,
    load_instance,
    pack,
    record_event,
    status_of,
    sync_tasks,
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
    version = deployed_version(session, version_id)
    with operators.step(session, None, actor, now) as effects:
        workflow = engine.Workflow.start(
            version.specs[process], version.start_data(process, data), now, engine.DEFAULT_STEP_SECONDS
        )
        snapshot = workflow.snapshot(now, engine.DEFAULT_STEP_SECONDS)
    second = Instance(
        process_id=process,
        version_id=version_id,
        status=status_of(snapshot),
        state=pack(snapshot.state),
        serializer_version=engine.SERIALIZER_VERSION,
        next_timer_at=snapshot.next_timer_at,
        lock_version=1,
        waiting_for=snapshot.waiting_for,
        data=snapshot.data,
        created_at=now,
        created_by=actor,
        updated_at=now,
    )
    session.add(second)
    session.flush()
    sync_tasks(session, second.id, process, snapshot, now, {})
    record_event(
        session, second.id, "started", actor, now, {"process_id": process, "version_id": version_id, "data": data}
    )
    effects.apply(second.id)
    link = {"process_id": process, "instance_id": second.id}
    record_event(session, first_id, "follow_on_started", actor, now, link)
    return link
