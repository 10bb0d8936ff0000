"""The wire format, without a server: ids, frames, the poll body, reasons."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tocsin.realtime import wire

EPOCH = "0a1b2c3d"
MAX64 = 2**64 - 1


def _event(position: wire.Position, name: str, payload: Any, *, redis: bool = False) -> wire.Event:
    event_id = wire.format_id(EPOCH, position, redis=redis)
    return wire.Event(event_id, EPOCH, position, name, wire.dumps(payload))


def _parse_frame(frame: bytes) -> list[tuple[str, str]]:
    """A frame's `(field, value)` lines, checking what every frame must be: one block of lines."""
    text = frame.decode()
    assert text.endswith("\n\n"), frame
    assert "\n\n" not in text[:-2], frame
    assert "\r" not in text, frame
    lines = text[:-2].split("\n")
    fields = []
    for line in lines:
        name, sep, value = line.partition(": ")
        assert sep or line.startswith(":"), f"not a field or a comment: {line!r}"
        fields.append((name, value))
    return fields


# -- ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "redis", "expected"),
    [
        ((0, 0), False, f"{EPOCH}_0"),
        ((42, 0), False, f"{EPOCH}_42"),
        ((1_700_000_000_000, 3), True, f"{EPOCH}_1700000000000-3"),
        ((0, 0), True, f"{EPOCH}_0-0"),
        ((MAX64, MAX64), True, f"{EPOCH}_{MAX64}-{MAX64}"),
    ],
)
def test_ids_round_trip(position: wire.Position, redis: bool, expected: str) -> None:
    assert wire.format_id(EPOCH, position, redis=redis) == expected
    assert wire.parse_id(expected) == (EPOCH, position)


def test_ids_sort_by_position_not_by_text() -> None:
    nine, ten = (wire.parse_id(f"{EPOCH}_{n}") for n in (9, 10))
    assert nine is not None
    assert ten is not None
    assert f"{EPOCH}_9" > f"{EPOCH}_10"  # the text would sort them wrongly
    assert nine[1] < ten[1]


@pytest.mark.parametrize(
    "raw",
    [f"{EPOCH}_{MAX64}", f"{EPOCH}_{MAX64}-0", f"{EPOCH}_0-{MAX64}", f"{EPOCH}_{'0' * 20}"],
)
def test_the_largest_64_bit_positions_parse(raw: str) -> None:
    parsed = wire.parse_id(raw)
    assert parsed is not None
    assert max(parsed[1]) <= MAX64


@pytest.mark.parametrize(
    "raw",
    [
        f"{EPOCH}_{MAX64 + 1}",
        f"{EPOCH}_{MAX64 + 1}-0",
        f"{EPOCH}_0-{MAX64 + 1}",
        f"{EPOCH}_99999999999999999999",  # 20 digits, past 2**64
        f"{EPOCH}_1{'0' * 20}",  # 21 digits
    ],
)
def test_positions_past_64_bits_are_malformed(raw: str) -> None:
    assert wire.parse_id(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "_",
        "5",
        EPOCH,
        f"{EPOCH}_",
        f"{EPOCH}-5",
        f"{EPOCH}_-5",
        f"{EPOCH}_5-",
        f"{EPOCH}_5-6-7",
        f"{EPOCH}_5.0",
        f"{EPOCH}_+5",
        f"{EPOCH}_ 5",
        f" {EPOCH}_5",
        f"{EPOCH}_5 ",
        "0A1B2C3D_5",  # epochs are lower case
        "0a1b2c3_5",  # seven characters
        "0a1b2c3d4_5",  # nine
        "0a1b-c3d_5",
        f"{EPOCH}_5\n",
        f"{EPOCH}_5\nevent: reset",
        f"{EPOCH}_\u0665",  # a digit, but not an ASCII one
        f"{EPOCH}_5-\uff16",
    ],
)
def test_malformed_ids_parse_to_none(raw: str) -> None:
    assert wire.parse_id(raw) is None


# -- frames ------------------------------------------------------------------------


def test_an_event_frame_is_id_event_and_one_data_line() -> None:
    payload = {"notification": {"title": "Order #1"}, "unread_count": 3}
    event = _event((7, 0), wire.NEW_NOTIFICATION, payload)
    assert (
        event.frame
        == (
            f"id: {EPOCH}_7\nevent: new_notification\n"
            'data: {"notification":{"title":"Order #1"},"unread_count":3}\n\n'
        ).encode()
    )
    fields = _parse_frame(event.frame)
    assert [name for name, _ in fields] == ["id", "event", "data"]
    assert json.loads(fields[2][1]) == payload


@pytest.mark.parametrize(
    "text",
    [
        "two\nlines",
        "carriage\rreturn",
        "crlf\r\n",
        "\n\ndata: injected\n\n",
        "tab\tand \u2028 line separator",
        "Ĝeorgian: შეკვეთა, emoji: 🔔",
        'quote " and backslash \\',
    ],
)
def test_data_is_one_line_of_json_whatever_the_text(text: str) -> None:
    payload = {"notification": {"title": text, "body": text}, "unread_count": 1}
    event = _event((1, 0), wire.NEW_NOTIFICATION, payload)
    fields = _parse_frame(event.frame)
    data = [value for name, value in fields if name == "data"]
    assert len(data) == 1
    assert json.loads(data[0]) == payload
    assert json.loads(event.poll_json)["data"] == payload


def test_dumps_is_compact_and_keeps_unicode() -> None:
    assert wire.dumps({"a": [1, 2], "b": "🔔"}) == '{"a":[1,2],"b":"🔔"}'


def test_the_poll_form_of_an_event_has_the_same_id_name_and_data() -> None:
    event = _event((1_700_000_000_000, 2), wire.ORDER_STATUS_UPDATE, {"order_id": "o1"}, redis=True)
    assert json.loads(event.poll_json) == {
        "id": f"{EPOCH}_1700000000000-2",
        "event": "order_status_update",
        "data": {"order_id": "o1"},
    }


def test_events_are_equal_by_content_not_by_their_encodings() -> None:
    a = _event((3, 0), wire.NEW_NOTIFICATION, {"x": 1})
    b = _event((3, 0), wire.NEW_NOTIFICATION, {"x": 1})
    assert a == b
    assert a != _event((4, 0), wire.NEW_NOTIFICATION, {"x": 1})


@pytest.mark.parametrize("reason", list(wire.ResetReason))
def test_a_reset_frame_names_its_reason_and_the_position_to_go_on_from(
    reason: wire.ResetReason,
) -> None:
    frame = wire.reset_frame(f"{EPOCH}_9", reason)
    assert _parse_frame(frame) == [
        ("id", f"{EPOCH}_9"),
        ("event", "reset"),
        ("data", f'{{"reason":"{reason.value}"}}'),
    ]


def test_retry_and_heartbeat_frames() -> None:
    assert wire.retry_frame(2500) == b"retry: 2500\n\n"
    assert _parse_frame(wire.retry_frame(2500)) == [("retry", "2500")]
    # A comment: EventSource dispatches nothing for it, proxies see bytes.
    assert wire.HEARTBEAT.startswith(b":")
    assert wire.HEARTBEAT.endswith(b"\n\n")
    assert b"\n" not in wire.HEARTBEAT[:-2]


# -- the poll body ------------------------------------------------------------------


def test_the_poll_body_with_events_is_json_in_order() -> None:
    events = [
        _event((1, 0), wire.NEW_NOTIFICATION, {"n": 1, "s": "a\nb"}),
        _event((2, 0), wire.NOTIFICATION_UPDATE, {"ids": None, "changes": {"read": True}}),
    ]
    body = json.loads(wire.poll_body(events, events[-1].id, None))
    assert body == {
        "events": [
            {"id": f"{EPOCH}_1", "event": "new_notification", "data": {"n": 1, "s": "a\nb"}},
            {
                "id": f"{EPOCH}_2",
                "event": "notification_update",
                "data": {"ids": None, "changes": {"read": True}},
            },
        ],
        "last_id": f"{EPOCH}_2",
        "reset": False,
    }


def test_an_empty_poll_body_has_no_reason() -> None:
    assert json.loads(wire.poll_body([], f"{EPOCH}_5", None)) == {
        "events": [],
        "last_id": f"{EPOCH}_5",
        "reset": False,
    }


@pytest.mark.parametrize("reason", list(wire.ResetReason))
def test_a_reset_poll_body_names_its_reason(reason: wire.ResetReason) -> None:
    assert json.loads(wire.poll_body([], f"{EPOCH}_5", reason)) == {
        "events": [],
        "last_id": f"{EPOCH}_5",
        "reset": True,
        "reason": reason.value,
    }


# -- names and reasons ---------------------------------------------------------------


def test_event_names_are_the_stream_contract() -> None:
    assert sorted(wire.EVENT_NAMES) == [
        "new_notification",
        "notification_update",
        "order_status_update",
        "reset",
    ]


def test_reasons_keep_their_wire_values() -> None:
    assert {r.name: r.value for r in wire.ResetReason} == {
        "MALFORMED_ID": "malformed_id",
        "UNKNOWN_ID": "unknown_id",
        "EXPIRED": "expired",
        "LOG_CHANGED": "log_changed",
        "TOO_MANY_EVENTS": "too_many_events",
    }
    assert {r.name: r.value for r in wire.CloseReason} == {
        "SLOW_CONSUMER": "slow_consumer",
        "SHUTDOWN": "shutdown",
        "MAX_LIFETIME": "max_lifetime",
        "EXPIRED": "expired",
        "LOG_CHANGED": "log_changed",
        "DISCONNECTED": "disconnected",
    }


def test_a_reason_is_its_value_in_json_and_in_text() -> None:
    assert wire.dumps({"reason": wire.ResetReason.EXPIRED}) == '{"reason":"expired"}'
    assert str(wire.CloseReason.MAX_LIFETIME) == "max_lifetime"
    assert f"{wire.ResetReason.LOG_CHANGED}" == "log_changed"
