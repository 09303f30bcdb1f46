"""Timer workers' heartbeats (so readiness can tell a dead worker), and which version is current.

Revision ID: 0015
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from cprflow.db.models import UTCDateTime

revision = "0015"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_beats",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("beat_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("process_versions") as batch:
        batch.add_column(sa.Column("current_rank", sa.Integer, nullable=True))
    op.execute("UPDATE process_versions SET current_rank = id")


def downgrade() -> None:
    with op.batch_alter_table("process_versions") as batch:
        batch.drop_column("current_rank")
    op.drop_table("worker_beats")
