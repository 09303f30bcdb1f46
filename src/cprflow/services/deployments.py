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
from cprflow.core.views import DeployResult
from cprflow.db.database import Database
from cprflow.db.models import ProcessVersion
from cprflow.db.store import deployed_version, latest_version_with, record_event
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
            return DeployResult(existing.id, False, content_hash, existing.processes, _lacking_welsh(existing.files))
    checked = diagram_set.check(diagrams)  # slow; holds no lock
    listed = [{"id": p.id, "name": p.name, "file": p.file} for p in checked.processes]
    with db.transaction() as session:
        existing = session.scalar(select(ProcessVersion).where(ProcessVersion.content_hash == content_hash))
        if existing is not None:  # someone deployed the same set meanwhile
            return DeployResult(existing.id, False, content_hash, existing.processes, _lacking_welsh(existing.files))
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
        return DeployResult(version.id, True, content_hash, listed, _lacking_welsh(diagrams.files))


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
        return [r._asdict() for r in rows]


def newest_files(db: Database) -> dict[str, bytes]:
    """The files of the newest version: the base a partial upload is deployed over."""
    with db.transaction(write=False) as session:
        files = session.scalar(select(ProcessVersion.files).order_by(ProcessVersion.id.desc()).limit(1))
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
