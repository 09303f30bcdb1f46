"""Tamper-evident event log: each event's place in its chain and its hash; the head of each chain.

Events written before this migration are chained in the order they were written (by id).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from cprflow.db import audit

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("chain", sa.String(40), nullable=True))
        batch.add_column(sa.Column("seq", sa.Integer, nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    op.create_table(
        "event_chain_heads",
        sa.Column("chain", sa.String(40), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    audit.backfill(op.get_bind())
    op.create_index("uq_events_chain_seq", "events", ["chain", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_events_chain_seq", table_name="events")
    op.drop_table("event_chain_heads")
    with op.batch_alter_table("events") as batch:
        for column in ("hash", "prev_hash", "seq", "chain"):
            batch.drop_column(column)
