"""Alembic environment: run with the connection cprflow hands over (see repository.upgrade)."""

from alembic import context

from cprflow.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations through 'cprflow init', which supplies the database connection")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
