"""Staff pages, one blueprint per area: sign in, tasks, reviews, audit, findings, notifications and
the process owners' modeler. Server-rendered; JavaScript only where a pattern needs it."""

from __future__ import annotations

from typing import Any

from flask import Flask, redirect, request, url_for

from cprflow.web.common import LoginRequired


def install(app: Flask) -> None:
    """What every page shares: a visitor who is not signed in is sent to sign in, then back."""

    @app.errorhandler(LoginRequired)
    def to_login(_: LoginRequired) -> Any:
        return redirect(url_for("account.login", next=request.full_path))
