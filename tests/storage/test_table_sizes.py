"""The admin overview's table sizes: exact while small, an estimate beyond, on both backends."""

from __future__ import annotations

import uuid

from tests.notifications.test_retention import note
from tocsin.notifications.service import NotificationService
from tocsin.storage.stores import Stores


async def test_small_tables_are_counted_exactly_and_large_ones_estimated(stores: Stores) -> None:
    vendor = f"v-{uuid.uuid4().hex[:10]}"
    await NotificationService(stores).import_many(
        vendor, [note(vendor, "a", 1, read=False) for _ in range(40)]
    )
    sizes = {t.table: t for t in await stores.retention.sizes()}
    assert (sizes["notifications"].rows, sizes["notifications"].kind) == (40, "exact")
    assert (sizes["vendors"].rows, sizes["vendors"].kind) == (1, "exact")

    # Past the bound: never a full count.
    big = {t.table: t for t in await stores.retention.sizes(exact_up_to=10)}["notifications"]
    if stores.db.dialect == "sqlite":
        assert (big.rows, big.kind) == (40, "estimate")  # the rowid span
        assert big.bytes is None
        return
    # Never analysed (and too few changes for autovacuum to analyse it): only the bound is known.
    assert (big.rows, big.kind) == (11, "more")
    await stores.db.run("ANALYZE notifications")
    big = {t.table: t for t in await stores.retention.sizes(exact_up_to=10)}["notifications"]
    assert (big.rows, big.kind) == (40, "estimate")
    assert big.bytes is not None
    assert big.bytes > 0
