"""The service layer: use cases as functions, each framing its own transaction.

One module per family: ``deployments`` (deploy, versions, permissions), ``instances`` (start, read,
message, suspend and resume), ``tasks`` (list, open, claim, draft, complete), and beside them
``documents``, ``modeling``, ``datafix``, ``timers`` and ``users``. The most used use cases are
named here too, so callers write ``services.complete_task(...)``.
"""

from __future__ import annotations

from cprflow.core.views import DeployResult, EventView, InstanceView, TaskView
from cprflow.services.deployments import (
    deploy,
    latest_permissions,
    list_versions,
    newest_files,
    permissions,
    welsh_names,
)
from cprflow.services.instances import (
    StartFormView,
    check_start,
    get_instance,
    list_events,
    list_instances,
    may_start,
    message_schema,
    record_read,
    send_message,
    set_status,
    start_form,
    start_instance,
)
from cprflow.services.tasks import (
    KNOWN_FACTS,
    Holder,
    TaskDetail,
    assign_task,
    check_answers,
    claim_task,
    complete_task,
    get_task,
    holders,
    list_tasks,
    read_task,
    save_draft,
    task_workers,
)

__all__ = [
    "DeployResult",
    "EventView",
    "Holder",
    "InstanceView",
    "KNOWN_FACTS",
    "TaskDetail",
    "TaskView",
    "assign_task",
    "check_answers",
    "claim_task",
    "complete_task",
    "deploy",
    "get_instance",
    "get_task",
    "holders",
    "latest_permissions",
    "list_events",
    "list_instances",
    "list_tasks",
    "list_versions",
    "may_start",
    "message_schema",
    "newest_files",
    "permissions",
    "read_task",
    "record_read",
    "save_draft",
    "send_message",
    "set_status",
    "start_instance",
    "task_workers",
    "start_form",
    "check_start",
    "StartFormView",
    "welsh_names",
]
