"""Migration 0002 goes up and down on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tests.conftest import PgDatabases
from tocsin.storage import migrate

TABLES = {"processed_events", "preferences", "deliveries", "delivery_attempts"}


def _downgrade(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    engine = sa.create_engine(migrate.sync_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(migrate.sync_url(url), poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _round_trip(url: str) -> None:
    migrate.upgrade(url)
    assert _tables(url) >= TABLES
    _downgrade(url, "0001")
    assert not TABLES & _tables(url)
    assert "notifications" in _tables(url)
    migrate.upgrade(url)
    assert _tables(url) >= TABLES


def test_0002_up_and_down_on_sqlite(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'm.db'}")


def test_0002_up_and_down_on_postgres(pg_databases: PgDatabases) -> None:
    _round_trip(pg_databases.new())
