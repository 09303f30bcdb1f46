"""Case documents: content-addressed blobs and versioned document slots per instance.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from cprflow.db.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("instance_id", sa.Integer, sa.ForeignKey("instances.id", ondelete="CASCADE"), nullable=False),
        sa.Column("slot", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("blobs.sha256"), nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("instance_id", "slot", "version", name="uq_documents_slot_version"),
    )
    op.create_index("ix_documents_instance_id", "documents", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_documents_instance_id", "documents")
    op.drop_table("documents")
    op.drop_table("blobs")
