"""Versions, instances, the user-task index and the event log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from cprflow.db.models import Json, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "process_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("deployed_at", UTCDateTime(), nullable=False),
        sa.Column("deployed_by", sa.String(200), nullable=False),
        sa.Column("files", Json, nullable=False),
        sa.Column("processes", Json, nullable=False),
        sa.Column("specs", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "instances",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("process_id", sa.String(200), nullable=False, index=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("process_versions.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=False),
        sa.Column("serializer_version", sa.String(20), nullable=False),
        sa.Column("next_timer_at", UTCDateTime(), nullable=True),
        sa.Column("lock_version", sa.Integer, nullable=False),
        sa.Column("waiting_for", Json, nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_instances_due", "instances", ["next_timer_at"])
    op.create_table(
        "user_tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "instance_id", sa.Integer, sa.ForeignKey("instances.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("process_id", sa.String(200), nullable=False),
        sa.Column("bpmn_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("lane", sa.String(200), nullable=True, index=True),
        sa.Column("form", sa.String(300), nullable=True),
        sa.Column("ui_form", sa.String(300), nullable=True),
        sa.Column("instructions", sa.Text, nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("assignee", sa.String(200), nullable=True, index=True),
        sa.Column("ready_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("instance_id", sa.Integer, nullable=True, index=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=True, index=True),
        sa.Column("detail", Json, nullable=False),
    )


def downgrade() -> None:
    for table in ("events", "user_tasks", "instances", "process_versions"):
        op.drop_table(table)
