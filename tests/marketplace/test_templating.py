"""Templates: rendering, escaping, caps, and a broken template named at start-up (no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tocsin.delivery import channels, in_app, sms
from tocsin.errors import ConfigError
from tocsin.marketplace import registry
from tocsin.marketplace.rules import Recipient
from tocsin.marketplace.schemas import Envelope
from tocsin.marketplace.templating import Templates


def recipient(event_type: str, **changes: Any) -> Recipient:
    """The first recipient of `event_type`'s sample, with `changes` to its data."""
    data = {**registry.EVENTS[event_type].sample, **changes}
    envelope = Envelope.model_validate(
        {"id": "t1", "type": event_type, "occurred_at": "2024-01-01T00:00:00Z", "data": data}
    )
    return registry.recipients(registry.parse(envelope))[0]


def test_an_order_renders_every_channel() -> None:
    rendered = Templates(public_url="https://m.example/").render(recipient("order.created"))
    notice = channels.IN_APP.build(rendered)
    assert notice.title == "New order #1042: 2 items, EUR 49.00"
    assert notice.link == "/orders/1042"
    assert "2 x Walnut cutting board (SKU-1) at EUR 24.50" in notice.body
    mail = channels.EMAIL.build(rendered)
    assert mail.subject == notice.title
    assert mail.text.endswith("Open: https://m.example/orders/1042\n")
    assert '<a href="https://m.example/orders/1042">' in mail.html
    assert channels.SMS.build(rendered).text == ("New order #1042 from Ada Lovelace: EUR 49.00")


def test_only_the_html_part_is_escaped() -> None:
    name = "<b>Bob</b> & Co"
    rendered = Templates().render(recipient("message.received", sender=name))
    assert name in channels.IN_APP.build(rendered).title
    assert name in channels.SMS.build(rendered).text
    html = channels.EMAIL.build(rendered).html
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; Co" in html
    assert "<b>Bob</b>" not in html


def test_without_a_public_url_links_stay_paths() -> None:
    rendered = Templates().render(recipient("stock.low"))
    assert channels.IN_APP.build(rendered).link == "/products/SKU-1"
    assert '<a href="/products/SKU-1">' in channels.EMAIL.build(rendered).html


def _override(tmp_path: Path, name: str, source: str) -> Templates:
    (tmp_path / name).write_text(source)
    return Templates(str(tmp_path))


def test_an_sms_is_one_line_and_capped(tmp_path: Path) -> None:
    templates = _override(
        tmp_path,
        "stock_low.txt",
        '{% extends "_base.txt" %}{% block title %}Low{% endblock %}'
        '{% block sms %}first\n\nsecond {{ "x" * 5000 }}{% endblock %}',
    )
    text = channels.SMS.build(templates.render(recipient("stock.low"))).text
    assert len(text) == sms.SMS_MAX
    assert text.startswith("first second xxx")


def test_title_and_body_are_capped(tmp_path: Path) -> None:
    templates = _override(
        tmp_path,
        "stock_low.txt",
        '{% extends "_base.txt" %}{% block title %}{{ "t" * 300 }}{% endblock %}'
        '{% block body %}{{ "b" * 6000 }}{% endblock %}',
    )
    notice = channels.IN_APP.build(templates.render(recipient("stock.low")))
    assert len(notice.title) == in_app.TITLE_MAX
    assert len(notice.body) == in_app.BODY_MAX
    assert notice.link is None


@pytest.mark.parametrize(
    ("name", "source", "message"),
    [
        (
            "order_created.txt",
            '{% extends "_base.txt" %}\n{% block title %}{{ order_id }{% endblock %}',
            "notification template {dir}/order_created.txt, line 2:",
        ),
        (
            "stock_low.html",
            '{% extends "_layout.html" %}\n{% block content %}\n{{ no_such_field }}{% endblock %}',
            "({dir}/stock_low.html, line 3): 'no_such_field' is undefined",
        ),
        ("review_created.txt", '{% extends "_base.txt" %}', "empty title"),
        ("payout_sent.txt", "{% block title %}Paid{% endblock %}", "has no block 'body'"),
        (
            "payout_sent.txt",
            '{% extends "_base.txt" %}{% block title %}Paid{% endblock %}'
            "{% block link %}javascript:alert(1){% endblock %}",
            "neither an http(s) URL nor a path",
        ),
    ],
)
def test_a_broken_template_is_reported_with_its_file(
    tmp_path: Path, name: str, source: str, message: str
) -> None:
    with pytest.raises(ConfigError) as failed:
        _override(tmp_path, name, source).check()
    assert message.format(dir=tmp_path) in str(failed.value)


def test_a_missing_template_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tocsin.marketplace.templating.default_dir", lambda: tmp_path)
    with pytest.raises(ConfigError, match=r"order_created\.txt is missing"):
        Templates().check()


def test_a_missing_override_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TOCSIN_TEMPLATES_DIR"):
        Templates(str(tmp_path / "nope"))


def test_a_direct_notification_renders_from_its_own_texts_and_escapes_its_html() -> None:
    from tocsin.model import Notification

    n = Notification(
        id="01J00000000000000000000000",
        vendor_id="acme-tools",
        type="announcement",
        title="Sale <b>today</b>",
        body="Everything & more",
        data={},
        priority="normal",
        link="/news/1",
        created_at=0,
        read_at=None,
        seen_at=None,
        archived_at=None,
        dedupe_key=None,
    )
    rendered = Templates(public_url="https://shop.example").render_direct(n)
    assert rendered.blocks["title"] == "Sale <b>today</b>"
    assert rendered.blocks["sms"] == "Sale <b>today</b>"
    assert rendered.blocks["email_text"].startswith("Everything & more")
    assert "https://shop.example/news/1" in rendered.blocks["email_text"]
    assert "Sale &lt;b&gt;today&lt;/b&gt;" in rendered.html
    assert "Everything &amp; more" in rendered.html
    assert 'href="https://shop.example/news/1"' in rendered.html


def test_a_digest_lists_its_items_escaped_in_html() -> None:
    items = [
        {"line": "New order #1 <x>", "link": "https://shop.example/orders/1", "at": "09:05"},
        {"line": "Low stock: mug", "link": "", "at": "09:40"},
    ]
    rendered = Templates(public_url="https://shop.example").render_digest("acme", items)
    assert rendered.blocks["email_subject"] == "Your digest: 2 notifications"
    text = rendered.blocks["email_text"]
    assert "- 09:05  New order #1 <x>\n  https://shop.example/orders/1" in text
    assert "- 09:40  Low stock: mug" in text
    assert "New order #1 &lt;x&gt;" in rendered.html
    assert "<x>" not in rendered.html
