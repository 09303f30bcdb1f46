"""A PostgreSQL schema of its own for one benchmark or load run, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text

#: The local PostgreSQL the README documents; used when it answers and no URL is given.
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> tuple[str | None, str]:
    """Where PostgreSQL figures are measured, and a line saying so: CPRFLOW_BENCH_POSTGRES_URL, else
    the tests' URL, else the documented local default if it answers."""
    given = os.environ.get("CPRFLOW_BENCH_POSTGRES_URL") or os.environ.get("CPRFLOW_TEST_POSTGRES_URL")
    url = given or DEFAULT_URL
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as err:  # not installed, not running, refused, no such database: all say the same
        reason = type(err).__name__
        return None, f"PostgreSQL: nothing answers at {shown} ({reason}); its figures are skipped"
    return url, f"PostgreSQL: measuring at {shown}" + ("" if given else " (the documented local default)")


@contextmanager
def own_schema(base_url: str) -> Iterator[str]:
    """``base_url`` with every connection's search_path set to a new, empty schema."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
