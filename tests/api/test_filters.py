"""Every list filter, alone and combined, and the search text taken literally."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import assert_problem, create, ids

Fixture = dict[str, dict[str, Any]]


@pytest.fixture
async def five(publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str) -> Fixture:
    """Five notifications of mixed type, priority, read and archived state."""
    spec = {
        "n1": ("order_created", "high", False, False),
        "n2": ("payment_received", "normal", True, False),
        "n3": ("order_status_changed", "urgent", False, True),
        "n4": ("order_created", "low", True, True),
        "n5": ("payment_received", "high", False, False),
    }
    made: Fixture = {}
    for name, (type_, priority, read, archived) in spec.items():
        n = await create(publisher, vendor, type=type_, priority=priority, title=name)
        change = {"read": read, "archived": archived}
        r = await as_vendor.patch(f"/api/v1/notifications/{n['id']}", json=change)
        assert r.status_code == 200
        made[name] = r.json()
    return made


def names(made: Fixture, *which: str) -> list[str]:
    """The ids of `which`, newest first (as the list answers)."""
    return [made[w]["id"] for w in sorted(which, reverse=True)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ("n1", "n2", "n5")),
        ({"archived": "false"}, ("n1", "n2", "n5")),
        ({"archived": "true"}, ("n3", "n4")),
        ({"unread": "true"}, ("n1", "n5")),
        ({"unread": "false"}, ("n2",)),
        ({"unread": "1"}, ("n1", "n5")),
        ({"unread": "true", "archived": "true"}, ("n3",)),
        ({"unread": "false", "archived": "true"}, ("n4",)),
        ({"type": "order_created"}, ("n1",)),
        ({"type": ["order_created", "payment_received"]}, ("n1", "n2", "n5")),
        ({"type": "order_created,payment_received"}, ("n1", "n2", "n5")),
        ({"type": "nothing_of_this_type"}, ()),
        ({"type": "order_created", "archived": "true"}, ("n4",)),
        ({"priority": "high"}, ("n1", "n5")),
        ({"priority": ["high", "normal"]}, ("n1", "n2", "n5")),
        ({"priority": "urgent"}, ()),
        ({"priority": "urgent", "archived": "true"}, ("n3",)),
        ({"type": "payment_received", "unread": "true", "priority": "high"}, ("n5",)),
        ({"type": "payment_received", "unread": "true", "priority": "normal"}, ()),
        ({"q": "n3", "archived": "true"}, ("n3",)),
        ({"q": "N2"}, ("n2",)),
        ({"q": "n", "priority": "high", "unread": "true"}, ("n1", "n5")),
        ({"unread": "", "type": "", "q": ""}, ("n1", "n2", "n5")),
    ],
)
async def test_filter(
    as_vendor: httpx.AsyncClient, five: Fixture, params: dict[str, Any], expected: tuple[str, ...]
) -> None:
    assert await ids(as_vendor, **params) == names(five, *expected)


async def test_since_is_inclusive_and_until_exclusive(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = [await create(publisher, vendor, title=f"t{i}") for i in range(5)]
    newest_first = [n["id"] for n in reversed(made)]
    for pivot in made:
        at = pivot["created_at"]
        since = [n["id"] for n in reversed(made) if n["created_at"] >= at]
        until = [n["id"] for n in reversed(made) if n["created_at"] < at]
        assert pivot["id"] in since
        assert await ids(as_vendor, since=at) == since
        assert await ids(as_vendor, until=at) == until
        assert await ids(as_vendor, since=at, until=at) == []
    first, last = made[0]["created_at"], made[-1]["created_at"]
    both = await ids(as_vendor, since=first, until="2999-01-01T00:00:00Z")
    assert both == newest_first
    assert await ids(as_vendor, until="2000-01-01T00:00:00Z") == []
    assert await ids(as_vendor, since="2999-01-01T00:00:00Z") == []
    assert await ids(as_vendor, since=first, until=last) == [
        n["id"] for n in reversed(made) if first <= n["created_at"] < last
    ]


async def test_since_honours_the_offset(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    n = await create(publisher, vendor)
    # The same instant written in UTC+14 and UTC-12.
    from datetime import datetime, timedelta, timezone

    at = datetime.fromisoformat(n["created_at"])
    east = at.astimezone(timezone(timedelta(hours=14))).isoformat()
    west = at.astimezone(timezone(timedelta(hours=-12))).isoformat()
    assert await ids(as_vendor, since=east) == [n["id"]]
    assert await ids(as_vendor, since=west) == [n["id"]]
    assert await ids(as_vendor, until=west) == []


@pytest.fixture
async def tricky(publisher: httpx.AsyncClient, vendor: str) -> dict[str, str]:
    titles = {
        "percent": "50% off today",
        "digits": "5000 off today",
        "underscore": "code a_b",
        "nounderscore": "code axb",
        "quotes": 'O\'Brien said "hi"',
        "backslash": "C:\\path\\file",
        "sql": "'; DROP TABLE notifications; --",
        "or": "x' OR '1'='1",
        "body": "plain title",
        "accents": "Été 2024: Soldes à Zürich",
    }
    made = {}
    for name, title in titles.items():
        body = "the needle is in the BODY" if name == "body" else ""
        made[name] = (await create(publisher, vendor, title=title, body=body))["id"]
    return made


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("%", ("percent",)),
        ("50%", ("percent",)),
        ("0%", ("percent",)),
        ("_", ("underscore",)),
        ("a_b", ("underscore",)),
        ("'", ("quotes", "sql", "or")),
        ('"hi"', ("quotes",)),
        ("o'brien", ("quotes",)),
        ("\\", ("backslash",)),
        ("\\path\\", ("backslash",)),
        ("DROP TABLE", ("sql",)),
        ("' OR '1'='1", ("or",)),
        ("%%", ()),
        ("needle", ("body",)),
        ("NEEDLE", ("body",)),
        ("off today", ("percent", "digits")),
        ("*", ()),
        ("no such text", ()),
        ("Été", ("accents",)),
        ("à Zürich", ("accents",)),
        ("SOLDES À", ("accents",)),
    ],
)
async def test_q_matches_text_literally(
    as_vendor: httpx.AsyncClient, tricky: dict[str, str], q: str, expected: tuple[str, ...]
) -> None:
    got = await ids(as_vendor, q=q)
    assert sorted(got) == sorted(tricky[name] for name in expected)


async def test_sql_looking_text_leaves_the_table_intact(
    as_vendor: httpx.AsyncClient, tricky: dict[str, str]
) -> None:
    assert len(await ids(as_vendor)) == len(tricky)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"unread": "maybe"}, "unread"),
        ({"archived": "2"}, "archived"),
        ({"priority": "critical"}, "priority"),
        ({"priority": ["high", "HIGH"]}, "priority"),
        ({"type": "Order Created"}, "type"),
        ({"type": "x" * 65}, "type"),
        ({"q": "x" * 201}, "q"),
        ({"q": "a\u0000b"}, "q"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2024-01-01T00:00:00"}, "since"),
        ({"until": "2024-13-01T00:00:00Z"}, "until"),
        ({"until": "2024-01-01"}, "until"),
    ],
)
async def test_invalid_filter_is_422_naming_it(
    as_vendor: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    r = await as_vendor.get("/api/v1/notifications", params=params)
    assert_problem(r, 422, field)
