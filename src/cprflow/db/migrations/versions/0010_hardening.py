"""Hardening: text extraction state of documents, provider identities bound to accounts,
server-side page sessions and per-address sign-in throttling.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from cprflow.db.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("text_status", sa.String(20), nullable=False, server_default="extracted"))
    op.execute("UPDATE documents SET text_status = 'none' WHERE text IS NULL")
    op.create_table(
        "external_identities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("provider_roles", sa.Boolean, nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.Column("linked_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("issuer", "subject", name="uq_external_identities_issuer_subject"),
    )
    op.create_table(
        "page_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "sign_in_addresses",
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_started_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("sign_in_addresses")
    op.drop_table("page_sessions")
    op.drop_table("external_identities")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("text_status")
