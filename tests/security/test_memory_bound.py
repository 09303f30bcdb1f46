"""Diagram code that would exhaust memory fails its task cleanly: ScriptFailed, the instance in
error, nothing half-advanced, and the process itself unharmed.

Two layers (see the comment in cprflow/expressions.py): operator guards refuse ``"a" * 10**10`` and
its kin before computing them (and at deploy when the operands are constants), and an address-space
limit held for the length of each engine step turns any other oversized allocation into a
MemoryError. Whatever allocates runs in a child process under a hard safety limit of its own, so a
bound that regressed fails the test instead of taking the machine down.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from cprflow.core import expressions
from cprflow.core.errors import DeployRefused, ExpressionError
from cprflow.diagrams import diagram_set
from tests.conftest import ROOT
from tests.diagrams.test_diagram_set import problem_at, read_set
from tests.services.test_runtime_failures import FAILING

MiB = 1024 * 1024
#: The child's own hard limit: above the step headroom used below, far below the machine.
SAFETY_LIMIT = 6 * 1024 * MiB
ORIGINAL = "<bpmn:script>result = 100 / divisor</bpmn:script>"


def run_child(script: str, divisor: int = 10, step_memory_mb: int = 1024, afterwards: int = 0) -> dict[str, Any]:
    env = {
        **os.environ,
        "MEMORY_SCRIPT": script,
        "DIVISOR": str(divisor),
        "AFTERWARDS_BYTES": str(afterwards),
        "CPRFLOW_STEP_MEMORY_MB": str(step_memory_mb),
        "PYTHONPATH": str(ROOT),
    }

    def safety_limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (SAFETY_LIMIT, SAFETY_LIMIT))

    done = subprocess.run(
        [sys.executable, "-m", "tests.security.memory_child"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=safety_limit,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def assert_failed_cleanly(out: dict[str, Any]) -> None:
    assert out["outcome"] == "script_failed", out
    assert "divide_it" in out["message"]
    assert out["status"] == "error"
    assert out["error"] and "divide_it" in out["error"]
    assert out["data"] == out["data_before"]  # nothing half-advanced
    assert out["open_tasks"] == out["open_tasks_before"]  # still there to retry
    assert out["events"] == ["started", "error"]
    assert out["limit_restored"] is True


@pytest.mark.parametrize(
    "script",
    [
        'x = "a" * (divisor ** 10)',
        "x = [0] * (divisor ** 10)",
        "x = divisor ** divisor ** 10",
        "x = pow(divisor, divisor ** 9)",
        "x = 1 << (divisor ** 10)",
        'x = "ab"\nx *= divisor ** 9',
        'x = "a" * (divisor ** 7)\nx = x + x',
    ],
    ids=["str-times", "list-times", "power-tower", "pow-builtin", "shift", "in-place-times", "str-plus"],
)
def test_oversized_values_fail_the_task_before_they_are_built(script: str) -> None:
    out = run_child(script)
    assert_failed_cleanly(out)
    assert "more than the sandbox allows" in out["message"]


@pytest.mark.parametrize(
    "script",
    [
        'x = "a".ljust(divisor * 200000000)',  # one C call: no operator to guard, no line to time
        'chunks = [("x" * 9000000) + str(i) for i in range(divisor * 90)]',  # each under the cap, 8 GB together
    ],
    ids=["one-call", "many-under-the-cap"],
)
def test_any_other_exhaustion_hits_the_step_memory_limit(script: str) -> None:
    out = run_child(script, step_memory_mb=256, afterwards=768 * MiB)
    assert_failed_cleanly(out)
    assert "needed more memory than an engine step may use" in out["message"], out["message"]
    assert out["allocated_afterwards"] == 768 * MiB  # the process is not left limited


def test_code_within_the_bounds_still_runs() -> None:
    out = run_child(
        'x = "a" * (divisor * 1000)\ny = [0] * 1000 + [1]\nresult = len(x) + 2 ** 64 + pow(divisor, 3)',
        step_memory_mb=256,
    )
    assert out["outcome"] == "completed", out
    assert out["status"] == "running"
    assert out["limit_restored"] is True


# ---------------------------------------------------------------------------------------------
# Constant bombs are refused at deploy, naming the element (nothing is computed)


@pytest.mark.parametrize(
    "script",
    [
        'x = "a" * (10 ** 10)',
        "x = [0] * (10 ** 10)",
        "x = 10 ** 10 ** 10",
        "x = 1 << 10 ** 10",
        'x = "ab" * 6000000 + "c"',
    ],
)
def test_constant_memory_bombs_are_refused_at_deploy(tmp_path: Path, script: str) -> None:
    root = tmp_path / "set"
    shutil.copytree(FAILING, root)
    diagram = root / "processes" / "failing.bpmn"
    diagram.write_text(
        diagram.read_text(encoding="utf-8").replace(ORIGINAL, f"<bpmn:script>{escape(script)}</bpmn:script>"),
        encoding="utf-8",
    )
    with pytest.raises(DeployRefused) as caught:
        diagram_set.check(read_set(root))
    problem = problem_at(caught.value.problems, "processes/failing.bpmn", "divide_it")
    assert "more than the sandbox allows" in problem.message


@pytest.mark.parametrize(
    "code",
    [
        "x = 2 ** 64",
        'x = "a" * 1000',
        "x = [0] * 100 + [1]",
        "x = 1 << 100",
        "x = 10 ** -3",
    ],
)
def test_ordinary_arithmetic_is_not_refused(code: str) -> None:
    expressions.check_expression(code, "exec")
    scope: dict[str, Any] = {}
    expressions.execute(code, scope)
    assert "x" in scope


def test_the_guard_names_are_reserved() -> None:
    """Diagram code cannot shadow the guard: names starting with an underscore are refused."""
    with pytest.raises(ExpressionError):
        expressions.check_expression("_binop_ = None", "exec")
    assert "_binop_" in expressions.GLOBAL_NAMES


# ---------------------------------------------------------------------------------------------
# The step limit itself: set while steps run, lifted when the last one ends


def test_the_step_limit_is_held_only_while_steps_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expressions, "_step_memory_bytes", 512 * MiB)
    outside = resource.getrlimit(resource.RLIMIT_AS)
    entered, release = threading.Event(), threading.Event()

    def other_step() -> None:
        with expressions._memory_bound():
            entered.set()
            release.wait(10)

    worker = threading.Thread(target=other_step)
    with expressions._memory_bound():
        inside = resource.getrlimit(resource.RLIMIT_AS)
        assert inside != outside and inside[0] != resource.RLIM_INFINITY
        assert inside[1] == outside[1]  # the hard limit is never touched
        worker.start()
        assert entered.wait(10)
    still = resource.getrlimit(resource.RLIMIT_AS)  # the other step still runs: still bound
    release.set()
    worker.join(10)
    assert still[0] != resource.RLIM_INFINITY and still[0] >= inside[0]
    assert resource.getrlimit(resource.RLIMIT_AS) == outside


def test_no_step_limit_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expressions, "_step_memory_bytes", 0)
    outside = resource.getrlimit(resource.RLIMIT_AS)
    with expressions._memory_bound():
        assert resource.getrlimit(resource.RLIMIT_AS) == outside


def test_the_step_memory_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from cprflow.config import Settings

    monkeypatch.setenv("CPRFLOW_STEP_MEMORY_MB", "300")
    assert Settings.from_env().step_memory_mb == 300
    assert Settings().step_memory_mb == 1024
    monkeypatch.setattr(expressions, "_step_memory_bytes", None)
    assert expressions._step_memory() == 300 * MiB
