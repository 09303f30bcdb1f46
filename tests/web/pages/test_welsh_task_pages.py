"""A crawl of task pages in Welsh: no interface string is left in English.

The English strings the interface could show are gathered from where they live (the page catalogue,
the form renderer's words, the forms' titles, help and choices, the diagrams' task and lane names),
keeping those that have a different Welsh text. Each task page of a review driven from referral to
the Board's decision, its errors and its check-your-answers page are then read in Welsh as the person
who works it; none of those English strings may appear (text marked lang="en" is a declared fallback).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import lxml.html
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from cprflow import services
from cprflow.db.database import Database
from cprflow.diagrams import welsh
from cprflow.services import users
from cprflow.web import formrender
from tests.conftest import ROOT
from tests.scenarios import cpr
from tests.web.pages.test_tasks import PASSWORD, REFERRAL, client, csrf, db, sign_in, start_review

__all__ = ["client", "db"]  # fixtures shared with the task page tests

CATALOGUE = ROOT / "src" / "cprflow" / "web" / "translations" / "cy" / "LC_MESSAGES" / "messages.po"


def _worth_checking(text: str) -> bool:
    # one short word ("Board", "Due") could be part of a name or a case's data; phrases cannot
    return len(text) >= 8 and (" " in text or len(text) >= 12)


def english_interface_strings() -> set[str]:
    found: set[str] = set()
    with CATALOGUE.open("rb") as po:
        for message in read_po(po):
            if message.id and message.string and message.id != message.string and isinstance(message.id, str):
                found.update(part.strip(" .:") for part in re.split(r"%\(\w+\)s", message.id))
    found.update(v for k, v in formrender._WORDS["en"].items() if v != formrender._WORDS["cy"][k])
    for path in (ROOT / "forms").glob("*.schema.json"):
        found.update(_form_strings(json.loads(path.read_text(encoding="utf-8"))))
    names = welsh.read(services_files())
    found.update(
        english
        for english, cy in _english_names().items()
        if cy in set(names.tasks.values()) | set(names.lanes.values())
    )
    return {s for s in found if _worth_checking(s)}


def services_files() -> dict[str, bytes]:
    return {f"processes/{p.name}": p.read_bytes() for p in (ROOT / "processes").glob("*.bpmn")}


def _english_names() -> dict[str, str]:
    """English name -> Welsh name of every named user task and lane."""
    pairs: dict[str, str] = {}
    for content in services_files().values():
        root = lxml.etree.fromstring(content)
        for element in root.iter("{*}userTask", "{*}lane"):
            cy = element.xpath(".//*[local-name()='property'][@name='nameCy']/@value")
            if cy and element.get("name") and element.get("name") != cy[0]:
                pairs[element.get("name")] = cy[0]
    return pairs


def _form_strings(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key in ("title", "description"):
            if isinstance(node.get(key), str) and node.get(f"x-{key}-cy") not in (None, node[key]):
                found.add(node[key])
        names, names_cy = node.get("x-enumNames"), node.get("x-enumNames-cy")
        if isinstance(names, list) and isinstance(names_cy, list):
            found.update(n for n, c in zip(names, names_cy, strict=False) if n != c)
        for value in node.values():
            found |= _form_strings(value)
    elif isinstance(node, list):
        for value in node:
            found |= _form_strings(value)
    return found


def welsh_text(html: str) -> str:
    """What a Welsh reader sees, less what the page marks as English (a declared fallback)."""
    root = lxml.html.fromstring(html)
    assert root.get("lang") == "cy", "the page is not in Welsh"
    for element in root.xpath("//script | //style | //*[@lang='en']"):
        element.drop_tree()
    return " ".join(" ".join(root.xpath("//body//text()")).split())


def english_left(html: str, strings: set[str]) -> list[str]:
    text = welsh_text(html)
    return sorted(s for s in strings if re.search(rf"(?<!\w){re.escape(s)}(?!\w)", text))


def in_welsh(client: FlaskClient, username: str) -> None:
    sign_in(client, username)
    client.post("/language", data={"language": "cy", "next": "/tasks", "csrf_token": csrf(client.get("/tasks").text)})


def test_task_pages_in_welsh_leave_no_interface_string_in_english(client: FlaskClient, db: Database) -> None:
    strings = english_interface_strings()
    assert "Record the referral" in strings and "There is a problem" in strings and "Check your answers" in strings
    now = datetime.now(UTC)
    users.add_user(db, "chair", password=PASSWORD, roles=["board_chair"], now=now)
    review = start_review(db)
    pages: dict[str, str] = {}

    in_welsh(client, "bu")
    pages["my tasks"] = client.get("/tasks").text
    link = f"/tasks/{services.list_tasks(db, instance_id=review)[0].id}"
    pages["record the referral"] = client.get(link).text
    bad = {k: v for k, v in REFERRAL.items() if k not in ("/child_reference", "/referral_date")}
    bad["/referral_date"] = ["31", "2", "2026"]  # type: ignore[assignment]
    pages["referral errors"] = client.post(
        link, data={**bad, "csrf_token": csrf(pages["record the referral"]), "_action": "complete"}
    ).text
    client.post(link, data={**REFERRAL, "csrf_token": csrf(pages["record the referral"]), "_action": "draft"})
    pages["draft saved"] = client.get(link).text
    pages["completed"] = client.post(
        link,
        data={**REFERRAL, "csrf_token": csrf(pages["record the referral"]), "_action": "complete"},
        follow_redirects=True,
    ).text
    pages["already done"] = client.get(link).text

    in_welsh(client, "subgroup")
    screen = services.list_tasks(db, instance_id=review)[0]
    pages["screening"] = client.get(f"/tasks/{screen.id}").text
    services.complete_task(db, screen.id, cpr.screening(), actor="subgroup", now=now)

    in_welsh(client, "chair")
    decide = f"/tasks/{services.list_tasks(db, instance_id=review)[0].id}"
    pages["decision"] = client.get(decide).text
    client.post(
        decide,
        data={
            "/decision": "concise",
            "/decision_rationale": "Cytunwyd gan y Bwrdd.",
            "/decision_date": [str(now.day), str(now.month), str(now.year)],
            "csrf_token": csrf(pages["decision"]),
            "_action": "complete",
        },
    )
    pages["check your answers"] = client.get(f"{decide}/check").text

    assert "Cofnodi penderfyniad y Bwrdd" in pages["decision"]  # the task's Welsh name, from the diagram
    assert "Cadeirydd y Bwrdd" in pages["my tasks"] or "Uned Fusnes" in pages["my tasks"]
    left = {name: english_left(html, strings) for name, html in pages.items()}
    assert left == {name: [] for name in pages}
