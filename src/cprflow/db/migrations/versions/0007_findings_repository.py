"""Findings repository: filed reviews, their themes and learning items, with full-text search.

The search index is backend-specific and so kept outside the models: an FTS5 table kept in step by
triggers on SQLite, a generated tsvector column with a GIN index on PostgreSQL
(``cprflow.features.findings.SEARCH_OBJECTS`` names them).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from cprflow.db.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE learning_items_fts USING fts5("
    "text, content='learning_items', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER learning_items_ai AFTER INSERT ON learning_items BEGIN "
    "INSERT INTO learning_items_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER learning_items_ad AFTER DELETE ON learning_items BEGIN "
    "INSERT INTO learning_items_fts(learning_items_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER learning_items_au AFTER UPDATE ON learning_items BEGIN "
    "INSERT INTO learning_items_fts(learning_items_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO learning_items_fts(rowid, text) VALUES (new.id, new.text); END",
]
_POSTGRES_INDEX = [
    "ALTER TABLE learning_items ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED",
    "CREATE INDEX ix_learning_items_search ON learning_items USING gin (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "review_filings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "instance_id", sa.Integer, sa.ForeignKey("instances.id", ondelete="CASCADE"), nullable=False, unique=True
        ),
        sa.Column("board", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("review_type", sa.String(60), nullable=False),
        sa.Column("filed_at", UTCDateTime(), nullable=False),
        sa.Column("filed_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_review_filings_board", "review_filings", ["board"])
    op.create_index("ix_review_filings_year", "review_filings", ["year"])
    op.create_table(
        "filing_themes",
        sa.Column("filing_id", sa.Integer, sa.ForeignKey("review_filings.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("theme", sa.String(100), primary_key=True),
    )
    op.create_index("ix_filing_themes_theme", "filing_themes", ["theme"])
    op.create_table(
        "learning_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filing_id", sa.Integer, sa.ForeignKey("review_filings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_learning_items_filing_id", "learning_items", ["filing_id"])
    statements = _POSTGRES_INDEX if op.get_bind().dialect.name == "postgresql" else _SQLITE_INDEX
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_learning_items_search")
    else:
        for name in ("learning_items_au", "learning_items_ad", "learning_items_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS learning_items_fts")
    op.drop_table("learning_items")
    op.drop_table("filing_themes")
    op.drop_table("review_filings")
