"""Run in a child process by test_memory_bound.py, so that a bound that failed could not take the
test process (or the machine) with it: deploy the failing fixture set with the script of
``divide_it`` replaced by MEMORY_SCRIPT, start ``divide``, complete its task with DIVISOR, and print
what happened as one line of JSON."""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from cprflow import bootstrap, services
from cprflow.core.errors import ScriptFailed
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL = "<bpmn:script>result = 100 / divisor</bpmn:script>"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def main() -> None:
    bootstrap.install()
    work = Path(tempfile.mkdtemp(prefix="cprflow-memory-"))
    try:
        shutil.copytree(ROOT / "tests" / "fixtures" / "failing", work / "set")
        diagram = work / "set" / "processes" / "failing.bpmn"
        text = diagram.read_text(encoding="utf-8")
        assert ORIGINAL in text
        diagram.write_text(
            text.replace(ORIGINAL, f"<bpmn:script>{escape(os.environ['MEMORY_SCRIPT'])}</bpmn:script>"),
            encoding="utf-8",
        )
        db = Database(f"sqlite:///{work / 'cprflow.db'}")
        db.upgrade()
        services.deploy(
            db, diagram_set.read_directories(work / "set" / "processes", work / "set" / "forms"), actor="owner", now=NOW
        )
        started = services.start_instance(db, "divide", {}, actor="clerk", now=NOW)
        limit_before = resource.getrlimit(resource.RLIMIT_AS)
        out: dict[str, object] = {}
        try:
            services.complete_task(
                db, started.open_tasks[0].id, {"divisor": int(os.environ["DIVISOR"])}, actor="clerk", now=NOW
            )
            out["outcome"] = "completed"
        except ScriptFailed as err:
            out.update(outcome="script_failed", message=err.message)
        out["limit_restored"] = resource.getrlimit(resource.RLIMIT_AS) == limit_before
        # Between steps the process is not bound: more than a step's headroom can be had again.
        afterwards = bytearray(int(os.environ.get("AFTERWARDS_BYTES", "0")))
        out["allocated_afterwards"] = len(afterwards)
        del afterwards
        fresh = Database(db.url)
        after = services.get_instance(fresh, started.id)
        out.update(
            status=after.status,
            error=after.error,
            data=after.data,
            data_before=started.data,
            open_tasks=[t.id for t in after.open_tasks],
            open_tasks_before=[t.id for t in started.open_tasks],
            events=[e.kind for e in services.list_events(fresh, started.id)],
        )
        fresh.dispose()
        db.dispose()
        print(json.dumps(out))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
