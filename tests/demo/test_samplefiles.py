"""The demo's small documents: each is a real file of its kind whose paragraphs read back as text."""

from __future__ import annotations

import pytest

from cprflow.demo import samplefiles
from cprflow.features import documents, extraction

PARAGRAPHS = ("Agency timeline", 'Seen on 3 March: "no concerns" & <nothing> noted', "Siân's review")


@pytest.mark.parametrize(
    ("make", "content_type"),
    [
        (samplefiles.pdf, "application/pdf"),
        (samplefiles.docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (samplefiles.odt, "application/vnd.oasis.opendocument.text"),
    ],
)
def test_each_kind_is_recognised_and_reads_back(make: object, content_type: str) -> None:
    data = make(*PARAGRAPHS)  # type: ignore[operator]
    assert documents.sniff(data) == content_type
    text = (extraction.extract_text(content_type, data) or "").replace("\u2019", "'")  # PDF's quoteright
    for paragraph in PARAGRAPHS:
        assert paragraph in text, (paragraph, text)


def test_a_pdf_drops_what_would_break_its_text_string() -> None:
    text = extraction.extract_text("application/pdf", samplefiles.pdf(r"a (bracketed) back\slash")) or ""
    assert "a bracketed backslash" in text


def test_a_pdf_of_welsh_text_is_made_even_where_its_font_lacks_a_letter() -> None:
    text = extraction.extract_text("application/pdf", samplefiles.pdf("Adolygiad Ymarfer Plant", "Dŵr a thŷ")) or ""
    assert "Adolygiad Ymarfer Plant" in text and "D?r a th?" in text
