"""`tocsin demo --vendor NAME --count N`: N notifications in bulk, counts right, a real mix."""

from __future__ import annotations

import pytest

from tests.notifications.test_counts import real_counts
from tocsin import cli
from tocsin.settings import Settings
from tocsin.storage.stores import Stores


async def test_fill_adds_count_notifications_with_exact_counts(fresh_url: str) -> None:
    from tocsin.demo import fill

    settings = Settings().with_(database_url=fresh_url)
    await fill(settings, "big-shop", 3000)
    await fill(settings, "big-shop", 500, seed=8)  # more on top, counts still right
    stores = Stores(fresh_url)
    await stores.connect()
    try:
        total = await stores.db.fetch_val("SELECT count(*) FROM notifications")
        assert total == 3500
        kept = await stores.counts.by_type("big-shop")
        assert kept == await real_counts(stores, "big-shop")
        unread = sum(kept.values())
        read = await stores.db.fetch_val(
            "SELECT count(*) FROM notifications WHERE read_at IS NOT NULL"
        )
        archived = await stores.db.fetch_val(
            "SELECT count(*) FROM notifications WHERE archived_at IS NOT NULL"
        )
        assert 0 < unread < read
        assert 0 < archived < read
        assert len(kept) >= 4, "several types"
        seq = await stores.db.fetch_val("SELECT seq FROM vendors WHERE id = 'big-shop'")
        assert seq == 0, "no event sequence number is taken"
    finally:
        await stores.disconnect()


def test_cli_fills_one_vendor(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOCSIN_DATABASE_URL", fresh_url)
    assert cli.main(["demo", "--vendor", "shop-1", "--count", "250"]) == 0
    out = capsys.readouterr().out
    assert "shop-1: 250 notifications added" in out
    assert "/dashboard/login?token=" in out
    with pytest.raises(SystemExit):
        cli.main(["demo", "--vendor", "bad vendor!", "--count", "5"])
