"""The process owner's journey of issue 18, in a real browser, in English and once more in Welsh:
change the notification period from 5 to 7 days without touching a script, type a new decision
row, add a form field with the field list, close the tab and come back to the same edits, deploy
with a note, read a diff that marks the changed line, and migrate one running review."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from babel.support import Translations

from cprflow import services
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.services import drafts, modeling
from tests.conftest import ROOT
from tests.e2e.conftest import ARTIFACTS, add_user, sign_in
from tests.scenarios.cpr import Review

ROUTE = "processes/cpr_not_statutory_route.dmn"
FORM = "forms/notify_welsh_government.schema.json"
WELSH = Translations.load(str(ROOT / "src" / "cprflow" / "web" / "translations"), ["cy"])


class Words:
    """Page text in the journey's language, from the same catalogue the pages use; a Welsh journey
    fails on any string that has no Welsh, rather than quietly looking for the English."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, text: str, **params: Any) -> str:
        found = WELSH.gettext(text) if self.lang == "cy" else text
        assert self.lang == "en" or found != text, f"no Welsh for {text!r}"
        return found % params if params else found


@pytest.fixture
def early_january() -> Iterator[None]:
    with time_machine.travel(datetime(2026, 1, 6, 9, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def with_timescales(live_db: Database) -> Database:
    """The real set: its processes/timescales.json sets the periods the review diagrams count with."""
    assert diagram_set.TIMESCALES_FILE in services.newest_files(live_db)
    return live_db


def notification_period(db: Database) -> str:
    """The field name (``process.key``) of the review's Welsh Government notification period, found
    by what it is rather than by its key, so the journey runs on whichever timescales file ships."""
    data = json.loads(services.newest_files(db)[diagram_set.TIMESCALES_FILE])
    [key] = [
        k
        for k, entry in data["child_practice_review"].items()
        if "welsh government" in entry["label"].lower() and entry["duration"] == "P5D"
    ]
    return f"child_practice_review.{key}"


def wait_saved(page: Any, t: Words) -> None:
    """The toolbar says the edits are saved on the server (with the time, which varies)."""
    prefix = t("Your edits are saved on the server (last saved at %(time)s).").split("(")[0].strip()
    page.locator("#saved-status", has_text=prefix).wait_for(timeout=15_000)


def open_file(page: Any, link: str) -> None:
    page.goto("/modeler/")
    page.locator("main > ul").get_by_role("link", name=link, exact=True).click()
    page.locator("#editor[data-ready=true]").wait_for(timeout=60_000)


def fits(page: Any) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_a_process_owner_changes_timescales_tables_and_forms_without_code(
    page: Any, with_timescales: Database, early_january: None, lang: str
) -> None:
    t = Words(lang)
    db = with_timescales
    add_user(db, "olwen", "process_owner")
    running = Review.start(db.url, "2026-01-05")
    before = running.view().version_id
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, "olwen")
    if lang == "cy":
        page.get_by_role("button", name="Cymraeg").click()
    page.get_by_role("link", name=t("Process design")).click()

    # 1. The notification period, from 5 to 7 days: a number in a form, no script in sight.
    page.get_by_role("link", name=t("Statutory and local timescales")).click()
    period = notification_period(db)
    amount = page.locator(f'[id="{period}.amount"]')
    assert amount.input_value() == "5"
    amount.click()
    page.keyboard.press("Control+a")
    page.keyboard.type("7")
    page.get_by_role("button", name=t("Save the timescales")).click()
    page.get_by_role("alert").get_by_text(t("Saved on the server as your edit of the timescales.")).wait_for()
    page.screenshot(path=str(ARTIFACTS / f"journey-{lang}-1-timescales.png"), full_page=True)

    # 2. A new row in a decision table, typed from the keyboard.
    open_file(page, ROUTE)
    page.locator("tfoot td.add-rule.input-cell").first.click()
    for text in ("False", "True", "False", '"adult_practice_review"'):
        page.keyboard.press("Control+a")
        page.keyboard.type(text, delay=15)
        page.keyboard.press("Tab")
    page.keyboard.type("Adult at risk, no forum", delay=10)
    wait_saved(page, t)
    page.screenshot(path=str(ARTIFACTS / f"journey-{lang}-2-table.png"), full_page=True)

    # 3. A field added to a form with the field list, every part typed.
    open_file(page, "notify_welsh_government")
    page.get_by_role("button", name=t("Add a field")).click()
    page.keyboard.press("Control+a")
    page.keyboard.type("wg_contact")
    page.keyboard.press("Tab")  # the field takes its name; on to its type
    page.keyboard.press("Tab")
    page.keyboard.type("Welsh Government contact")
    page.keyboard.press("Tab")
    page.keyboard.type("Cyswllt Llywodraeth Cymru")
    page.keyboard.press("Tab")
    page.keyboard.type("Who at Welsh Government acknowledged the notification.")
    page.keyboard.press("Tab")
    page.keyboard.type("Pwy yn Llywodraeth Cymru a gydnabu'r hysbysiad.")
    page.keyboard.press("Tab")
    title = "Cyswllt Llywodraeth Cymru" if lang == "cy" else "Welsh Government contact"
    page.locator("#preview", has_text=title).wait_for()
    wait_saved(page, t)
    page.screenshot(path=str(ARTIFACTS / f"journey-{lang}-3-form.png"), full_page=True)

    # 4. The tab is closed; a new one comes back to the same edits, from the server.
    context = page.context
    page.close(run_before_unload=True)
    page = context.new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/modeler/")
    pending = page.locator("#pending")
    for path in (diagram_set.TIMESCALES_FILE, ROUTE, FORM):
        pending.get_by_role("link", name=path).wait_for()
    open_file(page, ROUTE)
    assert page.locator('td[data-coords="4:3"]').inner_text().strip() == '"adult_practice_review"'
    open_file(page, "notify_welsh_government")
    page.locator('li[data-key="wg_contact"]', has_text=title).wait_for()

    # 5. Deployed with a note saying why.
    page.get_by_text(t("Deploy my edits"), exact=True).click()
    page.get_by_role("button", name=t("Check and deploy")).click()
    page.get_by_text(t("Enter a note saying why you are deploying")).wait_for()  # no note, no deploy
    page.get_by_label(t("Why are you making these changes?")).fill("Board agreed 7 days to notify; new route row")
    page.get_by_role("button", name=t("Check and deploy")).click()
    version = before + 1
    page.get_by_text(t("Deployed as version %(version)s.", version=version)).wait_for(timeout=60_000)
    assert drafts.listing(db) == []
    deployed = modeling.version_files(db, version)
    durations = json.loads(deployed[diagram_set.TIMESCALES_FILE])["child_practice_review"]
    assert durations[period.split(".")[1]]["duration"] == "P7D"
    # A review started now counts 7 days to notify; the running one keeps the 5 it started with.
    assert Review.start(db.url, "2026-01-06").data()["process_timescales"][period.split(".")[1]] == "P7D"
    assert running.data()["process_timescales"][period.split(".")[1]] == "P5D"
    assert "wg_contact" in json.loads(deployed[FORM])["properties"]
    assert "Adult at risk, no forum" in deployed[ROUTE]
    before_deploy = json.loads(modeling.version_files(db, before)[diagram_set.TIMESCALES_FILE])["child_practice_review"]
    assert {k: v for k, v in durations.items() if k != period.split(".")[1]} == {
        k: v for k, v in before_deploy.items() if k != period.split(".")[1]
    }  # every other timescale as it was

    # 6. The diff marks the changed line, fits the window, and carries the note.
    page.goto(f"/modeler/versions/{version}")
    assert page.locator("#deploy-note").inner_text() == "Board agreed 7 days to notify; new route row"
    timescales = page.locator("section.file-diff", has_text=diagram_set.TIMESCALES_FILE)
    assert timescales.locator("tr.line--removed del").first.inner_text() == "5"
    assert timescales.locator("tr.line--added ins").first.inner_text() == "7"
    assert period in timescales.inner_text()
    assert "wg_contact" in page.locator("section.file-diff", has_text=FORM).inner_text()
    assert fits(page), "the diff page scrolls sideways at 1366 px"
    page.screenshot(path=str(ARTIFACTS / f"journey-{lang}-6-diff.png"), full_page=True)
    page.goto("/modeler/versions")
    assert "Board agreed 7 days to notify" in page.locator("table.versions").inner_text()

    # 7. One running review moves to the new version.
    page.goto(f"/modeler/versions/{version}/migrate")
    page.get_by_label(t("Move review %(id)s", id=running.id)).check()
    page.get_by_label(t("Reason (recorded in each review's trace)")).fill("New route row and field")
    page.get_by_role("button", name=t("Migrate the chosen reviews")).click()
    page.get_by_text(t("Review %(id)s moved to version %(version)s.", id=running.id, version=version)).wait_for()
    page.screenshot(path=str(ARTIFACTS / f"journey-{lang}-7-migrated.png"), full_page=True)
    assert running.view().version_id == version
    [moved] = [e for e in running.events() if e.kind == "migrated"]
    assert (moved.actor, moved.detail["reason"]) == ("olwen", "New route row and field")


@pytest.mark.parametrize("width", [375, 1366])
def test_the_editors_pages_fit_narrow_and_wide_windows_in_welsh(
    page: Any, with_timescales: Database, width: int
) -> None:
    t = Words("cy")
    add_user(with_timescales, "olwen", "process_owner")
    sign_in(page, "olwen")
    page.get_by_role("button", name="Cymraeg").click()
    page.set_viewport_size({"width": width, "height": 800})
    version = services.list_versions(with_timescales)[0]["id"]
    for url in (
        "/modeler/",
        "/modeler/timescales",
        "/modeler/versions",
        f"/modeler/versions/{version}",
        "/modeler/drafts",
    ):
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == "cy"
        assert fits(page), f"{url} scrolls sideways at {width} px"
    page.goto("/modeler/timescales")
    assert page.get_by_role("heading", name=t("Timescales")).is_visible()
    page.screenshot(path=str(ARTIFACTS / f"timescales-cy-{width}.png"), full_page=True)
    assert re.search(t("Statutory"), page.content())


def test_the_diagram_and_table_editors_speak_welsh(page: Any, live_db: Database) -> None:
    t = Words("cy")
    add_user(live_db, "olwen", "process_owner")
    sign_in(page, "olwen")
    page.get_by_role("button", name="Cymraeg").click()
    page.goto("/modeler/diagram?file=processes/child_practice_review.bpmn")
    page.locator("#editor[data-ready=true]").wait_for(timeout=60_000)
    assert page.locator("#zoom-level").inner_text() == t("Zoom: %(percent)s%%", percent=100)
    assert page.locator(".djs-palette").get_by_role("button", name=t("Create task"), exact=True).count() == 1
    page.locator('.djs-element[data-element-id="record_referral"]').click()
    assert page.get_by_label(t("Welsh name")).is_visible()
    assert page.get_by_label(t("Form (JSON Schema file)")).input_value() == "record_referral.schema.json"
    page.screenshot(path=str(ARTIFACTS / "modeler-diagram-cy.png"))
    page.goto("/modeler/table?file=processes/cpr_review_type.dmn")
    page.locator("#editor[data-ready=true]").wait_for(timeout=60_000)
    header = page.locator(".tjs-table thead").inner_text()
    assert t("Then") in header and t("Annotations") in header
    assert page.locator(".hit-policy").inner_text().startswith(t("Hit policy:"))
    assert t("Unique") in page.locator(".hit-policy").inner_text()
