"""Schema migrations: Alembic on a synchronous driver (stdlib sqlite3 or psycopg)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def sync_url(database_url: str) -> str:
    """The SQLAlchemy URL of a synchronous driver for `database_url`."""
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url.removeprefix("postgres://")
    if database_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    return database_url


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at `database_url` to `revision` (default: the newest)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
    try:
        # Not `begin()`: Alembic runs each revision in a transaction of its own
        # (see `migrations/env.py`), which `autocommit_block` needs.
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
