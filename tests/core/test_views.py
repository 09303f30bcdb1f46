"""What use cases hand back: frozen views, and a case's holds read from its one record."""

from __future__ import annotations

import dataclasses

import pytest

from cprflow.core import views
from tests.conftest import T0


def test_views_cannot_be_changed_by_whoever_receives_them() -> None:
    task = views.TaskView("t", 1, "p", "b", "n", None, None, None, None, None, None, T0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.assignee = "someone else"  # type: ignore[misc]
    assert "assignee" in views.TASK_FIELDS and "data" not in views.TASK_FIELDS


@pytest.mark.parametrize(
    ("data", "holds"),
    [
        ({"hold_register": [{"type": "coroner"}, "junk", None]}, [{"type": "coroner"}]),
        ({"hold_register": [], "holds": [{"type": "old copy"}]}, []),  # the record wins, even empty
        ({"holds": [{"type": "old copy"}]}, [{"type": "old copy"}]),  # reviews from before the record
        ({"hold_register": "not a list", "holds": [{"type": "x"}]}, [{"type": "x"}]),
        ({"hold_register": None}, []),
        ({"holds": {"type": "not a list"}}, []),
        ({}, []),
    ],
)
def test_holds_come_from_the_record_else_the_old_copy(data: dict[str, object], holds: list[object]) -> None:
    assert views.holds_of(data) == holds
