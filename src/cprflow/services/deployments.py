"""Use cases of deployed versions: deploy a diagram set, list versions, each version's permissions.

Each function frames its own transaction. Deployed versions never change, so what is read from one
is cached by the store.
"""

from __future__ import annotations

import json
import zlib
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from cprflow.core import access
from cprflow.core.errors import NotFound
from cprflow.core.views import DeployResult
from cprflow.db.database import Database
from cprflow.db.models import ProcessVersion
from cprflow.db.store import CURRENT_FIRST, current_version_id, deployed_version, latest_version_with, record_event
from cprflow.diagrams import diagram_set, welsh


def deploy(
    db: Database, diagrams: diagram_set.DiagramSet, *, actor: str, now: datetime, note: str | None = None
) -> DeployResult:
    """Store the set as a new version; the same content again is a no-op returning the old one.

    ``note`` says why, in the deployer's words; it is kept with the version and its event."""
    content_hash = diagrams.content_hash
    with db.transaction(write=False) as session:
        existing = session.scalar(select(ProcessVersion).where(ProcessVersion.content_hash == content_hash))
        if existing is not None:
            return _unchanged(session, existing)
    checked = diagram_set.check(diagrams)  # slow; holds no lock
    listed = [{"id": p.id, "name": p.name, "file": p.file} for p in checked.processes]
    with db.transaction() as session:
        existing = session.scalar(select(ProcessVersion).where(ProcessVersion.content_hash == content_hash))
        if existing is not None:  # someone deployed the same set meanwhile
            return _unchanged(session, existing)
        version = ProcessVersion(
            content_hash=content_hash,
            deployed_at=now,
            deployed_by=actor,
            files={n: c.decode("utf-8") for n, c in diagrams.files.items()},
            processes=listed,
            specs=zlib.compress(checked.specs_json.encode()),
            note=note,
            current_rank=(session.scalar(select(func.max(ProcessVersion.current_rank))) or 0) + 1,
        )
        session.add(version)
        session.flush()
        record_event(
            session,
            None,
            "deployed",
            actor,
            now,
            {
                "version_id": version.id,
                "content_hash": content_hash,
                "processes": [p["id"] for p in listed],
                "note": note,
            },
        )
        return DeployResult(
            version.id,
            True,
            content_hash,
            listed,
            version.id,
            f"deployed as version {version.id}: new reviews start on it",
            _lacking_welsh(diagrams.files),
        )


def _unchanged(session: Any, existing: ProcessVersion) -> DeployResult:
    """Files already deployed: say so, and whether new reviews start on them."""
    current = current_version_id(session)
    if current == existing.id:
        message = f"unchanged: these files are version {existing.id}, which new reviews already start on"
    else:
        message = (
            f"unchanged: these files are version {existing.id}, deployed before; new reviews still start on "
            f"version {current}. To start them on version {existing.id} again, make it current "
            f"(POST /api/versions/{existing.id}/current, or: cprflow make-current {existing.id})"
        )
    return DeployResult(
        existing.id, False, existing.content_hash, existing.processes, current, message, _lacking_welsh(existing.files)
    )


def make_current(db: Database, version_id: int, *, actor: str, now: datetime, note: str | None = None) -> DeployResult:
    """New reviews start on ``version_id`` from now on (running ones stay on theirs); recorded as an
    event with who, when, why and which version was current before. Already current: no change."""
    with db.transaction() as session:
        version = session.get(ProcessVersion, version_id)
        if version is None:
            raise NotFound(f"process version {version_id} not found")
        before = current_version_id(session)
        if before == version_id:
            return _unchanged(session, version)
        version.current_rank = (session.scalar(select(func.max(ProcessVersion.current_rank))) or 0) + 1
        session.flush()
        record_event(
            session,
            None,
            "version_made_current",
            actor,
            now,
            {"version_id": version_id, "previous": before, "note": note},
        )
        return DeployResult(
            version.id,
            False,
            version.content_hash,
            version.processes,
            version.id,
            f"version {version_id} is current: new reviews start on it (version {before} was current before)",
            _lacking_welsh(version.files),
        )


def list_versions(db: Database) -> list[dict[str, Any]]:
    with db.transaction(write=False) as session:
        rows = session.execute(
            select(
                ProcessVersion.id,
                ProcessVersion.content_hash,
                ProcessVersion.deployed_at,
                ProcessVersion.deployed_by,
                ProcessVersion.processes,
                ProcessVersion.note,
            ).order_by(ProcessVersion.id.desc())
        ).all()
        current = current_version_id(session)
        return [dict(r._asdict(), current=r.id == current) for r in rows]


def newest_files(db: Database) -> dict[str, bytes]:
    """The files of the current version: the base a partial upload is deployed over."""
    with db.transaction(write=False) as session:
        files = session.scalar(select(ProcessVersion.files).order_by(*CURRENT_FIRST).limit(1))
        return {name: text.encode("utf-8") for name, text in (files or {}).items()}


_permissions: dict[tuple[str, int], access.Permissions] = {}


def permissions(db: Database, version_id: int) -> access.Permissions:
    """A version's permissions; versions never change, so lists checking every row ask once."""
    key = (db.url, version_id)
    if key not in _permissions:
        with db.transaction(write=False) as session:
            _permissions[key] = deployed_version(session, version_id).permissions
    return _permissions[key]


def _lacking_welsh(files: dict[str, Any]) -> list[str]:
    """What a deploy lists as still to do: user tasks, lanes and forms without Welsh."""
    forms = {n.removeprefix("forms/"): json.loads(c) for n, c in files.items() if n.startswith("forms/")}
    return welsh.missing(files, forms)


def welsh_names(db: Database, version_id: int | None = None) -> welsh.WelshNames:
    """The Welsh names of a version's tasks, lanes and processes (the newest version's if none given)."""
    with db.transaction(write=False) as session:
        if version_id is None:
            version_id = session.scalar(select(func.max(ProcessVersion.id)))
            if version_id is None:
                return welsh.WelshNames()
        return deployed_version(session, version_id).welsh


def latest_permissions(db: Database, process_id: str) -> access.Permissions:
    with db.transaction(write=False) as session:
        return deployed_version(session, latest_version_with(session, process_id)).permissions
