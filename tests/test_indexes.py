"""The list and count queries use the indexes (PostgreSQL's planner, on a large table).

Speed itself is measured in bench/, not here: this checks the plans that keep
a vendor's list and unread count independent of the table's size.
"""

from __future__ import annotations

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tests.conftest import PgDatabases
from tocsin.model import ListFilter
from tocsin.storage.notifications import conditions
from tocsin.storage.schema import notifications

N = notifications.c
ROWS = 200_000


def _explain(conn: psycopg.Connection, query: sa.Select) -> str:  # type: ignore[type-arg]
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    return "\n".join(row[0] for row in conn.execute("EXPLAIN " + sql))


def test_list_and_unread_count_use_indexes(pg_databases: PgDatabases) -> None:
    url = pg_databases.new()
    with psycopg.connect(url, autocommit=True) as conn:
        # 2,000 vendors x 100 notifications, a third of them read.
        conn.execute(
            f"""
            INSERT INTO notifications (id, vendor_id, type, title, body, data, priority,
                                       created_at, read_at)
            SELECT lpad(g::text, 26, '0'), 'v' || (g % 2000), 'order_created', 'title', '',
                   '{{}}', 'normal', 1700000000000 + g,
                   CASE WHEN g % 3 = 0 THEN 1700000000000 + g END
            FROM generate_series(1, {ROWS}) AS g
            """
        )
        conn.execute("ANALYZE notifications")
        page = (
            sa.select(notifications)
            .where(*conditions("v7", ListFilter()))
            .order_by(N.id.desc())
            .limit(21)
        )
        unread_page = (
            sa.select(notifications)
            .where(*conditions("v7", ListFilter(unread=True)))
            .order_by(N.id.desc())
            .limit(21)
        )
        count = (
            sa.select(N.type, sa.func.count())
            .where(N.vendor_id == "v7", N.read_at.is_(None), N.archived_at.is_(None))
            .group_by(N.type)
        )
        plans = {
            name: _explain(conn, q)
            for name, q in {"page": page, "unread": unread_page, "count": count}.items()
        }
    for name, plan in plans.items():
        assert "Seq Scan on notifications" not in plan, f"{name}:\n{plan}"
        assert "Index" in plan, f"{name}:\n{plan}"
