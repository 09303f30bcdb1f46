"""Process owners' undeployed edits, kept on the server per owner until deployed or discarded.

An editor saves each file as it changes; the draft survives a closed tab and is the same in every
tab and on every machine the owner signs in from. Each save names the revision it follows, so a
stale tab cannot overwrite a newer save (it is told to reload instead). Every owner's drafts are
listed, read only, for the others. Deploying one's drafts runs the deploy checks over the newest
version with the drafts on top, and refuses, naming the files, when someone else has deployed a
change to one of them since the draft began, unless the owner confirms those files by name.
Each function frames its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cprflow.core.errors import Conflict, InvalidData
from cprflow.core.views import DeployResult
from cprflow.db.database import Database
from cprflow.db.models import Draft, ProcessVersion
from cprflow.db.store import current_version_id
from cprflow.services import modeling

#: Longest note kept with a deploy.
NOTE_MAX = 2000


class DraftChanged(Conflict):
    """The draft was saved again (from another tab or window) since the caller last read it."""

    code = "draft_changed"


class DraftsStale(Conflict):
    """Someone deployed a change to a drafted file since the draft began; ``stale`` says which."""

    code = "drafts_stale"

    def __init__(self, message: str, stale: list[StaleFile]) -> None:
        super().__init__(
            message,
            fields={
                f"/files/{s.path}": [f"changed in version {s.version_id} by {s.deployed_by} since your edit began"]
                for s in stale
            },
        )
        self.stale = stale


@dataclass(frozen=True)
class DraftView:
    owner: str
    path: str
    #: 0 when there is no draft (never saved, or saved back to what it began from).
    revision: int
    saved_at: datetime | None
    base_version_id: int | None
    content: str | None = None


@dataclass(frozen=True)
class StaleFile:
    """A drafted file that a later deploy changed: the first version that did, and who deployed it."""

    path: str
    version_id: int
    deployed_by: str
    deployed_at: datetime


def _view(row: Draft, *, content: bool = False) -> DraftView:
    return DraftView(
        row.owner, row.path, row.revision, row.saved_at, row.base_version_id, row.content if content else None
    )


def _files(session: Session, version_id: int | None) -> dict[str, str]:
    if version_id is None:
        return {}
    return dict(session.scalar(select(ProcessVersion.files).where(ProcessVersion.id == version_id)) or {})


def _newest_id(session: Session) -> int | None:
    return current_version_id(session)


def save(db: Database, owner: str, path: str, content: str, *, revision: int, now: datetime) -> DraftView:
    """Keep ``content`` as ``owner``'s edit of ``path``, following ``revision`` (0: no draft yet).

    Content that is back to what the edit began from drops the draft (revision 0): nothing is
    edited any more. A revision that is not the stored one raises DraftChanged and keeps the newer save.
    """
    modeling.check_paths([path])
    try:
        with db.transaction() as session:
            row = session.scalar(select(Draft).where(Draft.owner == owner, Draft.path == path).with_for_update())
            current = row.revision if row is not None else 0
            if revision != current:
                raise _changed(path, row)
            if row is None:
                base = _newest_id(session)
                if _files(session, base).get(path) == content:
                    return DraftView(owner, path, 0, None, base)
                row = Draft(owner=owner, path=path, content=content, base_version_id=base, revision=1, saved_at=now)
                session.add(row)
                session.flush()
                return _view(row)
            if _files(session, row.base_version_id).get(path) == content:
                session.delete(row)
                return DraftView(owner, path, 0, None, row.base_version_id)
            row.content, row.revision, row.saved_at = content, row.revision + 1, now
            return _view(row)
    except IntegrityError:  # a first save from another tab won the race for the row
        raise _changed(path, None) from None


def _changed(path: str, row: Draft | None) -> DraftChanged:
    when = f" at {row.saved_at:%H:%M} UTC" if row is not None else ""
    return DraftChanged(
        f"your edits to {path} were saved again{when} from another tab or window since this one loaded them: "
        "reload to carry on from that save",
        fields={"/revision": ["is not the newest save"]},
    )


def get(db: Database, owner: str, path: str) -> DraftView | None:
    with db.transaction(write=False) as session:
        row = session.scalar(select(Draft).where(Draft.owner == owner, Draft.path == path))
        return _view(row, content=True) if row is not None else None


def listing(db: Database, *, owner: str | None = None, content: bool = False) -> list[DraftView]:
    """Every owner's drafts (or one owner's), by owner and path."""
    with db.transaction(write=False) as session:
        query = select(Draft).order_by(Draft.owner, Draft.path)
        if owner is not None:
            query = query.where(Draft.owner == owner)
        return [_view(r, content=content) for r in session.scalars(query)]


def discard(db: Database, owner: str, paths: Iterable[str]) -> list[str]:
    """Drop ``owner``'s drafts of ``paths``; returns the paths that had one."""
    wanted = sorted(set(paths))
    if not wanted:
        raise InvalidData("choose the edits to discard", fields={"/paths": ["choose at least one file"]})
    with db.transaction() as session:
        found = list(session.scalars(select(Draft.path).where(Draft.owner == owner, Draft.path.in_(wanted))))
        session.execute(delete(Draft).where(Draft.owner == owner, Draft.path.in_(wanted)))
        return sorted(found)


def stale(db: Database, owner: str) -> list[StaleFile]:
    """``owner``'s drafted files that a deploy changed after the draft began."""
    with db.transaction(write=False) as session:
        return _stale(session, list(session.scalars(select(Draft).where(Draft.owner == owner))))


def _stale(session: Session, rows: list[Draft]) -> list[StaleFile]:
    found = []
    for row in rows:
        base = _files(session, row.base_version_id).get(row.path)
        later = session.execute(
            select(ProcessVersion.id, ProcessVersion.deployed_by, ProcessVersion.deployed_at, ProcessVersion.files)
            .where(ProcessVersion.id > (row.base_version_id or 0))
            .order_by(ProcessVersion.id)
        )
        for version_id, by, at, files in later:
            if files.get(row.path) != base:
                found.append(StaleFile(row.path, version_id, by, at))
                break
    return found


def check(db: Database, owner: str) -> modeling.CheckReport:
    """The deploy checks over the newest version with ``owner``'s drafts on top."""
    edits = {d.path: d.content or "" for d in listing(db, owner=owner, content=True)}
    if not edits:
        raise InvalidData("you have no edits to check", fields={"/files": ["no edits saved"]})
    return modeling.check_edits(db, edits)


def deploy(
    db: Database,
    owner: str,
    *,
    note: str,
    now: datetime,
    revisions: dict[str, int] | None = None,
    confirm_stale: Iterable[str] = (),
) -> DeployResult:
    """Check and deploy ``owner``'s drafts as a new version with ``note``, then drop the drafts
    deployed (a draft saved again meanwhile stays, so nothing typed is lost).

    ``revisions`` ({path: revision}), when given, must be exactly the drafts stored: what was
    checked in the page is what is deployed. Files another deploy changed since the draft began
    are refused (DraftsStale) unless named in ``confirm_stale``.
    """
    note = require_note(note)
    drafts = listing(db, owner=owner, content=True)
    if not drafts:
        raise InvalidData("you have no edits to deploy", fields={"/files": ["no edits saved"]})
    stored = {d.path: d.revision for d in drafts}
    if revisions is not None and revisions != stored:
        raise DraftChanged(
            "your edits changed since this page last saw them (another tab or window): check again",
            fields={"/revisions": ["are not the newest saves"]},
        )
    with db.transaction(write=False) as session:
        rows = list(session.scalars(select(Draft).where(Draft.owner == owner)))
        unconfirmed = [s for s in _stale(session, rows) if s.path not in set(confirm_stale)]
    if unconfirmed:
        raise DraftsStale(
            "someone deployed changes to files you are editing: "
            + ", ".join(f"{s.path} (version {s.version_id}, {s.deployed_by})" for s in unconfirmed),
            unconfirmed,
        )
    result = modeling.deploy_edits(db, {d.path: d.content or "" for d in drafts}, actor=owner, now=now, note=note)
    with db.transaction() as session:
        # An older version with exactly these files is not the newest: the drafts stay until it is.
        if result.created or result.version_id == _newest_id(session):
            deployed = tuple_(Draft.path, Draft.revision).in_(list(stored.items()))
            session.execute(delete(Draft).where(Draft.owner == owner, deployed))
    return result


def require_note(note: Any) -> str:
    """A deploy's note, stripped; refused (InvalidData on /note) when empty or too long."""
    text = note.strip() if isinstance(note, str) else ""
    if not text:
        raise InvalidData("say why you are deploying", fields={"/note": ["Enter a note saying why you are deploying"]})
    if len(text) > NOTE_MAX:
        raise InvalidData("the note is too long", fields={"/note": [f"Keep the note to {NOTE_MAX} characters"]})
    return text
