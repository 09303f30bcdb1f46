"""A PostgreSQL schema of its own for one benchmark or load run, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


def postgres_url() -> str | None:
    """Where PostgreSQL figures are measured: CPRFLOW_BENCH_POSTGRES_URL, else the tests' URL."""
    return os.environ.get("CPRFLOW_BENCH_POSTGRES_URL") or os.environ.get("CPRFLOW_TEST_POSTGRES_URL") or None


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
