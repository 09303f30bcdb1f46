"""Undeployed edits kept on the server per owner: saved, read by others, guarded against stale tabs
and against deploying over someone else's newer deploy, and dropped only once deployed."""

from __future__ import annotations

from typing import Any

import pytest

from cprflow import services
from cprflow.core.errors import DeployRefused, InvalidData
from cprflow.db.database import Database
from cprflow.services import drafts, modeling
from tests.conftest import T0, sample_diagrams

DMN = "processes/triage.dmn"
FORM = "forms/escalate.schema.json"


@pytest.fixture
def v1(db: Database) -> dict[str, str]:
    services.deploy(db, sample_diagrams(), actor="owner", now=T0)
    return modeling.version_files(db, 1)


def edited(v1: dict[str, str], old: str = "High risk score", new: str = "Very high risk score") -> str:
    assert old in v1[DMN]
    return v1[DMN].replace(old, new)


def test_a_saved_edit_is_kept_per_owner_and_others_see_it(db: Database, v1: dict[str, str]) -> None:
    saved = drafts.save(db, "olwen", DMN, edited(v1), revision=0, now=T0)
    assert (saved.revision, saved.saved_at, saved.base_version_id) == (1, T0, 1)
    again = drafts.save(db, "olwen", DMN, edited(v1, new="Highest risk"), revision=1, now=T0.replace(hour=10))
    assert again.revision == 2

    mine = drafts.get(db, "olwen", DMN)
    assert mine is not None and "Highest risk" in (mine.content or "")
    assert drafts.get(db, "bryn", DMN) is None  # another owner edits from the newest version
    listed = drafts.listing(db)
    assert [(d.owner, d.path, d.revision, d.content) for d in listed] == [("olwen", DMN, 2, None)]


def test_a_stale_tab_cannot_overwrite_a_newer_save(db: Database, v1: dict[str, str]) -> None:
    drafts.save(db, "olwen", DMN, edited(v1, new="from tab one"), revision=0, now=T0)
    with pytest.raises(drafts.DraftChanged) as refused:
        drafts.save(db, "olwen", DMN, edited(v1, new="from tab two"), revision=0, now=T0)
    assert "another tab" in refused.value.message
    kept = drafts.get(db, "olwen", DMN)
    assert kept is not None and "from tab one" in (kept.content or "")


def test_an_edit_undone_back_to_where_it_began_is_no_draft(db: Database, v1: dict[str, str]) -> None:
    assert drafts.save(db, "olwen", DMN, v1[DMN], revision=0, now=T0).revision == 0
    drafts.save(db, "olwen", DMN, edited(v1), revision=0, now=T0)
    assert drafts.save(db, "olwen", DMN, v1[DMN], revision=1, now=T0).revision == 0
    assert drafts.listing(db) == []


def test_paths_outside_the_set_are_refused_naming_the_file(db: Database, v1: dict[str, str]) -> None:
    with pytest.raises(InvalidData) as refused:
        drafts.save(db, "olwen", "../secrets.bpmn", "<x/>", revision=0, now=T0)
    assert list(refused.value.fields) == ["/files/../secrets.bpmn"]
    assert drafts.listing(db) == []


def test_discard_drops_only_the_files_named(db: Database, v1: dict[str, str]) -> None:
    drafts.save(db, "olwen", DMN, edited(v1), revision=0, now=T0)
    drafts.save(db, "olwen", FORM, v1[FORM].replace("{", "{ ", 1), revision=0, now=T0)
    drafts.save(db, "bryn", DMN, edited(v1, new="Bryn's"), revision=0, now=T0)
    assert drafts.discard(db, "olwen", [DMN, "forms/never_edited.schema.json"]) == [DMN]
    assert [(d.owner, d.path) for d in drafts.listing(db)] == [("bryn", DMN), ("olwen", FORM)]
    with pytest.raises(InvalidData):
        drafts.discard(db, "olwen", [])


def test_deploy_needs_a_note_and_takes_the_drafts_into_a_version(db: Database, v1: dict[str, str]) -> None:
    drafts.save(db, "olwen", DMN, edited(v1), revision=0, now=T0)
    with pytest.raises(InvalidData) as refused:
        drafts.deploy(db, "olwen", note="  ", now=T0)
    assert list(refused.value.fields) == ["/note"]

    result = drafts.deploy(db, "olwen", note="Clearer label for the Board", now=T0, revisions={DMN: 1})
    assert (result.version_id, result.created) == (2, True)
    [newest, _] = services.list_versions(db)
    assert (newest["deployed_by"], newest["note"]) == ("olwen", "Clearer label for the Board")
    assert "Very high risk score" in modeling.version_files(db, 2)[DMN]
    assert drafts.listing(db) == []


def test_deploy_refuses_when_the_page_checked_other_revisions(db: Database, v1: dict[str, str]) -> None:
    drafts.save(db, "olwen", DMN, edited(v1), revision=0, now=T0)
    drafts.save(db, "olwen", DMN, edited(v1, new="saved in another tab"), revision=1, now=T0)
    with pytest.raises(drafts.DraftChanged):
        drafts.deploy(db, "olwen", note="n", now=T0, revisions={DMN: 1})
    assert [v["id"] for v in services.list_versions(db)] == [1]


def test_a_refused_deploy_keeps_every_draft(db: Database, v1: dict[str, str]) -> None:
    drafts.save(
        db, "olwen", DMN, edited(v1, "High risk score", "High risk score</text></inputEntry>"), revision=0, now=T0
    )
    with pytest.raises(DeployRefused):
        drafts.deploy(db, "olwen", note="broken", now=T0)
    assert [d.revision for d in drafts.listing(db, owner="olwen")] == [1]


def test_deploying_over_someone_elses_newer_deploy_needs_confirming(db: Database, v1: dict[str, str]) -> None:
    drafts.save(db, "olwen", DMN, edited(v1, new="Olwen's label"), revision=0, now=T0)
    drafts.save(db, "bryn", DMN, edited(v1, new="Bryn's label"), revision=0, now=T0)
    drafts.deploy(db, "bryn", note="Bryn first", now=T0)

    [found] = drafts.stale(db, "olwen")
    assert (found.path, found.version_id, found.deployed_by) == (DMN, 2, "bryn")
    with pytest.raises(drafts.DraftsStale) as refused:
        drafts.deploy(db, "olwen", note="mine", now=T0)
    assert refused.value.fields == {f"/files/{DMN}": ["changed in version 2 by bryn since your edit began"]}
    assert len(services.list_versions(db)) == 2

    result = drafts.deploy(db, "olwen", note="mine, over Bryn's, agreed with him", now=T0, confirm_stale=[DMN])
    assert result.version_id == 3 and "Olwen's label" in modeling.version_files(db, 3)[DMN]


def test_a_save_made_while_deploying_is_not_lost(
    db: Database, v1: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    drafts.save(db, "olwen", DMN, edited(v1, new="first"), revision=0, now=T0)
    drafts.save(db, "olwen", FORM, v1[FORM].replace("{", "{ ", 1), revision=0, now=T0)
    deploy_edits = modeling.deploy_edits

    def another_tab_saves_meanwhile(*args: Any, **kwargs: Any) -> Any:
        result = deploy_edits(*args, **kwargs)
        drafts.save(db, "olwen", DMN, edited(v1, new="typed meanwhile"), revision=1, now=T0)
        return result

    monkeypatch.setattr(modeling, "deploy_edits", another_tab_saves_meanwhile)
    drafts.deploy(db, "olwen", note="n", now=T0)
    [kept] = drafts.listing(db, owner="olwen", content=True)
    assert kept.path == DMN and "typed meanwhile" in (kept.content or "")


def test_saving_and_deploying_drafts_on_both_backends(any_db: Database) -> None:
    services.deploy(any_db, sample_diagrams(), actor="owner", now=T0)
    v1 = modeling.version_files(any_db, 1)
    drafts.save(any_db, "olwen", DMN, edited(v1), revision=0, now=T0)
    with pytest.raises(drafts.DraftChanged):
        drafts.save(any_db, "olwen", DMN, edited(v1, new="stale tab"), revision=0, now=T0)
    drafts.save(any_db, "olwen", FORM, v1[FORM].replace("{", "{ ", 1), revision=0, now=T0)
    result = drafts.deploy(any_db, "olwen", note="both files", now=T0, revisions={DMN: 1, FORM: 1})
    assert result.version_id == 2 and drafts.listing(any_db) == []
