"""Start-up wiring: plugs the features into the engine, the deploy check and the instance store.

The layers below never import a feature: the engine runs service-task operators from a registry
(``core.operators``), the deploy check runs the checks features register (``diagram_set``), and the
store calls listeners when tasks open or are given to someone (``db.store``). Every entry point (the
web app, the command line, the test suite) calls ``install()`` before it deploys or runs anything.
"""

from __future__ import annotations

from cprflow.core.errors import Problem
from cprflow.db import store
from cprflow.diagrams import diagram_set
from cprflow.features import (
    agencies,
    anonymisation,
    findings,
    follow_on,  # noqa: F401 - imported for its operator, registered on import
    letters,
    notifications,
)
from cprflow.services import modeling

# Importing the features above registers their service-task operators: notify, letter,
# anonymisation_check, file_findings and start_follow_on (each module's ``@operators.register``).


def install() -> None:
    """Register the features' deploy checks and listeners (safe to call more than once)."""
    diagram_set.register_check(
        "notifications", lambda found: notifications.check(found.trees, found.forms, found.permissions)
    )
    diagram_set.register_check("letters", lambda found: letters.check(found.trees, found.forms))
    diagram_set.register_check(
        "findings", lambda found: findings.check_set(found.files, found.forms), files=(findings.THEMES_FILE,)
    )
    diagram_set.register_check("anonymisation", _anonymisation_rules, files=(anonymisation.RULES_FILE,))
    diagram_set.register_check(
        "timescales", lambda found: modeling.timescale_problems(found.files), files=(diagram_set.TIMESCALES_FILE,)
    )
    diagram_set.register_check(
        "agencies", lambda found: agencies.check_set(found.files, found.forms), files=(agencies.AGENCIES_FILE,)
    )
    store.on_tasks_opened(notifications.tasks_opened)
    store.on_tasks_opened(agencies.tasks_opened)
    store.on_task_assigned(notifications.task_assigned)


def _anonymisation_rules(found: diagram_set.SetView) -> list[Problem]:
    content = found.files.get(anonymisation.RULES_FILE)
    return [] if content is None else anonymisation.parse_rules(content)[1]
