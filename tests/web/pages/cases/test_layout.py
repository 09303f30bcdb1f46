"""The shared page template: GOV.UK header, service navigation, language switch and footer, in English
and Welsh, with every string the templates show translated."""

from __future__ import annotations

import html
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from tests.web.pages.cases.world import sign_in

WEB = Path(__file__).resolve().parents[4] / "src" / "cprflow" / "web"


def test_pages_use_the_govuk_template_with_the_service_navigation(client: FlaskClient) -> None:
    sign_in(client, "admin")
    page = client.get("/tasks").text
    assert 'class="govuk-template"' in page and 'class="govuk-template__body"' in page
    assert 'class="govuk-skip-link"' in page and 'id="main-content"' in page
    assert "govuk-service-navigation" in page and "govuk-footer" in page
    assert "/static/vendor/govuk-frontend/govuk-frontend.min.css" in page
    assert "/static/vendor/moj-frontend/moj-frontend.min.css" in page
    current = re.search(
        r'govuk-service-navigation__item--active">\s*<a[^>]*aria-current="true"[^>]*>(.*?)</a>', page, re.S
    )
    assert current and "My tasks" in current.group(1)
    assert "Emails not sent" in page  # an admin's own link


def test_the_browser_finds_the_service_icon_rather_than_a_404(client: FlaskClient) -> None:
    """Each page links its icon, and a browser that asks /favicon.ico anyway is sent to it: no
    "not found" in the console on any page, signed in or not."""
    page = client.get("/login").text
    [href] = re.findall(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    with client.get(href) as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    with client.get("/favicon.ico") as asked:
        assert asked.status_code in (200, 301, 302)
    with client.get("/favicon.ico", follow_redirects=True) as followed:
        assert followed.status_code == 200 and followed.data == icon.data


def test_the_language_switch_turns_the_template_welsh(client: FlaskClient) -> None:
    sign_in(client, "bu.officer")
    english = client.get("/tasks").text
    assert '<html lang="en"' in english and 'value="cy" lang="cy"' in english
    sign_in(client, "bu.officer", welsh=True)
    welsh = html.unescape(client.get("/tasks").text)
    assert '<html lang="cy"' in welsh
    for text in ("Neidio i'r prif gynnwys", "Adolygiadau Ymarfer Plant", "Fy nhasgau", "Allgofnodi", "Dewislen"):
        assert text in welsh, text
    assert 'value="en" lang="en"' in welsh


def test_every_string_the_templates_show_has_welsh_text() -> None:
    with (WEB / "translations" / "cy" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        welsh = {
            m.id[0] if isinstance(m.id, tuple) else m.id: all(m.string) if isinstance(m.string, tuple) else m.string
            for m in read_po(po)
            if m.id
        }
    method = [("templates/**.html", "jinja2")]
    shown = {msg[2] if isinstance(msg[2], str) else msg[2][0] for msg in extract_from_dir(WEB, method)}
    missing = sorted(text for text in shown if not welsh.get(text))
    assert not missing, missing
