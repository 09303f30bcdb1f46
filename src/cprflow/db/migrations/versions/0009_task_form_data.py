"""The task index keeps what a task's form needs (its data when it became ready), so reading a task
never loads the instance's workflow.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from cprflow.db.models import Json

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written before this stay NULL: reading such a task loads the workflow once, as before.
    with op.batch_alter_table("user_tasks") as batch:
        batch.add_column(sa.Column("data", Json, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_tasks") as batch:
        batch.drop_column("data")
