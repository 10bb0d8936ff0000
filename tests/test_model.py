"""The core `Notification`, its wire form and the OpenAPI schema stay one shape."""

from __future__ import annotations

import dataclasses

import pytest

from tocsin.http.schemas import Notification as WireSchema
from tocsin.model import Notification
from tocsin.realtime import wire


def sample() -> Notification:
    return Notification(
        id="01M881NPYMDAY3673R8W6FJAN5",
        vendor_id="acme",
        type="order_created",
        title="New order",
        body="2 x walnut board",
        data={"order_id": "1042"},
        priority="high",
        link="/orders/1042",
        created_at=1_764_000_000_123,
        read_at=None,
        seen_at=1_764_000_000_500,
        archived_at=1_764_000_001_000,
        dedupe_key=None,
    )


def test_the_model_the_wire_form_and_the_schema_name_the_same_fields() -> None:
    model_fields = [f.name for f in dataclasses.fields(Notification)]
    assert list(wire.notification(sample())) == model_fields
    assert list(WireSchema.model_fields) == model_fields


def test_the_wire_form_validates_against_the_published_schema() -> None:
    encoded = wire.notification(sample())
    assert encoded["created_at"] == "2025-11-24T16:00:00.123Z"
    assert encoded["read_at"] is None
    parsed = WireSchema.model_validate(encoded)
    assert parsed.archived_at is not None
    assert parsed.archived_at.timestamp() == 1_764_000_001.0


def test_the_model_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample().title = "changed"  # type: ignore[misc]
