"""The layers hold, and a module that reaches across them fails the check `make lint` runs.

import-linter's contracts (pyproject.toml) say which layer may import which, that the engine knows
no database, that the core knows no Flask or SQLAlchemy, and that no package's modules import each
other in a circle. Here the real tree is checked, then copies of it with one deliberate wrong import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_tree_keeps_every_contract() -> None:
    result = lint(ROOT / "src")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("engine.py", "from cprflow.db import store", "The engine knows no database"),
        ("core/forms.py", "from cprflow.web import common", "Layers"),
        ("core/access.py", "import sqlalchemy", "The core knows no Flask, SQLAlchemy"),
        ("db/models.py", "from cprflow.services import tasks", "Layers"),
        ("features/trace.py", "from cprflow.features import timescales as _t", "No import cycles"),
    ],
)
def test_a_wrong_import_fails_the_check(tmp_path: Path, module: str, line: str, contract: str) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "cprflow", src / "cprflow", ignore=shutil.ignore_patterns("static", "__pycache__"))
    if contract == "No import cycles":  # timescales already imports nothing of trace: make a circle
        extra = src / "cprflow" / "features" / "timescales.py"
        extra.write_text(extra.read_text() + "\nfrom cprflow.features import trace as _trace  # noqa: E402\n")
    target = src / "cprflow" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa: E402,F401\n")
    result = lint(src)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout, result.stdout[-3000:]
