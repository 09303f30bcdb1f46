"""The web layer: ``create_app`` with no import-time side effects."""

from __future__ import annotations

from html import escape
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text

from cprflow import services
from cprflow.config import Settings
from cprflow.repository import Database


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    database = db or Database(settings.database_url)
    app.extensions["cprflow.db"] = database

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> Any:
        try:
            with database.transaction(write=False) as session:
                session.execute(text("SELECT 1"))
            deployed = bool(services.list_versions(database))
        except Exception:  # noqa: BLE001 - any failure means not ready; details go to the log
            app.logger.exception("readiness check failed")
            return jsonify(status="unavailable", reason="database not reachable"), 503
        if not deployed:
            return jsonify(status="unavailable", reason="no diagrams deployed"), 503
        return jsonify(status="ready")

    @app.get("/")
    def index() -> Any:
        # No case data here: sign-in and staff pages come with the web layer proper.
        versions = services.list_versions(database)
        items = "".join(
            f"<li><code>{escape(p['id'])}</code>: {escape(p['name'])}</li>" for p in (versions[0]["processes"] if versions else [])
        )
        current = f"version {versions[0]['id']}" if versions else "nothing deployed"
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>cprflow</title></head>"
            f"<body><h1>cprflow</h1><p>Deployed diagrams: {current}.</p><ul>{items}</ul></body></html>"
        )

    return app
