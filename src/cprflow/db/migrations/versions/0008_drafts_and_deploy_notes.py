"""Process owners' undeployed edits kept on the server, and a note with each deploy.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from cprflow.db.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_versions") as batch:
        batch.add_column(sa.Column("note", sa.Text, nullable=True))
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("base_version_id", sa.Integer, sa.ForeignKey("process_versions.id"), nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("owner", "path", name="uq_drafts_owner_path"),
    )


def downgrade() -> None:
    op.drop_table("drafts")
    with op.batch_alter_table("process_versions") as batch:
        batch.drop_column("note")
