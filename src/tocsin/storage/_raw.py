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


async def pg(raw: Any, kind: str, sql: str, values: Mapping[str, Any] | None) -> Any:
    text, names = numbered(sql)
    args = [values[n] for n in names] if values else []
    if kind == "all":
        return await raw.fetch(text, *args)
    if kind == "one":
        return await raw.fetchrow(text, *args)
    return await raw.fetchval(text, *args)


async def sqlite(raw: Any, kind: str, sql: str, values: Mapping[str, Any] | None) -> Any:
    async with raw.execute(sql, dict(values or {})) as cursor:
        cursor.row_factory = sqlite3.Row
        if kind == "all":
            rows: Sequence[Any] = await cursor.fetchall()
            return rows
        if kind == "one":
            return await cursor.fetchone()
        if kind == "val":
            row = await cursor.fetchone()
            return None if row is None else row[0]
        return cursor.lastrowid
