"""Formal letters: rendered in Welsh and English from templates with every Welsh letter, values
escaped rather than read as markup, and templates checked at deploy in both languages."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from pypdf import PdfReader

from cprflow.features import documents, extraction, letters

WHEN = datetime(2026, 1, 5, tzinfo=UTC)
TEMPLATE = {
    "cy": {"title": "Hysbysiad {{ reference }}", "paragraphs": ["Annwyl {{ name }},"]},
    "en": {"title": "Notice {{ reference }}", "paragraphs": ["Dear {{ name }},"]},
}


def test_welsh_letters_render_w_and_y_circumflex() -> None:
    template = {lang: {"title": "Tŷ {{ reference }}", "paragraphs": ["ŵ ŷ Ŵ Ŷ â ê î ô û"]} for lang in ("en", "cy")}
    pdf = letters.render_pdf(template, {"reference": "CPR-1"}, "cy", datetime(2026, 1, 5, tzinfo=UTC))
    text = extraction.extract_text(documents.PDF, pdf) or ""
    assert "Tŷ CPR-1" in text and "ŵ ŷ Ŵ Ŷ â ê î ô û" in text
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    fonts = {str(f.get_object()["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert fonts and all("DejaVu" in f for f in fonts)  # the font that has them, embedded


def test_a_letter_is_welsh_first_unless_one_language_is_asked_for() -> None:
    both = letters.render_html(TEMPLATE, {"reference": "CPR-1", "name": "Siân"}, "both", WHEN)
    assert both.index('lang="cy"') < both.index('lang="en"') and "2026-01-05" in both
    english = letters.render_html(TEMPLATE, {"reference": "CPR-1", "name": "Siân"}, "en", WHEN)
    assert 'lang="cy"' not in english and "Dear Siân," in english


def test_values_are_escaped_not_read_as_markup() -> None:
    page = letters.render_html(TEMPLATE, {"reference": "<script>x</script>", "name": 'O\'Brien & "Co"'}, "en", WHEN)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "O&#x27;Brien &amp; &quot;Co&quot;" in page


def _problems(template: Any) -> list[str]:
    return [p.message for p in letters.check({}, {"forms/notice.letter.json": template})]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ({"en": TEMPLATE["en"]}, "'cy' needs a 'title' and a list of 'paragraphs'"),
        ({**TEMPLATE, "en": {"title": "t", "paragraphs": "not a list"}}, "'en' needs a 'title'"),
        ({**TEMPLATE, "cy": {"title": "{{ unclosed", "paragraphs": []}}, "'cy': "),
        ([], "'cy' needs a 'title'"),
    ],
)
def test_deploy_refuses_a_template_missing_a_language_or_not_parsing(template: Any, message: str) -> None:
    problems = _problems(template)
    assert any(message in p for p in problems), problems


def test_a_sound_template_passes_the_check() -> None:
    assert _problems(TEMPLATE) == []
