"""The web layer: ``create_app`` with no import-time side effects."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from flask import Flask, Response, jsonify, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from cprflow import bootstrap, services
from cprflow.config import Settings
from cprflow.db.database import Database
from cprflow.services import timers
from cprflow.web import api, errors, labels, oidc, openapi, pages
from cprflow.web.auth import current_user
from cprflow.web.pages import account, audit, findings, modeler, modeler_data, notifications, reviews, tasks

PAGE_AREAS = (account, tasks, reviews, audit, findings, notifications, modeler, modeler_data)

#: Room for the multipart envelope and the other fields of an upload request.
ENVELOPE_BYTES = 1024 * 1024
#: The upload endpoints, and how many files one request to each may carry (a task form has at most
#: a few upload fields).
UPLOAD_ENDPOINTS = {"api.documents.post_upload_document": 1, "tasks.task": 4}


class _SessionInterface(SecureCookieSessionInterface):
    """The signed session cookie, never set by a HEAD request: a HEAD changes nothing, the session included."""

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.method == "HEAD":
            return
        super().save_session(app, session, response)


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Flask:
    settings = settings or Settings.from_env()
    bootstrap.install()
    if not settings.secret_key:
        raise RuntimeError("set CPRFLOW_SECRET_KEY (a long random string) before starting the web app")
    app = Flask(__name__)
    app.session_interface = _SessionInterface()
    app.config.update(
        SECRET_KEY=settings.secret_key,
        CPRFLOW=settings,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        JSON_SORT_KEYS=False,
    )
    if settings.trusted_proxies > 0:  # the client's address (for sign-in throttling) is the proxy's to tell
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    database = db or Database(settings.database_url)
    app.extensions["cprflow.db"] = database

    errors.install(app)
    pages.install(app)
    app.register_blueprint(api.bp)
    for area in PAGE_AREAS:
        app.register_blueprint(area.bp)
    oidc.install(app, settings)
    _limit_uploads(app, settings)  # before CSRF: upload size limits must be set before the form is read
    # Pages carry CSRF tokens; the API takes bearer tokens only, never the cookie, so needs none.
    csrf = CSRFProtect(app)
    for area in api.AREAS:
        csrf.exempt(area.bp)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/London")  # times on pages as staff in Wales read them
    Babel(app, locale_selector=lambda: session.get("lang", "en"))
    app.jinja_env.globals["label"] = labels.label

    @app.context_processor
    def page_context() -> dict[str, Any]:
        try:
            user = current_user(pages=True) if not request.path.startswith("/api/") else None
        except Exception:
            user = None
        return {"user": user, "lang": session.get("lang", "en"), "oidc": "cprflow.oidc" in app.extensions}

    @app.get("/api/openapi.json")
    def openapi_document() -> Any:
        return jsonify(openapi.build(prefix=api.bp.url_prefix or ""))

    @app.get("/api/docs")
    def api_docs() -> Any:
        return _docs_page(openapi.build(prefix=api.bp.url_prefix or ""))

    @app.get("/favicon.ico")
    def favicon() -> Any:
        """Browsers ask for /favicon.ico whatever the page links: send them to the service's icon."""
        return redirect(url_for("static", filename="favicon.svg"), code=301)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> Any:
        try:
            with database.transaction(write=False) as session:
                session.execute(text("SELECT 1"))
            deployed = bool(services.list_versions(database))
            timers_dead = timers.workers_dead(database, now=datetime.now(UTC))
        except Exception as err:
            app.logger.error("readiness check failed (%s)", type(err).__name__)  # no message: it may quote data
            retry = {"Retry-After": str(errors.RETRY_AFTER_SECONDS)}
            return jsonify(status="unavailable", reason="database not reachable"), 503, retry
        if not deployed:
            return jsonify(status="unavailable", reason="no diagrams deployed"), 503
        if timers_dead:
            app.logger.error("readiness check failed: no timer worker has shown a sign of life")
            return jsonify(status="unavailable", reason="timer worker not running"), 503
        return jsonify(status="ready")

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
        )
        return response

    return app


def _limit_uploads(app: Flask, settings: Settings) -> None:
    """Let upload requests (and only those) be as large as the document limit allows."""

    @app.before_request
    def upload_limit() -> None:
        files = UPLOAD_ENDPOINTS.get(request.endpoint or "")
        if files and request.method == "POST":
            request.max_content_length = max(
                settings.max_request_bytes, files * settings.max_document_bytes + ENVELOPE_BYTES
            )


def _docs_page(document: dict[str, Any]) -> str:
    """A plain, script-free reference page built from the OpenAPI document."""
    rows = []
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            statuses = ", ".join(op.get("responses", {}))
            rows.append(
                f"<tr><td><code>{escape(method.upper())}</code></td><td><code>{escape(path)}</code></td>"
                f"<td>{escape(op.get('summary', ''))}</td><td>{escape(statuses)}</td></tr>"
            )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>cprflow API</title></head><body>"
        f"<h1>cprflow API</h1><p>{escape(document['info'].get('description', ''))}</p>"
        "<p>Machine-readable: <a href='/api/openapi.json'>/api/openapi.json</a>.</p>"
        "<table><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Statuses</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></body></html>"
    )
