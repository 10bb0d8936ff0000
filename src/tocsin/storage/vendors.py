"""SQL of vendors (table `vendors`): event sequence numbers, contact addresses, settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tocsin._ids import now_ms
from tocsin.model import VendorSettings
from tocsin.storage import _raw
from tocsin.storage.db import Database

# On the publish path: text, not compiled anew on each call (see `storage.notifications`).
_NEXT_SEQ = (
    "INSERT INTO vendors (id, seq, created_at) VALUES (:vendor_id, 1, :now) "
    "ON CONFLICT (id) DO UPDATE SET seq = vendors.seq + 1 RETURNING seq"
)

Contact = tuple[str | None, str | None]

# The settings' columns; NULL in one is the default of `VendorSettings`.
SETTING_COLUMNS = ("locale", "timezone", "quiet_start", "quiet_end", "digest_hour")
_DEFAULT = VendorSettings()


def _settings(row: Mapping[str, Any]) -> VendorSettings:
    start, end = row["quiet_start"], row["quiet_end"]
    return VendorSettings(
        locale=row["locale"] or _DEFAULT.locale,
        timezone=row["timezone"] or _DEFAULT.timezone,
        quiet_hours=(start, end) if start and end else None,
        digest_hour=_DEFAULT.digest_hour if row["digest_hour"] is None else row["digest_hour"],
    )


class VendorStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def next_seq(self, vendor_id: str) -> int:
        """Lock the vendor's row (creating it) and take its next event sequence number."""
        value = await self.db.value(_NEXT_SEQ, {"vendor_id": vendor_id, "now": now_ms()})
        return int(value)

    async def ensure(self, vendor_id: str) -> None:
        """Create the vendor's row if there is none (no sequence number is taken)."""
        await self.db.run(
            "INSERT INTO vendors (id, seq, created_at) VALUES (:vendor_id, 0, :now) "
            "ON CONFLICT (id) DO NOTHING",
            {"vendor_id": vendor_id, "now": now_ms()},
        )

    async def set_contact(self, vendor_id: str, email: str | None, phone: str | None) -> None:
        await self.db.execute(
            "INSERT INTO vendors (id, email, phone, seq, created_at) "
            "VALUES (:vendor_id, :email, :phone, 0, :now) "
            "ON CONFLICT (id) DO UPDATE SET email = :email, phone = :phone",
            {"vendor_id": vendor_id, "email": email, "phone": phone, "now": now_ms()},
        )

    async def _rows(self, columns: Sequence[str], vendor_ids: Sequence[str]) -> Sequence[Any]:
        """`columns` of the vendors of `vendor_ids` that have a row (SQL text: the publish path)."""
        if not vendor_ids:
            return []
        where, params = _raw.among("id", "v", vendor_ids)
        return await self.db.rows(f"SELECT {', '.join(columns)} FROM vendors WHERE {where}", params)

    async def contacts(self, vendor_ids: Sequence[str]) -> dict[str, Contact]:
        """`vendor → (email, phone)` for the vendors that have a row."""
        rows = await self._rows(("id", "email", "phone"), vendor_ids)
        return {r[0]: (r[1], r[2]) for r in rows}

    async def profiles(
        self, vendor_ids: Sequence[str]
    ) -> dict[str, tuple[Contact, VendorSettings]]:
        """`vendor → ((email, phone), settings)` for every vendor, in one query."""
        out: dict[str, tuple[Contact, VendorSettings]] = {
            v: ((None, None), _DEFAULT) for v in vendor_ids
        }
        for r in await self._rows(("id", "email", "phone", *SETTING_COLUMNS), vendor_ids):
            out[r[0]] = ((r[1], r[2]), _settings(r))
        return out

    async def settings(self, vendor_ids: Sequence[str]) -> dict[str, VendorSettings]:
        """Every vendor's settings (the defaults for one without a row)."""
        out = {v: _DEFAULT for v in vendor_ids}
        for r in await self._rows(("id", *SETTING_COLUMNS), vendor_ids):
            out[r[0]] = _settings(r)
        return out

    async def settings_locked(self, vendor_id: str) -> VendorSettings:
        """The vendor's settings, inside the caller's transaction, with its row share-locked
        until that ends (PostgreSQL; on SQLite a writing transaction excludes every other):
        a change of its settings either waits for the caller's commit or is seen by it."""
        lock = " FOR SHARE" if self.db.dialect == "postgresql" else ""
        row = await self.db.row(
            f"SELECT {', '.join(SETTING_COLUMNS)} FROM vendors WHERE id = :v{lock}",
            {"v": vendor_id},
        )
        return _DEFAULT if row is None else _settings(row)

    async def set_settings(self, vendor_id: str, values: Mapping[str, Any]) -> None:
        """Set the given setting columns (`SETTING_COLUMNS`), leaving the others as they are."""
        unknown = set(values) - set(SETTING_COLUMNS)
        if unknown:
            raise ValueError(f"not a settings column: {sorted(unknown)}")
        if not values:
            return
        names = list(values)
        await self.db.execute(
            f"INSERT INTO vendors (id, seq, created_at, {', '.join(names)}) "
            f"VALUES (:vendor_id, 0, :now, {', '.join(':' + n for n in names)}) "
            f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{n} = :{n}' for n in names)}",
            {"vendor_id": vendor_id, "now": now_ms(), **values},
        )
