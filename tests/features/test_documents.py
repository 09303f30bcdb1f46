"""Case documents: accepted types by content, versions per slot, stored once, text extracted."""

from __future__ import annotations

import io
import threading
import zipfile

import pytest
from sqlalchemy import func, select

from cprflow import services
from cprflow.core.errors import InvalidData
from cprflow.db.database import Database
from cprflow.db.models import Blob, Document, Event
from cprflow.features import documents
from cprflow.features.extraction import Bounds
from tests.conftest import T0, sample_diagrams
from tests.fixtures import files


@pytest.fixture
def case(deployed):
    instance = services.start_instance(deployed, "sample_case", {}, actor="bu", now=T0)
    return deployed, instance.id


def _store(db, instance_id, data, *, slot="final_report", filename="report.pdf", **kw):
    with db.transaction() as session:
        return documents.store(
            session, instance_id=instance_id, slot=slot, filename=filename, data=data, actor="reviewer1", now=T0, **kw
        )


@pytest.mark.parametrize(
    "make, kind", [(files.pdf, documents.PDF), (files.docx, documents.DOCX), (files.odt, documents.ODT)]
)
def test_each_accepted_format_is_recognised_and_its_text_extracted(case, make, kind):
    db, instance_id = case
    view = _store(db, instance_id, make("Learning for Gwent", "Child C was known to school"), filename="draft.bin")
    assert view.content_type == kind  # from the content, not the name
    assert view.text_status == "pending"  # read after the upload commits, not inside it
    assert documents.read_text(db, view.id, Bounds()).text_status == "extracted"
    with db.transaction(write=False) as session:
        text = documents.text(session, view.id)
    assert "Learning for Gwent" in text and "Child C was known to school" in text


def test_a_second_upload_is_the_next_version_and_identical_content_is_stored_once(case):
    db, instance_id = case
    first = _store(db, instance_id, files.pdf("v1"))
    second = _store(db, instance_id, files.pdf("v2"))
    again = _store(db, instance_id, files.pdf("v1"), slot="briefing")
    assert (first.version, second.version, again.version) == (1, 2, 1)
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == 2
        listed = documents.list_for(session, instance_id, latest_only=True)
        assert [(d.slot, d.version) for d in listed] == [("briefing", 1), ("final_report", 2)]
        assert documents.content(session, documents.get(session, first.id)) == files.pdf("v1")
        events = session.scalars(select(Event).where(Event.kind == "document_stored")).all()
    assert [e.detail["version"] for e in events] == [1, 2, 1]
    assert all(e.actor == "reviewer1" for e in events)


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"0" * (documents.MAX_EXPANDED_BYTES + 1))
    return out.getvalue()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"MZ\x90\x00 an executable", "only PDF"),
        (b"<html><script>alert(1)</script></html>", "only PDF"),
        (b"PK\x03\x04 not really a zip", "damaged"),
        (files.pdf("x") + b"0" * 2048, "larger than"),
    ],
)
def test_refused_files_name_the_field_and_store_nothing(case, data, message):
    db, instance_id = case
    with pytest.raises(InvalidData) as refused:
        _store(db, instance_id, data, max_bytes=1024 * 1024 if message != "larger than" else 1024)
    assert message in refused.value.message
    assert list(refused.value.fields) == ["/file"]
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0
        assert session.scalar(select(func.count()).select_from(Blob)) == 0


def test_a_zip_bomb_is_refused_before_it_is_expanded(case):
    db, instance_id = case
    with pytest.raises(InvalidData, match="expands"):
        _store(db, instance_id, _bomb())


def test_entities_in_a_docx_are_not_resolved(case, tmp_path):
    db, instance_id = case
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    hostile = files._zip(
        {
            "word/document.xml": f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>"
        }
    )
    view = _store(db, instance_id, hostile)
    documents.read_text(db, view.id, Bounds())
    with db.transaction(write=False) as session:
        assert "TOP SECRET" not in (documents.text(session, view.id) or "")


def test_slot_and_file_names_are_checked(case):
    db, instance_id = case
    with pytest.raises(InvalidData) as refused:
        _store(db, instance_id, files.pdf("x"), slot="../etc")
    assert list(refused.value.fields) == ["/slot"]
    view = _store(db, instance_id, files.pdf("x"), filename="C:\\Users\\me\\Final report.pdf")
    assert view.filename == "Final report.pdf"


def test_the_same_bytes_filed_by_two_reviews_at_once_are_stored_once(any_db):
    """Two identical letters for two reviews, filed in overlapping transactions: both succeed."""
    services.deploy(any_db, sample_diagrams(), actor="owner", now=T0)
    first = services.start_instance(any_db, "sample_case", {}, actor="bu", now=T0).id
    second = services.start_instance(any_db, "sample_case", {}, actor="bu", now=T0).id
    letter = files.pdf("The same letter")
    if any_db.is_sqlite:  # one writer at a time: nothing overlaps, but the outcome must be the same
        _store(any_db, first, letter)
        _store(any_db, second, letter)
    else:
        # The rival writes the blob and holds its transaction open; this one looks, finds nothing,
        # and its insert waits on the rival, which then commits: the insert meets a duplicate.
        other = Database(any_db.url)
        written, release = threading.Event(), threading.Event()

        def rival() -> None:
            with other.transaction() as session:
                documents.store(
                    session, instance_id=second, slot="final_report", filename="l.pdf", data=letter, actor="x", now=T0
                )
                written.set()
                release.wait(10)

        thread = threading.Thread(target=rival)
        thread.start()
        try:
            assert written.wait(10)
            threading.Timer(0.5, release.set).start()
            _store(any_db, first, letter)
        finally:
            release.set()
            thread.join(10)
            other.dispose()
    with any_db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == 1
        assert session.scalar(select(func.count()).select_from(Document)) == 2
