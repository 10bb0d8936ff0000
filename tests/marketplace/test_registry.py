"""The event registry: every entry complete, and what derives from it (no server)."""

from __future__ import annotations

import re

import pytest

from tocsin import i18n
from tocsin.delivery import channels
from tocsin.errors import ValidationFailed
from tocsin.fields import PRIORITIES
from tocsin.marketplace import preferences, registry
from tocsin.marketplace.registry import EVENTS, EventType
from tocsin.marketplace.schemas import Envelope
from tocsin.marketplace.templating import Templates, default_dir

ENTRIES = list(EVENTS.values())


def _ids(entry: EventType) -> str:
    return entry.name


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_every_sample_is_valid_for_its_schema(entry: EventType) -> None:
    event = registry.sample_event(entry.name)
    assert isinstance(event.data, entry.schema)
    assert event.type == entry.name


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_every_rule_names_a_notification_type_and_a_priority(entry: EventType) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]{0,63}", entry.notification_type)
    assert entry.rule.priority in PRIORITIES
    assert registry.recipients(registry.sample_event(entry.name)), "the sample reaches no vendor"


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_every_event_type_has_its_templates(entry: EventType) -> None:
    assert entry.templates == (
        f"{entry.notification_type}.txt",
        f"{entry.notification_type}.html",
    )
    for name in entry.templates:
        assert (default_dir() / name).is_file(), f"{name} is missing"


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_every_sample_renders_for_every_channel(entry: EventType) -> None:
    templates = Templates(public_url="https://market.example")
    for recipient in registry.recipients(registry.sample_event(entry.name)):
        rendered = templates.render(recipient)
        for channel in channels.CHANNELS:
            message = channel.build(rendered).to_json()
            assert message, channel.name
            assert all(isinstance(v, str) for v in message.values())
        assert channels.IN_APP.build(rendered).title
        assert channels.EMAIL.build(rendered).subject
        assert "<html" in channels.EMAIL.build(rendered).html
        assert channels.SMS.build(rendered).text


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids)
def test_every_event_type_has_a_default_for_every_channel(entry: EventType) -> None:
    assert set(entry.defaults) == set(channels.NAMES)
    assert all(isinstance(on, bool) for on in entry.defaults.values())
    assert set(entry.channels) <= set(channels.NAMES), "a default for an unknown channel"
    assert entry.defaults["in_app"] is True


def test_the_start_up_check_passes_with_the_shipped_templates() -> None:
    Templates().check()


def test_notification_types_are_unique_and_derived() -> None:
    kinds = [e.notification_type for e in ENTRIES]
    assert len(set(kinds)) == len(kinds)
    assert tuple(kinds) == registry.NOTIFICATION_TYPES
    assert list(registry.DEFAULTS) == kinds


def test_every_template_belongs_to_an_event_type() -> None:
    shipped = {p.name for p in default_dir().iterdir() if p.is_file() and p.name[0] != "_"}
    assert shipped == {name for e in ENTRIES for name in e.templates}


@pytest.mark.parametrize("locale", [loc for loc in i18n.LOCALES if loc != i18n.DEFAULT_LOCALE])
def test_every_shipped_locale_translates_every_template(locale: str) -> None:
    folder = default_dir() / locale
    shipped = {p.name for p in folder.iterdir()}
    # Its layout, blocks and digest; the direct notification needs none of its own.
    assert shipped == {name for e in ENTRIES for name in e.templates} | {
        "_base.txt",
        "_layout.html",
        "_digest.txt",
        "_digest.html",
    }


def test_preference_defaults_follow_the_entries() -> None:
    prefs = preferences.merged({})
    every = {"in_app": True, "email": True, "sms": True, "push": True}
    escalate = {"push_after_s": 60, "sms_after_s": 900}
    assert prefs["payment_failed"] == {**every, "email_mode": "instant", "escalate": escalate}
    assert prefs["order_created"] == {
        **every,
        "sms": False,
        "email_mode": "instant",
        "escalate": escalate,
    }
    assert prefs["review_created"] == {
        "in_app": True,
        "email": False,
        "sms": False,
        "push": False,
        "email_mode": "instant",
        "escalate": None,
    }
    assert prefs == {e.notification_type: {**e.defaults, **e.options} for e in ENTRIES}


def test_a_vendors_choice_overrides_a_default_and_unknown_ones_are_ignored() -> None:
    prefs = preferences.merged(
        {("review_created", "sms"): True, ("nope", "sms"): True, ("stock_low", "fax"): True}
    )
    assert prefs["review_created"]["sms"] is True
    assert "nope" not in prefs
    assert "fax" not in prefs["stock_low"]


def test_a_preferences_patch_names_unknown_types_and_channels() -> None:
    patch = preferences.PreferencesPatch.model_validate({"stock_low": {"sms": True}})
    assert preferences.changes(patch) == ([("stock_low", "sms", True)], [])
    patch = preferences.PreferencesPatch.model_validate(
        {
            "stock_low": {"email_mode": "daily", "escalate": {"push_after_s": 5}},
            "order_created": {"escalate": None},
            "payment_failed": {"escalate": {}},
        }
    )
    assert preferences.changes(patch) == (
        [],
        [
            ("stock_low", "email_mode", '"daily"'),
            ("stock_low", "escalate", '{"push_after_s": 5, "sms_after_s": null}'),
            ("order_created", "escalate", "null"),
            ("payment_failed", "escalate", "null"),
        ],
    )
    with pytest.raises(ValidationFailed) as failed:
        preferences.changes(preferences.PreferencesPatch.model_validate({"teleport": {}}))
    assert failed.value.errors[0]["field"] == "teleport"
    assert "order_created" in failed.value.detail
    with pytest.raises(ValueError, match="pigeon"):
        preferences.PreferencesPatch.model_validate({"stock_low": {"pigeon": True}})


def test_an_unknown_event_type_is_a_422_naming_the_known_ones() -> None:
    with pytest.raises(ValidationFailed) as failed:
        registry.get("order.teleported")
    assert failed.value.errors == [
        {"field": "type", "message": f"must be one of: {', '.join(EVENTS)}"}
    ]


def test_invalid_data_is_a_422_naming_the_field_under_data() -> None:
    data = dict(EVENTS["payment.received"].sample, amount="-1")
    envelope = Envelope.model_validate(
        {
            "id": "e1",
            "type": "payment.received",
            "occurred_at": "2024-01-01T00:00:00Z",
            "data": data,
        }
    )
    with pytest.raises(ValidationFailed) as failed:
        registry.parse(envelope)
    assert [e["field"] for e in failed.value.errors] == ["data.amount"]


def test_the_digest_ignores_occurred_at_but_not_the_data() -> None:
    def parse(occurred_at: str, amount: str) -> str:
        data = dict(EVENTS["payment.received"].sample, amount=amount)
        env = {"id": "e", "type": "payment.received", "occurred_at": occurred_at, "data": data}
        return registry.parse(Envelope.model_validate(env)).digest

    assert parse("2024-01-01T00:00:00Z", "1") == parse("2024-06-01T00:00:00Z", "1")
    assert parse("2024-01-01T00:00:00Z", "1") != parse("2024-01-01T00:00:00Z", "2")
