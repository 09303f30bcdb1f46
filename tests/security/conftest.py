"""Security tests reuse the web fixtures: the app on a fresh copy of a database with the sample
deployed and one user per role (see tests/web/conftest.py)."""

from __future__ import annotations

from tests.web.conftest import app, auth, call, client, db_template, expect, template_db, web_db  # noqa: F401
