"""SQL of bulk jobs (table `bulk_jobs`): a large bulk change, its progress and its lease."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from tocsin._ids import now_ms
from tocsin.model import BulkJob, ListFilter
from tocsin.storage.db import Database

RUNNING = "running"
DONE = "done"
FAILED = "failed"


def _dump(f: ListFilter) -> str:
    return json.dumps(dataclasses.asdict(f), separators=(",", ":"))


def _load(text: str) -> ListFilter:
    raw = json.loads(text)
    raw["types"] = tuple(raw.get("types") or ())
    raw["priorities"] = tuple(raw.get("priorities") or ())
    return ListFilter(**raw)


def _decode(row: Mapping[str, Any]) -> BulkJob:
    return BulkJob(
        id=row["id"],
        vendor_id=row["vendor_id"],
        action=row["action"],
        filter=_load(row["filter"]),
        status=row["status"],
        cursor=row["cursor"],
        changed=int(row["changed"]),
        error=row["error"],
        created_at=int(row["created_at"]),
        updated_at=int(row["updated_at"]),
        finished_at=None if row["finished_at"] is None else int(row["finished_at"]),
    )


class BulkJobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, job_id: str, vendor_id: str, action: str, f: ListFilter) -> BulkJob:
        """A new running job; its first chunk takes ids below `job_id` (minted now)."""
        now = now_ms()
        await self.db.run(
            "INSERT INTO bulk_jobs (id, vendor_id, action, filter, status, cursor, changed, "
            "created_at, updated_at) VALUES (:id, :vendor_id, :action, :filter, :status, "
            ":id, 0, :now, :now)",
            {
                "id": job_id,
                "vendor_id": vendor_id,
                "action": action,
                "filter": _dump(f),
                "status": RUNNING,
                "now": now,
            },
        )
        job = await self.get(vendor_id, job_id)
        assert job is not None
        return job

    async def get(self, vendor_id: str, job_id: str) -> BulkJob | None:
        row = await self.db.row(
            "SELECT * FROM bulk_jobs WHERE id = :id AND vendor_id = :vendor_id",
            {"id": job_id, "vendor_id": vendor_id},
        )
        return None if row is None else _decode(row)

    async def claim(self, lease_ms: int) -> BulkJob | None:
        """Take the oldest running job no live runner holds, for `lease_ms`."""
        now = now_ms()
        async with self.db.transaction():
            row = await self.db.row(
                "SELECT * FROM bulk_jobs WHERE status = :running AND "
                "(lease_until IS NULL OR lease_until < :now) ORDER BY id LIMIT 1",
                {"running": RUNNING, "now": now},
            )
            if row is None:
                return None
            taken = await self.db.value(
                "UPDATE bulk_jobs SET lease_until = :until WHERE id = :id AND "
                "(lease_until IS NULL OR lease_until < :now) RETURNING id",
                {"id": row["id"], "until": now + lease_ms, "now": now},
            )
        return _decode(row) if taken is not None else None

    async def advance(self, job_id: str, cursor: str, changed: int, lease_ms: int) -> None:
        """Record a chunk done (inside the chunk's transaction) and extend the lease."""
        now = now_ms()
        await self.db.run(
            "UPDATE bulk_jobs SET cursor = :cursor, changed = changed + :changed, "
            "updated_at = :now, lease_until = :until WHERE id = :id",
            {
                "id": job_id,
                "cursor": cursor,
                "changed": changed,
                "now": now,
                "until": now + lease_ms,
            },
        )

    async def finish(self, job_id: str, error: str | None = None) -> None:
        now = now_ms()
        await self.db.run(
            "UPDATE bulk_jobs SET status = :status, error = :error, lease_until = NULL, "
            "updated_at = :now, finished_at = :now WHERE id = :id",
            {"id": job_id, "status": DONE if error is None else FAILED, "error": error, "now": now},
        )

    async def release(self, job_id: str) -> None:
        """Give a running job up (shutting down): another runner may take it at once."""
        await self.db.run(
            "UPDATE bulk_jobs SET lease_until = NULL WHERE id = :id AND status = :running",
            {"id": job_id, "running": RUNNING},
        )

    async def running(self, vendor_id: str) -> int:
        value = await self.db.value(
            "SELECT count(*) FROM bulk_jobs WHERE vendor_id = :vendor_id AND status = :running",
            {"vendor_id": vendor_id, "running": RUNNING},
        )
        return int(value or 0)
