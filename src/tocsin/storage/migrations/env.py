"""Alembic environment: runs on a synchronous connection that `tocsin.storage.migrate` passes in."""

from __future__ import annotations

from alembic import context

from tocsin.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    # One transaction per revision, begun here: a revision may step out of it
    # (`autocommit_block`) to build an index concurrently on PostgreSQL.
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
