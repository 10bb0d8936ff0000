"""The driver's own connection for the hot path's SQL text, past `databases`.

`databases` turns even SQL text into a SQLAlchemy `TextClause` and compiles it
on every call (a fifth of the CPU of a create, by py-spy). SQLite takes
`:name` parameters itself; asyncpg wants `$n`, converted once per statement.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

# `:name`, but not the second colon of a `::type` cast.
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=256)
def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` with `:name` parameters as asyncpg's `$n`, and the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAM.sub(number, sql), tuple(names)


def among(column: str, name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """`column IN (:name_0, :name_1, …)` for `values` (never empty), and its parameters."""
    params = {f"{name}_{i}": v for i, v in enumerate(values)}
    return f"{column} IN ({', '.join(':' + k for k in params)})", params


async def pg(raw: Any, kind: str, sql: str, values: Mapping[str, Any] | None) -> Any:
    text, names = numbered(sql)
    args = [values[n] for n in names] if values else []
    if kind == "all":
        return await raw.fetch(text, *args)
    if kind == "one":
        return await raw.fetchrow(text, *args)
    return await raw.fetchval(text, *args)


def _sqlite_run(conn: sqlite3.Connection, kind: str, sql: str, values: Mapping[str, Any]) -> Any:
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    try:
        cursor.execute(sql, values)
        if kind == "all":
            return cursor.fetchall()
        if kind == "one":
            return cursor.fetchone()
        if kind == "val":
            row = cursor.fetchone()
            return None if row is None else row[0]
        return cursor.lastrowid
    finally:
        cursor.close()


async def sqlite(
    raw: Any, kind: str, sql: str, values: Mapping[str, Any] | None, *, offload: bool = False
) -> Any:
    """Run `sql` on an aiosqlite connection's own `sqlite3` connection.

    Inside a transaction (which `BEGIN IMMEDIATE` opened: the write lock is
    held, nothing to wait for) and for reads (WAL: readers never wait), a
    statement of the hot path is page-cache work of microseconds and runs right
    here on the loop: a hop to the connection's thread and back cost more
    (about 30 hops per create, most of a create's CPU). Anything else, and
    what the caller says is long (`offload`: purges, reports), runs in the
    connection's thread in one hop, where waiting for a lock or a sync does
    not stop the loop.
    """
    conn: sqlite3.Connection = raw._conn
    params = dict(values or {})
    if not offload and (conn.in_transaction or _is_read(sql)):
        return _sqlite_run(conn, kind, sql, params)
    return await _in_thread(raw, kind, sql, params)


async def offloaded(raw: Any, sql: str) -> None:
    """Run `sql` (e.g. `COMMIT`) in the aiosqlite connection's thread."""
    await _in_thread(raw, "execute", sql, {})


async def _in_thread(raw: Any, kind: str, sql: str, params: Mapping[str, Any]) -> Any:
    return await raw._execute(_sqlite_run, raw._conn, kind, sql, params)


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"
