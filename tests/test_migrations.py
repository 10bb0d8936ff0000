"""Migrations run on a fresh SQLite file and a fresh PostgreSQL database, and match `schema.py`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tocsin.storage import migrate
from tocsin.storage.schema import metadata


def inspect(url: str) -> tuple[set[str], str | None, list[object]]:
    """Tables, the Alembic revision, and differences from `tocsin.storage.schema.metadata`."""
    engine = sa.create_engine(migrate.sync_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            context = MigrationContext.configure(conn)
            diff = compare_metadata(context, metadata)
            return tables, context.get_current_revision(), diff
    finally:
        engine.dispose()


def test_upgrade_builds_the_schema(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    tables, revision, diff = inspect(fresh_url)
    assert set(metadata.tables) <= tables
    assert "alembic_version" in tables
    assert revision is not None
    assert diff == []


def test_upgrade_twice_is_a_no_op(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    first = inspect(fresh_url)
    migrate.upgrade(fresh_url)
    assert inspect(fresh_url) == first


def test_sync_url() -> None:
    assert migrate.sync_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert migrate.sync_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert migrate.sync_url("sqlite:///x.db") == "sqlite:///x.db"
