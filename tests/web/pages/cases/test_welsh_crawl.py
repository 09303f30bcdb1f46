"""A crawl of every page in Welsh: no interface string is left in English.

The English the interface could show is gathered from where it lives: the page catalogue (every
msgid whose Welsh differs), the form renderer's words, the validation wording, the forms' titles,
help and choices, every named diagram element, lane and process that has a Welsh name, and the
data files' labels (timescales, agencies, themes). Reviews are put at many stages (the demo cases,
one review in its audit loop and one on hold), then each kind of user signs in, chooses Welsh and
follows every internal link from where they land (GET only, a few pages per route, so the crawl
does not walk every case). No page may show one of those English strings: not as a phrase inside
its text, and not as the whole of a text node or of a label read aloud (aria-label, title, alt,
placeholder, a button's value). Text a page marks lang="en" is a declared fallback, text marked
translate="no" is data shown as stored (people's names, the trace's raw values) and text marked
data-entered is what someone wrote (a decision's reasons): all three are left out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlencode, urljoin, urlsplit

import lxml.etree
import lxml.html
import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from cprflow.core import form_messages
from cprflow.db.database import Database
from cprflow.demo import cases as demo
from cprflow.services import users
from cprflow.web import create_app, formrender
from tests.conftest import ROOT, T0
from tests.scenarios import cpr
from tests.web.conftest import make_settings, seal
from tests.web.pages.cases.world import PASSWORD, PEOPLE, sign_in

CATALOGUE = ROOT / "src" / "cprflow" / "web" / "translations" / "cy" / "LC_MESSAGES" / "messages.po"

#: Words that are English and Welsh alike or are names, so a Welsh page may show them as they are.
#: Keep this short: each entry is a hole in the check.
SHARED = {
    "SUSR",  # an acronym used in both languages
    "CSV",
    "JSON",
    "BPMN",
    "DMN",
    "OK",
}

#: The people who crawl: one of each kind (the demo accounts of ``make run``).
CRAWLERS = [
    "bu",
    "subgroup",
    "chair",
    "board",
    "panelchair",
    "reviewer1",
    "police",
    "owner",
    "auditor",
    "admin",
]

#: How many different addresses of one route (with its non-numeric arguments) each person opens.
PER_ROUTE = 8
#: Not pages: downloads, the editors' JSON, files.
SKIP = re.compile(r"^/(static|api)/|\.(csv|json|zip|bpmn|dmn|pdf)$|/documents/\d+$|^/modeler/data/")


# ---------------------------------------------------------------------------------------------
# The English interface strings, from where they live


def _po_strings() -> set[str]:
    found: set[str] = set()
    with CATALOGUE.open("rb") as po:
        for message in read_po(po):
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not ids[0] or not any(strings):
                continue
            for english in ids:
                if english in strings:
                    continue
                found.update(re.split(r"%\(\w+\)[sd]|%[sd]", english))
    return found


def _form_strings(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key in ("title", "description", "ui:title", "ui:description", "ui:help", "ui:placeholder"):
            english, welsh = node.get(key), node.get(f"x-{key.removeprefix('ui:')}-cy")
            if isinstance(english, str) and welsh not in (None, english):
                found.add(english)
        names, names_cy = node.get("x-enumNames"), node.get("x-enumNames-cy")
        if isinstance(names, list) and isinstance(names_cy, list):
            found.update(n for n, c in zip(names, names_cy, strict=False) if n != c)
        for value in node.values():
            found |= _form_strings(value)
    elif isinstance(node, list):
        for value in node:
            found |= _form_strings(value)
    return found


def _diagram_names() -> set[str]:
    """The English name of every element, lane and process that carries a different Welsh name, and
    of every user task, lane and process that has none yet (pages show those names)."""
    found: set[str] = set()
    shown = {"userTask", "manualTask", "lane", "process"}
    for path in (ROOT / "processes").glob("*.bpmn"):
        for element in lxml.etree.fromstring(path.read_bytes()).iter():
            cy = element.xpath(
                "./*[local-name()='extensionElements']//*[local-name()='property'][@name='nameCy']/@value"
            )
            name = element.get("name")
            kind = lxml.etree.QName(element).localname if isinstance(element.tag, str) else ""
            if name and (cy and name != cy[0] or not cy and kind in shown):
                found.add(" ".join(name.split()))
    return found


def _data_labels() -> set[str]:
    found: set[str] = set()
    for process in json.loads((ROOT / "processes" / "timescales.json").read_text(encoding="utf-8")).values():
        if isinstance(process, dict):
            for entry in process.values():
                if isinstance(entry, dict):
                    found.update(
                        entry[k] for k in ("label", "from") if entry.get(k) and entry.get(f"{k}_cy") != entry[k]
                    )
    for agency in json.loads((ROOT / "processes" / "agencies.json").read_text(encoding="utf-8"))["agencies"]:
        if agency.get("name_cy") not in (None, agency["name"]):
            found.add(agency["name"])
    for theme in json.loads((ROOT / "processes" / "themes.json").read_text(encoding="utf-8"))["themes"]:
        if theme.get("label_cy") not in (None, theme["label"]):
            found.add(theme["label"])
    return found


def english_interface_strings() -> set[str]:
    found = _po_strings()
    found.update(v for k, v in formrender._WORDS["en"].items() if v != formrender._WORDS["cy"][k])
    for key, english in form_messages._WORDING["en"].items():
        if english != form_messages._WORDING["cy"][key]:
            found.update(re.split(r"\{\w\}", english))
    for path in (ROOT / "forms").glob("*.json"):
        found.update(_form_strings(json.loads(path.read_text(encoding="utf-8"))))
    found |= _diagram_names() | _data_labels()
    cleaned = {" ".join(s.split()).strip(" .:,;") for s in found}
    return {s for s in cleaned if len(s) >= 3 and re.search(r"[A-Za-z]{3}", s) and s not in SHARED}


def _is_phrase(text: str) -> bool:
    # Inside running text only phrases count: one word ("Board", "Police") may be a name or case data.
    return " " in text and len(text) >= 8


# ---------------------------------------------------------------------------------------------
# Reading a page as a Welsh reader sees it


def _visible(html: str) -> lxml.html.HtmlElement:
    root = lxml.html.fromstring(html)
    assert root.get("lang") == "cy", "the page is not in Welsh"
    for element in root.xpath(
        "//script | //style | //template | //*[@lang='en'] | //*[@translate='no'] | //*[@data-entered] | //*[@hidden]"
    ):
        element.drop_tree()
    return root


def _chunks(root: lxml.html.HtmlElement) -> list[str]:
    """Each text node and each label read aloud, whitespace collapsed."""
    chunks = [" ".join(t.split()) for t in root.xpath("//body//text()")]
    for attribute in ("aria-label", "title", "alt", "placeholder"):
        chunks += [" ".join(v.split()) for v in root.xpath(f"//body//@{attribute}")]
    chunks += [" ".join(v.split()) for v in root.xpath("//body//input[@type='submit' or @type='button']/@value")]
    return [c for c in chunks if c]


#: English words that Welsh does not use: two of them in one text node make it an English sentence,
#: which finds English written straight into a page or into Python, outside any catalogue.
ENGLISH_WORDS = frozenset(
    "the and of is are was for with has have not this that your you will been from by it their there "
    "which what when who can must only any".split()
)


def _english_sentence(chunk: str) -> bool:
    return sum(word in ENGLISH_WORDS for word in re.findall(r"[a-z']+", chunk.lower())) >= 2


def english_on(html: str, strings: set[str], phrases: list[str]) -> set[str]:
    root = _visible(html)
    chunks = _chunks(root)
    whole = {c.strip(" .:,;*") for c in chunks}
    found = {c for c in whole if c in strings}
    text = " ".join(chunks)
    found.update(p for p in phrases if p in text and re.search(rf"(?<![\w']){re.escape(p)}(?![\w'])", text))
    found.update(c for c in chunks if _english_sentence(c))
    return found


def raw_ids(html: str) -> set[str]:
    """Ids shown as they are stored (``on_track``, ``undertake_susr``), in any language a leftover:
    every value a diagram keeps has a name to show. Code elements show ids on purpose (the trace)."""
    root = _visible(html)
    for element in root.xpath("//code | //pre"):
        element.drop_tree()
    text = " ".join(root.xpath("//body//text()"))
    return set(re.findall(r"(?<![\w./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w./-])", text))


# ---------------------------------------------------------------------------------------------
# The world: the demo's reviews at their stages, one in its audit loop, one on hold


@pytest.fixture(scope="module")
def world_file(people_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("welshcrawl") / "world.db"
    shutil.copyfile(people_file, path)
    url = f"sqlite:///{path}"
    database = Database(url)
    for username, roles, agency in demo.ACCOUNTS:
        if username in PEOPLE:  # "police", "auditor", "admin", "owner": made already
            continue
        users.add_user(
            database, username, password=PASSWORD, roles=roles, agency=agency, now=T0, display_name=f"Demo {username}"
        )
    for username in (cpr.LEAD, cpr.SECOND):
        users.add_user(database, username, password=PASSWORD, roles=["reviewer"], now=T0)
    demo.ensure_reviews(
        database, now=datetime.now(UTC), step_seconds=5, script=ROOT / "processes" / "demo" / "cases.json"
    )
    seal(database)
    audited = cpr.Review.start(url)
    cpr.to_audit_loop(audited)
    held = cpr.Review.start(url)
    cpr.to_reviewers(held)
    held.send("hold_started", cpr.hold("H1", ["learning_event", "practitioner_contact"]), "2026-01-21")
    cpr.tick(url, "2026-09-01")
    database = Database(url)
    seal(database)
    (path.parent / "ids.json").write_text(json.dumps({"held": held.id, "audited": audited.id}))
    return path


@pytest.fixture
def crawl_app(world_file: Path, tmp_path: Path) -> Flask:
    path = tmp_path / "cprflow.db"
    shutil.copyfile(world_file, path)
    return create_app(make_settings(f"sqlite:///{path}"), db=Database(f"sqlite:///{path}"))


# ---------------------------------------------------------------------------------------------
# The crawl


def _route_key(app: Flask, path: str) -> tuple[str, ...] | None:
    adapter = app.url_map.bind("localhost")
    try:
        rule, args = adapter.match(path, method="GET", return_rule=True)
    except HTTPException:  # not a page of ours, not a GET, or a redirect: not followed
        return None
    return (rule.rule, *(f"{k}={v}" for k, v in sorted(args.items()) if not isinstance(v, int)))


def _targets(root: lxml.html.HtmlElement) -> list[str]:
    """Where a page leads by GET: its links, and its GET forms sent as they stand (filters, search,
    the event log check), once with each named button."""
    found = [str(h) for h in root.xpath("//a/@href")]
    for form in root.xpath("//form"):
        if (form.get("method") or "get").lower() != "get":
            continue
        values = [(k, v) for k, v in form.form_values() if v]
        buttons = [(b.get("name"), b.get("value") or "") for b in form.xpath(".//button[@name]")] or [None]
        for button in buttons:
            query = urlencode(values + ([button] if button else []))
            found.append(f"{form.get('action') or ''}?{query}")
    return found


def crawl(app: Flask, client: FlaskClient, start: str) -> dict[str, str]:
    """Every page reachable from ``start`` by internal GET links: address -> HTML."""
    pages: dict[str, str] = {}
    seen: set[str] = set()
    per_route: Counter[tuple[str, ...]] = Counter()
    queue = [start]
    while queue:
        address = queue.pop(0)
        if address in seen or len(pages) >= 400:
            continue
        seen.add(address)
        key = _route_key(app, urlsplit(address).path)
        if key is None or per_route[key] >= PER_ROUTE:
            continue
        per_route[key] += 1
        response = client.get(address, follow_redirects=True)
        if response.status_code != 200 or not response.mimetype == "text/html":
            continue
        pages[response.request.full_path.rstrip("?")] = response.text
        if os.environ.get("CRAWL_DUMP"):
            name = re.sub(r"\W", "_", f"{client.user}{response.request.full_path}")[:150]
            Path(os.environ["CRAWL_DUMP"], name + ".html").write_text(response.text)
        for href in _targets(lxml.html.fromstring(response.text)):
            target, _ = urldefrag(urljoin(f"http://localhost{response.request.path}", href))
            parts = urlsplit(target)
            if parts.netloc != "localhost" or SKIP.search(parts.path):
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if local not in seen:
                queue.append(local)
    return pages


def _form(html: str, action: str) -> tuple[str, list[tuple[str, str]]]:
    """The form of a page that posts to ``action`` (itself when it names none): its values as they stand."""
    forms = lxml.html.fromstring(html).xpath("//form[@method='post']")
    [form] = [f for f in forms if (f.get("action") or action) == action]
    return action, [(k, v) for k, v in form.form_values()]


def posted_pages(app: Flask, held: int) -> dict[str, str]:
    """Pages only a form post shows: errors, a check-your-answers page, a refused timescale."""
    pages: dict[str, str] = {}
    client = app.test_client()
    sign_in(client, "bu", welsh=True)
    action, values = _form(client.get(f"/reviews/{held}/holds").text, f"/reviews/{held}/holds")
    kept = [(k, v) for k, v in values if k == "csrf_token"]
    pages["bu hold errors"] = client.post(action, data=MultiDict(kept)).text
    action, values = _form(client.get("/reviews/start").text, "/reviews/start")
    pages["bu start errors"] = client.post(action, data=MultiDict(values)).text
    chosen = client.post(action, data=MultiDict([*values, ("process", "child_practice_review")]), follow_redirects=True)
    pages["bu start form"] = chosen.text  # the review's start form, declared on its start event
    action, values = _form(chosen.text, chosen.request.path)
    pages["bu start form errors"] = client.post(action, data=MultiDict(values)).text
    answers = {"child_reference": "CPR-CRAWL-1", "board_area": "Gwent"}
    answered = [(k, answers.get(k, v)) for k, v in values if k in answers or k == "csrf_token"]
    answered += [(f"referral_date.{part}", typed) for part, typed in (("day", "2"), ("month", "3"), ("year", "2026"))]
    pages["bu start check"] = client.post(action, data=MultiDict(answered), follow_redirects=True).text
    for process in ("single_unified_safeguarding_review", "multi_agency_professional_forum"):
        form = client.get(f"/reviews/start/{process}").text
        pages[f"bu start form {process}"] = form
        action, values = _form(form, f"/reviews/start/{process}")
        pages[f"bu start form errors {process}"] = client.post(action, data=MultiDict(values)).text

    client = app.test_client()
    sign_in(client, "owner", welsh=True)
    action, values = _form(client.get("/modeler/timescales").text, "/modeler/timescales")
    first = next(k for k, _ in values if k.endswith(".amount"))
    wrong = [(k, "ddim" if k == first else v) for k, v in values]
    pages["owner timescale errors"] = client.post(action, data=MultiDict(wrong)).text
    changed = [(k, str(int(v) + 1) if k == first else v) for k, v in values]
    pages["owner timescale to confirm"] = client.post(action, data=MultiDict(changed)).text
    return pages


def test_every_page_in_welsh_leaves_no_interface_string_in_english(crawl_app: Flask, world_file: Path) -> None:
    strings = english_interface_strings()
    phrases = sorted(s for s in strings if _is_phrase(s))
    # the check can fail: it knows the English of pages, forms, diagrams and data files
    assert {"There is a problem", "Record the referral", "Reviews", "Notify Welsh Government", "Police"} <= strings

    found: dict[str, set[str]] = {}
    visited: dict[str, list[str]] = {}
    for username in CRAWLERS:
        client = crawl_app.test_client()
        sign_in(client, username, welsh=True)
        client.user = username
        pages = crawl(crawl_app, client, "/")
        visited[username] = sorted(pages)
        for address, html in pages.items():
            for english in english_on(html, strings, phrases):
                found.setdefault(english, set()).add(f"{username} {address}")
            # the process owners' pages are about files and ids, and name them so
            for raw in raw_ids(html) if not address.startswith("/modeler") else ():
                found.setdefault(raw, set()).add(f"{username} {address}")

    held = json.loads((world_file.parent / "ids.json").read_text())["held"]
    for name, html in posted_pages(crawl_app, held).items():
        asked = name.startswith("bu start form") and "errors" not in name  # a start form, not yet answered
        assert "govuk-error-summary" in html or name == "bu start check" or asked, name
        for english in english_on(html, strings, phrases):
            found.setdefault(english, set()).add(name)

    every = {a for addresses in visited.values() for a in addresses}
    # the crawl reached every kind of page, with reviews in them
    for page in (
        "/tasks",
        "/reviews",
        "/overview",
        "/reports/timescales",
        "/audit/verify?run=1",
        "/admin/notifications",
        "/learning/recurring",
        "/modeler/timescales",
        "/modeler/drafts",
        "/learning",
        "/learning/trends",
        "/settings/notifications",
        "/modeler/",
        "/modeler/versions",
    ):
        assert any(a == page or a.startswith(page + "?") for a in every), page
    for section in ("tasks", "holds", "timescales", "timeline", "trace"):
        assert any(re.fullmatch(rf"/reviews/\d+/{section}", a) for a in every), section
    assert any(re.fullmatch(r"/tasks/[0-9a-f-]{36}", a) for a in every)

    report = "\n".join(f"{english!r}: {sorted(where)[:3]}" for english, where in sorted(found.items()))
    assert not found, f"{len(found)} English strings or raw ids on Welsh pages:\n{report}"
