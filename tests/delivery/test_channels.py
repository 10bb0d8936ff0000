"""The channel registry: every entry complete, its messages, contacts and senders (no server)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tocsin.delivery import Delivery, Rendered, channels, email, in_app, sms
from tocsin.delivery.channels import CHANNELS, Channel, ContactIn
from tocsin.marketplace.preferences import PreferencesPatch
from tocsin.marketplace.templating import default_dir
from tocsin.settings import Settings


def _ids(channel: Channel[Any]) -> str:
    return channel.name


def _base_blocks() -> set[str]:
    source = (default_dir() / "_base.txt").read_text()
    return set(re.findall(r"{%-?\s*block\s+(\w+)", source))


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(env, dotenv=tmp_path / "no.env")


def rendered(**blocks: str) -> Rendered:
    texts = {name: f"{name} text" for name in channels.BLOCKS}
    return Rendered(blocks={**texts, **blocks}, html="<p>hi</p>")


def test_the_channels_and_their_order_are_the_preferences_wire_form() -> None:
    assert channels.NAMES == ("in_app", "email", "sms", "push")
    assert [c.name for c in channels.QUEUED] == ["email", "sms", "push"]
    assert channels.BLOCKS == (
        "title",
        "body",
        "link",
        "email_subject",
        "email_text",
        "sms",
        "push_title",
        "push_body",
    )


@pytest.mark.parametrize("channel", CHANNELS, ids=_ids)
async def test_every_channel_entry_is_complete(channel: Channel[Any], tmp_path: Path) -> None:
    assert re.fullmatch(r"[a-z][a-z_]*", channel.name)
    assert channel.label
    assert isinstance(channel.default, bool)
    assert channel.blocks, "renders no template block"
    assert set(channel.blocks) <= _base_blocks(), "a block _base.txt does not define"
    message = channel.build(rendered()).to_json()
    assert message
    assert all(isinstance(v, str) for v in message.values())
    if channel.sender is None:
        assert channel.contact is None
        return
    if channel.devices:
        assert channel.contact is None, "sends to push subscriptions, not to a contact"
    else:
        assert channel.contact is not None, "a queued channel must say where it sends to"
        assert channel.contact.field in ContactIn.model_fields
    sender = channel.sender(settings(tmp_path, TOCSIN_SMTP_HOST="smtp.example"))
    assert callable(sender.send)
    await sender.close()


def test_only_the_dashboard_is_on_by_default() -> None:
    assert {c.name: c.default for c in CHANNELS} == {
        "in_app": True,
        "email": False,
        "sms": False,
        "push": False,
    }


def test_blocks_are_unique_to_their_channel() -> None:
    owners = [block for c in CHANNELS for block in c.blocks]
    assert len(owners) == len(set(owners))


async def test_email_needs_an_smtp_host_and_sms_always_has_a_provider(tmp_path: Path) -> None:
    assert set(channels.senders(settings(tmp_path))) == {"sms"}
    with_smtp = channels.senders(settings(tmp_path, TOCSIN_SMTP_HOST="smtp.example"))
    assert set(with_smtp) == {"email", "sms"}
    assert isinstance(with_smtp["email"], email.EmailSender)
    assert isinstance(with_smtp["sms"], sms.LogProvider)
    hooked = channels.senders(
        settings(
            tmp_path,
            TOCSIN_SMS_PROVIDER="webhook",
            TOCSIN_SMS_WEBHOOK_URL="https://sms.example/send",
        )
    )
    assert isinstance(hooked["sms"], sms.WebhookProvider)
    await hooked["sms"].close()


def test_in_app_builds_the_notification() -> None:
    notice = in_app.build(rendered(title="  New\n order  ", body="a\n\nb", link=""))
    assert notice == in_app.Notice(title="New order", body="a\n\nb", link=None)
    assert in_app.build(rendered(title="x" * 300)).title == "x" * in_app.TITLE_MAX


def test_email_builds_a_mail_that_survives_the_queue() -> None:
    mail = email.build(
        rendered(email_subject="Your\norder", email_text="Hello\n\n\n\nBye", link="/x")
    )
    assert mail == email.Mail(subject="Your order", text="Hello\n\nBye\n", html="<p>hi</p>")
    assert email.Mail.from_json(mail.to_json()) == mail


def test_an_email_message_carries_the_mail_and_a_stable_id(tmp_path: Path) -> None:
    s = settings(tmp_path, TOCSIN_SMTP_FROM="tocsin <noreply@shop.example>")
    mail = email.Mail(subject="Hi", text="Plain\n", html="<p>Rich</p>")
    delivery = Delivery(
        1, "evt:1:v:email", "v", "order_created", "email", "a@b.example", mail.to_json(), 1
    )
    msg = email.build_message(s, delivery)
    assert msg["Subject"] == "Hi"
    assert msg["To"] == "a@b.example"
    assert msg["Message-ID"] == email.build_message(s, delivery)["Message-ID"]
    assert msg["Message-ID"].endswith("@shop.example>")
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None
    assert plain.get_content() == "Plain\n"
    assert html is not None
    assert html.get_content() == "<p>Rich</p>\n"


def test_sms_builds_one_capped_line() -> None:
    text = sms.build(rendered(sms="Paid:\n" + "9" * 2000)).text
    assert len(text) == sms.SMS_MAX
    assert text.startswith("Paid: 999")
    assert sms.Sms.from_json(sms.Sms(text).to_json()).text == text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not an address"}, "email"),
        ({"email": "a@b.example" + "x" * 320}, "email"),
        ({"phone": "0151 123"}, "phone"),
        ({"fax": "+4930123456"}, "fax"),
    ],
)
def test_contact_details_are_checked_by_their_channel(body: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as failed:
        ContactIn.model_validate(body)
    assert [e["loc"] for e in failed.value.errors()] == [(field,)]


def test_a_contact_has_one_optional_field_per_contact_channel() -> None:
    assert list(ContactIn.model_fields) == ["email", "phone"]
    contact = ContactIn.model_validate({"email": "shop@example.com", "phone": "+4915112345678"})
    assert contact.model_dump() == {"email": "shop@example.com", "phone": "+4915112345678"}
    assert ContactIn.model_validate({}).model_dump() == {"email": None, "phone": None}


def test_preferences_accept_exactly_the_channels() -> None:
    every = {name: False for name in channels.NAMES}
    assert PreferencesPatch.model_validate({"stock_low": every}).root["stock_low"]
    with pytest.raises(ValidationError) as failed:
        PreferencesPatch.model_validate({"stock_low": {"fax": True}})
    assert failed.value.errors()[0]["loc"] == ("stock_low", "fax")
