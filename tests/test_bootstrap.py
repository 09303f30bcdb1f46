"""Start-up wiring: every feature's deploy check and listener is in place once, however often the
entry points call install()."""

from __future__ import annotations

import pytest

from cprflow import bootstrap
from cprflow.core.errors import DeployRefused
from cprflow.db import store
from cprflow.diagrams import diagram_set
from cprflow.features import anonymisation, findings, notifications
from tests.conftest import sample_diagrams


def test_install_registers_each_check_and_listener_once() -> None:
    bootstrap.install()
    bootstrap.install()
    assert {"notifications", "letters", "findings", "anonymisation", "timescales"} <= set(diagram_set._CHECKS)
    assert store._TASKS_OPENED.count(notifications.tasks_opened) == 1


@pytest.mark.parametrize(
    ("name", "says"),
    [
        (diagram_set.TIMESCALES_FILE, "must map each process to its timescales"),
        (findings.THEMES_FILE, "'themes' is a required property"),
        (anonymisation.RULES_FILE, "'patterns' is a required property"),
    ],
)
def test_a_features_data_file_is_checked_at_deploy_by_that_feature(name: str, says: str) -> None:
    bootstrap.install()
    broken = diagram_set.DiagramSet({**sample_diagrams().files, name: b'{"nonsense": true}'})
    with pytest.raises(DeployRefused) as refused:
        diagram_set.check(broken)
    assert any(p.file == name and says in p.message for p in refused.value.problems), refused.value.problems
