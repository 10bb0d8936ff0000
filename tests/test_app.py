"""The app's own log filter: no vendor token reaches a log line, however it is spelled."""

from __future__ import annotations

import logging

import pytest

from tocsin.app import RedactTokens, redact

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhY21lIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    "line",
    [
        f"GET /api/v1/stream?access_token={JWT} HTTP/1.1",
        f"GET /api/v1/stream?access_%74oken={JWT} HTTP/1.1",
        f"GET /api/v1/stream?ACCESS_TOKEN=opaque-{JWT[:8]} HTTP/1.1",
        f"GET /api/v1/stream?x=1&access%5Ftoken={JWT}&y=2 HTTP/1.1",
        f"GET /dashboard/login?%74oken={JWT} HTTP/1.1",
        f"GET /dashboard/login?t%6fken={JWT}",
        f'"GET /somewhere?next={JWT}"',
    ],
)
def test_token_redaction_bypassed_by_percent_encoding(line: str) -> None:
    out = redact(line)
    assert JWT not in out
    assert JWT[:8] + " " not in out
    assert "[redacted]" in out


def test_redaction_keeps_what_is_not_a_token() -> None:
    line = "GET /api/v1/notifications?type=order_created&limit=10 HTTP/1.1"
    assert redact(line) == line


def test_filter_redacts_arguments_and_messages() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s"',
        ("127.0.0.1", "GET", f"/api/v1/stream?access_%74oken={JWT}"),
        None,
    )
    assert RedactTokens().filter(record)
    assert JWT not in record.getMessage()
