"""Templates: overrides from `TOCSIN_TEMPLATES_DIR`, and a broken one stops the start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ServerFactory
from tests.events.conftest import Api


async def test_a_template_in_the_override_directory_replaces_the_default(
    make_server: ServerFactory, tmp_path: Path, vendor: str
) -> None:
    (tmp_path / "payment_received.txt").write_text(
        '{% extends "_base.txt" %}\n'
        "{% block title %}Cha-ching: {{ currency }} {{ amount }} for #{{ order_id }}"
        "{% endblock %}\n"
        "{% block body %}{{ event.id }}{% endblock %}\n"
    )
    srv = make_server({"TOCSIN_TEMPLATES_DIR": str(tmp_path)})
    api = Api(srv.url)
    try:
        data = {"order_id": "5", "vendor_id": vendor, "amount": "7", "currency": "EUR"}
        r = await api.event("payment.received", data, id="evt-override")
        assert r.status_code == 202
        [n] = (await api.vendor(vendor).get("/api/v1/notifications")).json()["items"]
    finally:
        await api.aclose()
    assert n["title"] == "Cha-ching: EUR 7.00 for #5"
    assert n["body"] == "evt-override"
    assert n["link"] is None


@pytest.mark.parametrize(
    ("name", "source", "message"),
    [
        (
            "order_created.txt",
            "{% block title %}{{ order_id }{% endblock %}",
            "order_created.txt, line 1",
        ),
        (
            "stock_low.html",
            '{% extends "_layout.html" %}{% block content %}{{ no_such_field }}{% endblock %}',
            "no_such_field",
        ),
        ("review_created.txt", '{% extends "_base.txt" %}', "empty title"),
    ],
)
def test_a_broken_template_stops_the_start_up_naming_it(
    make_server: ServerFactory, tmp_path: Path, name: str, source: str, message: str
) -> None:
    (tmp_path / name).write_text(source)
    with pytest.raises(RuntimeError, match="exited at start-up") as failed:
        make_server({"TOCSIN_TEMPLATES_DIR": str(tmp_path)})
    assert message in str(failed.value)


def test_a_missing_override_directory_stops_the_start_up(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError, match="TOCSIN_TEMPLATES_DIR"):
        make_server({"TOCSIN_TEMPLATES_DIR": str(tmp_path / "nope")})
