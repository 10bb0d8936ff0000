"""Templates: rendering, escaping, caps, and a broken template named at start-up (no server)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tocsin.delivery import channels, in_app, sms
from tocsin.errors import ConfigError
from tocsin.marketplace import registry, templating
from tocsin.marketplace.rules import Recipient
from tocsin.marketplace.schemas import Envelope
from tocsin.marketplace.templating import Templates
from tocsin.notifications import samples


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


# -- locales -------------------------------------------------------------------------


def test_a_georgian_order_is_in_georgian_with_lari_and_the_vendors_clock() -> None:
    order = recipient("order.created", currency="GEL")
    rendered = Templates().render(order, locale="ka", timezone="Asia/Tbilisi")
    notice = channels.IN_APP.build(rendered)
    assert notice.title == "ახალი შეკვეთა #1042: 2 ნივთი, 49,00 ₾"
    assert "ჯამი: 49,00\xa0₾" in notice.body
    mail = channels.EMAIL.build(rendered)
    assert '<html lang="ka">' in mail.html
    # 2024-01-01T00:00Z is 04:00 in Tbilisi (UTC+4).
    assert "1 იან. 2024, 04:00:00" in mail.html
    assert "გახსნა" in mail.text


def test_the_old_call_still_renders_english_in_utc() -> None:
    order = recipient("order.created")
    assert Templates().render(order) == Templates().render(order, "en", "UTC")
    english = Templates().render(order, "en", "Asia/Tbilisi").html
    assert "ordered on Jan 1, 2024, 4:00:00\u202fAM:" in english


def test_an_unknown_locale_or_zone_falls_back_to_english_and_utc() -> None:
    order = recipient("order.created")
    assert Templates().render(order, "xx", "Not/AZone") == Templates().render(order)


def test_a_template_the_locale_lacks_falls_back_to_english_one_file_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy of the shipped templates whose Georgian folder lacks `stock_low`.
    shipped = tmp_path / "notifications"
    shutil.copytree(templating.default_dir(), shipped)
    (shipped / "ka" / "stock_low.txt").unlink()
    (shipped / "ka" / "stock_low.html").unlink()
    monkeypatch.setattr(templating, "default_dir", lambda: shipped)
    templates = Templates()
    templates.check()
    low = channels.EMAIL.build(templates.render(recipient("stock.low"), "ka"))
    assert low.subject == "Low stock: Walnut cutting board"
    # ... while its layout and blocks around it stay Georgian.
    assert "გახსნა: /products/SKU-1" in low.text
    assert '<html lang="ka">' in low.html
    paid = channels.IN_APP.build(templates.render(recipient("payment.received"), "ka"))
    assert paid.title == "შეკვეთა #1042: გადახდა მიღებულია"


def test_an_english_override_reaches_a_georgian_vendor_only_where_ka_has_no_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "ka").mkdir()
    (tmp_path / "payment_received.txt").write_text(
        '{% extends "_base.txt" %}{% block title %}Paid: {{ amount | money(currency) }}'
        "{% endblock %}"
    )
    (tmp_path / "ka" / "stock_low.txt").write_text(
        '{% extends "_base.txt" %}{% block title %}მარაგი: {{ quantity | number }}{% endblock %}'
    )
    templates = Templates(str(tmp_path))
    paid = recipient("payment.received", amount="1234.5", currency="GEL")
    # The shipped Georgian file comes before an English override.
    assert channels.IN_APP.build(templates.render(paid, "ka")).title.startswith("შეკვეთა #")
    assert channels.IN_APP.build(templates.render(paid)).title == "Paid: GEL 1,234.50"
    low = recipient("stock.low", quantity=1500)
    assert channels.IN_APP.build(templates.render(low, "ka")).title == "მარაგი: 1 500"
    assert channels.IN_APP.build(templates.render(low)).title.startswith("Low stock")


def test_the_start_up_check_covers_every_locale(tmp_path: Path) -> None:
    (tmp_path / "ka").mkdir()
    (tmp_path / "ka" / "payout_sent.html").write_text(
        '{% extends "_layout.html" %}{% block content %}{{ nope }}{% endblock %}'
    )
    with pytest.raises(ConfigError, match=r"payout_sent \(ka\).*nope"):
        Templates(str(tmp_path)).check()


def test_a_direct_notification_renders_from_its_own_texts_and_escapes_its_html() -> None:
    n = samples.announcement(title="Sale <b>today</b>", body="Everything & more")
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


def test_a_georgian_digest_and_direct_notification_use_the_georgian_layout() -> None:
    items = [{"line": "ახალი შეკვეთა #1", "link": "", "at": "09:05"}]
    digest = Templates().render_digest("acme", items, "ka", "Asia/Tbilisi")
    assert digest.blocks["email_subject"] == "თქვენი დაიჯესტი: 1 შეტყობინება"
    assert "- 09:05  ახალი შეკვეთა #1" in digest.blocks["email_text"]
    assert '<html lang="ka">' in digest.html
    n = samples.announcement(title="Sale today", body="")
    direct = Templates().render_direct(n, "ka", "Asia/Tbilisi")
    assert direct.blocks["title"] == "Sale today"
    assert "გახსნა: /news/1" in direct.blocks["email_text"]
    assert '<html lang="ka">' in direct.html
