"""Migrations run on a fresh SQLite file and a fresh PostgreSQL database, and match `schema.py`."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from tests.conftest import _admin, _pg
from tocsin.storage import migrate
from tocsin.storage.schema import metadata


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


# The newest revision: an upgrade from an older one ends there.
HEAD = _head()


@pytest.fixture
def pg_url_fresh() -> Iterator[str]:
    """An empty PostgreSQL database (not migrated)."""
    name = f"tocsin_fresh_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _pg(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


def test_upgrade_from_0007_with_rows_builds_the_retention_indexes(fresh_url: str) -> None:
    """0008 on a database in use: the indexes on its existing tables come out valid."""
    migrate.upgrade(fresh_url, "0007")
    engine = sa.create_engine(migrate.sync_url(fresh_url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for i in range(100):
                conn.execute(
                    sa.text(
                        "INSERT INTO notifications (id, vendor_id, type, title, body, data, "
                        "priority, created_at) VALUES (:id, 'v', 't', 'x', '', '{}', 'normal', :i)"
                    ),
                    {"id": f"n{i:04d}", "i": i},
                )
    finally:
        engine.dispose()
    migrate.upgrade(fresh_url)
    _, revision, diff = inspect(fresh_url)
    assert revision == HEAD
    assert diff == []
    engine = sa.create_engine(migrate.sync_url(fresh_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("notifications")}
            assert "ix_notifications_created" in indexes
            assert conn.execute(sa.text("SELECT count(*) FROM notifications")).scalar_one() == 100
            if conn.dialect.name == "postgresql":
                invalid = conn.execute(
                    sa.text("SELECT count(*) FROM pg_index WHERE NOT indisvalid")
                ).scalar_one()
                assert invalid == 0
    finally:
        engine.dispose()


def test_0008_runs_again_after_a_concurrent_index_build_failed(pg_url_fresh: str) -> None:
    """A build that stopped half-way left the new table and an invalid index: run it again."""
    migrate.upgrade(pg_url_fresh, "0007")
    engine = sa.create_engine(migrate.sync_url(pg_url_fresh), poolclass=sa.pool.NullPool)
    try:
        metadata.tables["bulk_jobs"].create(engine)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for i in range(2):  # the same created_at twice: a unique build fails
                conn.execute(
                    sa.text(
                        "INSERT INTO notifications (id, vendor_id, type, title, body, data, "
                        "priority, created_at) VALUES (:id, 'v', 't', 'x', '', '{}', 'normal', 1)"
                    ),
                    {"id": f"n{i}"},
                )
            with contextlib.suppress(sa.exc.IntegrityError):
                conn.execute(
                    sa.text(
                        "CREATE UNIQUE INDEX CONCURRENTLY ix_notifications_created "
                        "ON notifications (created_at)"
                    )
                )
            invalid = "SELECT count(*) FROM pg_index WHERE NOT indisvalid"
            assert conn.execute(sa.text(invalid)).scalar_one() == 1
        migrate.upgrade(pg_url_fresh)
        _, revision, diff = inspect(pg_url_fresh)
        assert revision == HEAD
        assert diff == []
        with engine.connect() as conn:
            assert conn.execute(sa.text(invalid)).scalar_one() == 0
    finally:
        engine.dispose()


def test_sync_url() -> None:
    assert migrate.sync_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert migrate.sync_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert migrate.sync_url("sqlite:///x.db") == "sqlite:///x.db"
