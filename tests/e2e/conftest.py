"""Browser tests: the real app on a loopback port, driven by Playwright in Debian's Chromium.

Chromium comes from Debian (`apt-get install chromium`; .ci/run installs it), never from a
Playwright download. Without it these tests skip, saying so.
"""

from __future__ import annotations

import calendar
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from cprflow import services
from cprflow.config import Settings
from cprflow.db.database import Database
from cprflow.diagrams import diagram_set
from cprflow.services import users
from cprflow.web import create_app
from tests.conftest import ROOT

CHROMIUM = os.environ.get("CPRFLOW_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "correct horse battery"


def sign_in(page: Any, username: str) -> None:
    """Sign in through the sign-in page, as a person types it, and wait for where they land."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Where people land depends on what waits for them (their tasks, else the overview, the process
    # design or the reviews).
    page.wait_for_url(lambda url: "/login" not in url)
    page.get_by_role("heading", level=1).wait_for()


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, the last day of the month when the day does not exist."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


@pytest.fixture
def live_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'e2e.db'}")
    db.upgrade()
    now = datetime.now(UTC)
    services.deploy(db, diagram_set.read_directories(ROOT / "processes", ROOT / "forms"), actor="owner", now=now)
    yield db
    db.dispose()


def add_user(db: Database, username: str, *roles: str, agency: str | None = None) -> None:
    users.add_user(
        db,
        username,
        password=PASSWORD,
        roles=list(roles),
        agency=agency,
        now=datetime.now(UTC),
        display_name=username.capitalize(),
    )


@pytest.fixture
def live_server(live_db: Database) -> Iterator[str]:
    app = create_app(Settings(database_url=live_db.url, secret_key="e2e-secret-" + "x" * 24), db=live_db)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def page(live_server: str) -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=live_server)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
