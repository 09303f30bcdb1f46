"""Use cases of process owners: check and deploy edited files, read versions, migrate instances.

Web edits are not kept on the server until they are deployed: the modeler pages hold them,
``check_edits`` runs exactly the checks of ``cprflow deploy`` over the newest version with the
edits laid on top, and ``deploy_edits`` stores the result as a new immutable version. Files on
disk stay the source a team keeps in git: ``cprflow export`` writes a version back to them.
Each function frames its own transactions, as services.py does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from cprflow import engine
from cprflow.core.errors import DeployRefused, InvalidData, MigrationRefused, NotFound, Problem, Text
from cprflow.core.views import DeployResult, InstanceView
from cprflow.db.database import Database
from cprflow.db.models import ACTIVE_STATUSES, ProcessVersion
from cprflow.db.store import (
    INSTANCES,
    TASKS,
    active_instance,
    deployed_version,
    instance_view,
    load_workflow,
    record_event,
    save_step,
    update_row,
)
from cprflow.diagrams import diagram_set, versions
from cprflow.services import deployments

#: Files a web edit may add or replace: a diagram, a form, or the permissions.
EDITABLE_PREFIXES = ("processes/", "forms/")


@dataclass(frozen=True)
class CheckReport:
    ok: bool
    problems: list[Problem]
    content_hash: str
    #: The deployed version with exactly these files, if there is one.
    same_as_version: int | None


def check_paths(names: Any) -> None:
    """Refuse (InvalidData, naming each) paths that cannot be part of a diagram set."""
    fields: dict[str, list[str]] = {}
    for name in names:
        if not name.startswith(EDITABLE_PREFIXES):
            fields[f"/files/{name}"] = ["must be under processes/ or forms/"]
            continue
        try:
            if diagram_set.upload_path(name) != name:
                fields[f"/files/{name}"] = ["diagrams and permissions go in processes/, forms in forms/"]
        except InvalidData:
            fields[f"/files/{name}"] = ["names are letters, digits, '.', '_' and '-' ending .bpmn, .dmn or .json"]
    if fields:
        raise InvalidData("some edited files cannot be part of a diagram set", fields=fields)


def _edited_set(db: Database, edits: dict[str, str], base_version: int | None) -> diagram_set.DiagramSet:
    check_paths(edits)
    files = version_files(db, base_version) if base_version else _newest(db)
    merged = {name: text.encode("utf-8") for name, text in files.items()}
    merged.update({name: text.encode("utf-8") for name, text in edits.items()})
    return diagram_set.DiagramSet(merged)


def _newest(db: Database) -> dict[str, str]:
    return {name: content.decode("utf-8") for name, content in deployments.newest_files(db).items()}


def check_edits(db: Database, edits: dict[str, str], *, base_version: int | None = None) -> CheckReport:
    """The deploy checks over the newest (or the given) version with ``edits`` laid on top."""
    diagrams = _edited_set(db, edits, base_version)
    with db.transaction(write=False) as session:
        same = session.scalar(select(ProcessVersion.id).where(ProcessVersion.content_hash == diagrams.content_hash))
    try:
        diagram_set.check(diagrams)
    except DeployRefused as refused:
        return CheckReport(False, refused.problems, diagrams.content_hash, same)
    return CheckReport(True, [], diagrams.content_hash, same)


def deploy_edits(
    db: Database,
    edits: dict[str, str],
    *,
    actor: str,
    now: datetime,
    base_version: int | None = None,
    note: str | None = None,
) -> DeployResult:
    """Deploy the newest version with ``edits`` on top, refused (DeployRefused) as the CLI is."""
    return deployments.deploy(db, _edited_set(db, edits, base_version), actor=actor, now=now, note=note)


# ---------------------------------------------------------------------------------------------
# Versions


def version_files(db: Database, version_id: int) -> dict[str, str]:
    with db.transaction(write=False) as session:
        files = session.scalar(select(ProcessVersion.files).where(ProcessVersion.id == version_id))
        if files is None:
            raise NotFound(f"process version {version_id} not found")
        return dict(files)


def version_info(db: Database, version_id: int) -> dict[str, Any]:
    with db.transaction(write=False) as session:
        row = session.execute(
            select(
                ProcessVersion.id,
                ProcessVersion.content_hash,
                ProcessVersion.deployed_at,
                ProcessVersion.deployed_by,
                ProcessVersion.processes,
                ProcessVersion.note,
            ).where(ProcessVersion.id == version_id)
        ).first()
        if row is None:
            raise NotFound(f"process version {version_id} not found")
        return row._asdict()


def predecessor(db: Database, version_id: int) -> int | None:
    with db.transaction(write=False) as session:
        return session.scalar(
            select(ProcessVersion.id).where(ProcessVersion.id < version_id).order_by(ProcessVersion.id.desc()).limit(1)
        )


def version_diff(db: Database, version_id: int, against: int | None = None) -> list[versions.FileDiff]:
    """What ``version_id`` changed from ``against`` (by default the version before it)."""
    after = version_files(db, version_id)
    base = against if against is not None else predecessor(db, version_id)
    before = version_files(db, base) if base is not None else {}
    return versions.diff(before, after)


# ---------------------------------------------------------------------------------------------
# Migrating running instances


@dataclass(frozen=True)
class MigrationPreview:
    """What a process owner needs to decide a move, and no case data: ids, whether it can move, why
    not in terms of the diagrams, which elements change, and which open tasks and waiting timers
    (by element id) it has before and after, which elements the new version adds behind where it
    is (it will never run them, so what they set it lacks: ``changes["behind"]``); never its stage,
    dates or an error's own words."""

    instance_id: int
    process_id: str
    from_version: int
    to_version: int
    status: str
    movable: bool
    reasons: list[str]
    changes: dict[str, Any] = field(default_factory=dict)


#: Refusals whose words come from the diagrams; any other (an error raised while moving) may quote
#: case data, so it is reported in these words instead.
_OWN_WORDS = ("it is at ", "it has passed ", "it is inside ", "the new version's process is ")
_FAILED = "moving it fails on the new version (an administrator can try it and see why)"


def _without_case_data(found: engine.Migration) -> tuple[list[str], dict[str, Any]]:
    reasons = sorted({r if r.startswith(_OWN_WORDS) else _FAILED for r in found.reasons})
    changes: dict[str, Any] = {"elements": found.changes.get("elements", {})}
    if "tasks" in found.changes:
        changes["tasks"] = found.changes["tasks"]  # element ids of open tasks
    if "behind" in found.changes:
        changes["behind"] = found.changes["behind"]  # element ids it will not run, by process
    timers = found.changes.get("timers")
    if timers:
        before = {t["element"]: t["due"] for t in timers["before"]}
        after = {t["element"]: t["due"] for t in timers["after"]}
        changes["timers"] = {
            "before": sorted(before),
            "after": sorted(after),
            "rescheduled": sorted(e for e in before.keys() & after.keys() if before[e] != after[e]),
        }
    return reasons, changes


def _spec_for(session: Any, version_id: int, process_id: str) -> str | None:
    return deployed_version(session, version_id).specs.get(process_id)


def preview_migrations(
    db: Database,
    to_version: int,
    *,
    actor: str,
    now: datetime,
    step_seconds: float = 5.0,
    instance_ids: list[int] | None = None,
) -> list[MigrationPreview]:
    """For each active instance on an older version of a process the version has: can it move,
    and what would change for it, without its case data. Nothing about the instances is changed
    (each is tried on a copy of its state); each one previewed is recorded as read by ``actor``."""
    version_info(db, to_version)
    previews = []
    with db.transaction(write=False) as session:
        query = select(INSTANCES).where(INSTANCES.c.status.in_(ACTIVE_STATUSES), INSTANCES.c.version_id < to_version)
        if instance_ids is not None:
            query = query.where(INSTANCES.c.id.in_(instance_ids))
        rows = session.connection().execute(query.order_by(INSTANCES.c.id)).all()
        for row in rows:
            spec = _spec_for(session, to_version, row.process_id)
            if spec is None:
                continue
            try:
                found = load_workflow(session, row).migrate(spec, now, step_seconds)
            except Exception:
                found = engine.Migration(False, [_FAILED], {})
            reasons, changes = _without_case_data(found)
            previews.append(
                MigrationPreview(
                    row.id, row.process_id, row.version_id, to_version, row.status, found.movable, reasons, changes
                )
            )
    if previews:
        with db.transaction() as session:
            for preview in previews:
                detail = {"what": "migration_preview", "to_version": to_version}
                record_event(session, preview.instance_id, "case_read", actor, now, detail)
    return previews


def migrate_instance(
    db: Database,
    instance_id: int,
    to_version: int,
    *,
    reason: str,
    actor: str,
    now: datetime,
    step_seconds: float = 5.0,
) -> InstanceView:
    """Move one running instance to ``to_version`` in one transaction, or refuse saying why.

    Open tasks are reset onto the new specs: one that is still open afterwards keeps its id, its
    claim and its draft, and its index row is refreshed from the new element; one that is not is
    closed, and a claim or draft moves to a new task on the same element for the same assignee.
    """
    if not reason.strip():
        raise InvalidData("a reason is required", fields={"/reason": ["is required"]})
    with db.transaction() as session:
        instance = active_instance(session, instance_id)
        if instance.version_id >= to_version:
            raise MigrationRefused(
                f"instance {instance_id} is on version {instance.version_id}; it can only move to a newer one"
            )
        if session.get(ProcessVersion, to_version) is None:
            raise NotFound(f"process version {to_version} not found")
        spec = _spec_for(session, to_version, instance.process_id)
        if spec is None:
            raise MigrationRefused(f"version {to_version} has no process '{instance.process_id}'")
        open_rows = (
            session.connection()
            .execute(select(TASKS).where(TASKS.c.instance_id == instance_id, TASKS.c.closed_at.is_(None)))
            .all()
        )
        workflow = load_workflow(session, instance)
        found = workflow.migrate(spec, now, step_seconds)
        if not found.movable:
            raise MigrationRefused(
                f"instance {instance_id} cannot move to version {to_version}: " + "; ".join(found.reasons)
            )
        from_version = instance.version_id
        update_row(session, instance, {"version_id": to_version})
        instance.version_id = to_version
        tasks = save_step(session, instance, workflow, now, step_seconds, open_rows, announce=False)
        _refresh_kept(session, workflow, now, step_seconds, {r.id for r in open_rows})
        _carry_over(session, open_rows, tasks)
        record_event(
            session,
            instance_id,
            "migrated",
            actor,
            now,
            {"from_version": from_version, "to_version": to_version, "reason": reason, "changes": found.changes},
        )
        return instance_view(session, instance)


def _refresh_kept(session: Any, workflow: engine.Workflow, now: datetime, step_seconds: float, kept: set[str]) -> None:
    """Tasks open before and after keep their ids, but what the index shows of them (name, form,
    lane, due date, assignee) now comes from the new version's element."""
    for task in workflow.snapshot(now, step_seconds).ready_tasks:
        if task.id in kept:
            session.connection().execute(
                update(TASKS)
                .where(TASKS.c.id == task.id)
                .values(
                    name=task.name,
                    lane=task.lane,
                    form=task.form,
                    ui_form=task.ui_form,
                    instructions=task.instructions,
                    due_at=task.due_at,
                    assignee=task.assignee,
                )
            )


def _carry_over(session: Any, old_rows: Sequence[Any], new_tasks: list[Any]) -> None:
    """A claim or a draft on a task that was reset stays with the task that replaces it."""
    old_by_element = {(r.bpmn_id, r.assignee): r for r in old_rows}
    old_ids = {r.id for r in old_rows}
    for task in new_tasks:
        if task.id in old_ids:
            continue
        old = old_by_element.get((task.bpmn_id, task.assignee))
        if old is not None and (old.claimed_by or old.draft):
            session.connection().execute(
                update(TASKS).where(TASKS.c.id == task.id).values(claimed_by=old.claimed_by, draft=old.draft)
            )


# ---------------------------------------------------------------------------------------------
# Timescales as fields: processes/timescales.json ({process: {key: {duration, kind, label, ...}}})

#: The units a duration is edited in, as ISO 8601 designators.
UNITS = ("D", "W", "M", "Y")
_SIMPLE = re.compile(r"P([0-9]+)([DWMY])")
_ISO = re.compile(r"P(?=[0-9])(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+W)?(?:[0-9]+D)?")
#: Longest number of one unit a timescale may take (999 days is under three years).
MAX_AMOUNT = 999


@dataclass(frozen=True)
class Timescale:
    """One timescale as a process owner edits it: ``amount`` and ``unit`` when the duration is one
    number of one unit (``P5D``), otherwise None and the ISO text is edited as it is."""

    process_id: str
    key: str
    duration: str
    kind: str
    label: str
    label_cy: str
    counted_from: str | None
    counted_from_cy: str | None

    @property
    def amount(self) -> int | None:
        found = split_duration(self.duration)
        return found[0] if found else None

    @property
    def unit(self) -> str | None:
        found = split_duration(self.duration)
        return found[1] if found else None

    @property
    def statutory(self) -> bool:
        return self.kind == "statutory"


def split_duration(duration: str) -> tuple[int, str] | None:
    """``P5D`` as (5, "D"); None for anything that is not one number of one unit."""
    found = _SIMPLE.fullmatch(duration)
    return (int(found.group(1)), found.group(2)) if found else None


def read_timescales(text: str) -> list[Timescale]:
    """The timescales in a timescales.json text, in the file's order; InvalidData if it is not one."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise InvalidData("the timescales file is not valid JSON", fields={"/": [str(err)]}) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InvalidData("the timescales file must map each process to its timescales", fields={"/": ["not a map"]})
    found = []
    for process_id, entries in data.items():
        for key, entry in entries.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("duration"), str):
                raise InvalidData(
                    f"timescale {process_id}.{key} has no duration", fields={f"/{process_id}/{key}": ["no duration"]}
                )
            found.append(
                Timescale(
                    process_id,
                    key,
                    entry["duration"],
                    str(entry.get("kind", "local")),
                    str(entry.get("label", key)),
                    str(entry.get("label_cy") or entry.get("label", key)),
                    entry.get("from"),
                    entry.get("from_cy") or entry.get("from"),
                )
            )
    return found


def duration_problem(duration: str) -> str | None:
    """Why ``duration`` cannot be a timescale (None if it can): an ISO 8601 duration of whole days,
    weeks, months or years, none of them more than MAX_AMOUNT."""
    if not _ISO.fullmatch(duration):
        return Text("not an ISO 8601 duration of years, months, weeks and days, such as P5D or P6M")
    amounts = [int(n) for n in re.findall(r"[0-9]+", duration)]
    if not any(amounts):
        return Text("a timescale cannot be zero")
    if max(amounts) > MAX_AMOUNT:
        return Text("no part may be more than %(most)s", most=MAX_AMOUNT)
    return None


def timescale_problems(files: dict[str, bytes]) -> list[Problem]:
    """The deploy check of processes/timescales.json as the editor needs it: a map of processes to
    timescales, each with a duration that parses, a kind (statutory or local) and both labels."""
    content = files.get(diagram_set.TIMESCALES_FILE)
    if content is None:
        return []
    name = diagram_set.TIMESCALES_FILE
    try:
        rows = read_timescales(content.decode("utf-8"))
    except (InvalidData, UnicodeDecodeError) as err:
        return [Problem(name, getattr(err, "message", str(err)))]
    found = []
    for row in rows:
        where = f"{row.process_id}.{row.key}"
        problem = duration_problem(row.duration)
        if problem:
            found.append(
                Problem(
                    name,
                    Text(
                        "%(where)s: duration %(duration)r is %(problem)s",
                        where=where,
                        duration=row.duration,
                        problem=problem,
                    ),
                )
            )
        if row.kind not in ("statutory", "local"):
            found.append(
                Problem(
                    name,
                    Text("%(where)s: kind must be 'statutory' or 'local', not %(kind)r", where=where, kind=row.kind),
                )
            )
    data = json.loads(content)
    for process_id, entries in data.items():
        for key, entry in entries.items():
            if not (isinstance(entry.get("label"), str) and isinstance(entry.get("label_cy"), str)):
                found.append(
                    Problem(
                        name,
                        Text("%(where)s: needs a label and a Welsh label (label_cy)", where=f"{process_id}.{key}"),
                    )
                )
    return found


def with_durations(text: str, durations: dict[tuple[str, str], str]) -> str:
    """The timescales file with the given (process, key) durations replaced, all else kept in order."""
    data = json.loads(text)
    for (process_id, key), duration in durations.items():
        problem = duration_problem(duration)
        if problem:
            raise InvalidData(f"{process_id}.{key}: {problem}", fields={f"/{process_id}/{key}/duration": [problem]})
        data[process_id][key]["duration"] = duration
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


#: Who edits, checks, deploys and migrates (as the API's deploy already requires), and who reads
#: versions and their diffs besides: auditors and admins read everything.
EDITORS = ("process_owner",)
VERSION_READERS = ("process_owner", "auditor", "admin")
