"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cprflow.db.models import Base
from cprflow.features.findings import SEARCH_OBJECTS


def test_migrated_schema_matches_the_models(any_db):
    with any_db.engine.connect() as connection:
        # The findings repository's full-text index is backend-specific and kept outside the models.
        context = MigrationContext.configure(
            connection, opts={"include_name": lambda name, *_: name not in SEARCH_OBJECTS}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
