"""The domain errors: one root, a stable code each, and a refused deploy that says where, briefly."""

from __future__ import annotations

import pytest

from cprflow.core import errors
from cprflow.core.errors import DeployRefused, Problem


def test_every_error_has_a_code_of_its_own_under_one_root() -> None:
    kinds = [k for k in vars(errors).values() if isinstance(k, type) and issubclass(k, errors.CprflowError)]
    codes = [k.code for k in kinds if "code" in vars(k)]  # a refinement may keep its parent's (TaskClosed)
    assert len(codes) > 10 and len(set(codes)) == len(codes), codes
    assert issubclass(errors.TaskNotReady, errors.Conflict) and issubclass(errors.MigrationRefused, errors.Conflict)


def test_an_error_carries_its_message_and_fields() -> None:
    err = errors.InvalidData("does not fit", fields={"/child_name": ["is required"]})
    assert (str(err), err.message, err.fields, err.code) == (
        "does not fit",
        "does not fit",
        {"/child_name": ["is required"]},
        "invalid_data",
    )
    assert errors.NotFound("gone").fields == {}


def test_an_expression_error_keeps_its_line() -> None:
    assert errors.ExpressionError("syntax error", line=3).line == 3
    assert errors.ExpressionError("refused").line is None


@pytest.mark.parametrize(
    ("problem", "text"),
    [
        (Problem("processes/review.bpmn", "bad", "Task_1", 12), "processes/review.bpmn:12 [Task_1]: bad"),
        (Problem("forms/a.schema.json", "not JSON"), "forms/a.schema.json: not JSON"),
        (Problem("processes/rules.dmn", "overlap", element="Rule 2"), "processes/rules.dmn [Rule 2]: overlap"),
    ],
)
def test_a_problem_says_where(problem: Problem, text: str) -> None:
    assert str(problem) == text


def test_a_refused_deploy_lists_five_problems_and_counts_the_rest() -> None:
    problems = [Problem(f"processes/p{i}.bpmn", "broken") for i in range(7)]
    refused = DeployRefused(problems)
    assert refused.problems == problems and refused.code == "deploy_refused"
    assert refused.message == (
        "diagram set refused: " + "; ".join(f"processes/p{i}.bpmn: broken" for i in range(5)) + " (and 2 more)"
    )
    assert DeployRefused([problems[0]]).message == "diagram set refused: processes/p0.bpmn: broken"
