"""The notification service: what may change, and the event each change emits.

Every change runs in one transaction that also takes the vendor's next event
sequence number (locking the vendor's row, so a vendor's changes commit in
sequence order), adds what it did to the vendor's kept unread counts
(`storage.counts`) and writes the event to the outbox. A request that changes
nothing rolls back and emits nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tocsin import metrics
from tocsin._ids import NOTIFICATION_ID, new_notification_id, now_ms
from tocsin.errors import NotFound, ValidationFailed
from tocsin.model import BulkJob, ListFilter, Notification
from tocsin.realtime import wire
from tocsin.storage.notifications import Changed, TimeColumn
from tocsin.storage.stores import Stores

# A bulk change touching more ids than this names none in its event: clients refetch.
MAX_IDS_IN_EVENT = 500


@dataclass(frozen=True, slots=True)
class NewNotification:
    type: str
    title: str
    body: str = ""
    data: dict[str, Any] | None = None
    priority: str = "normal"
    link: str | None = None
    dedupe_key: str | None = None

    def same_as(self, n: Notification) -> bool:
        """Whether `n` is what this would store: the same request, sent again."""
        return (n.type, n.title, n.body, n.data, n.priority, n.link) == (
            self.type,
            self.title,
            self.body,
            self.data or {},
            self.priority,
            self.link,
        )


class _Unchanged(Exception):
    """Raised inside a transaction to roll it back: nothing to emit."""

    def __init__(self, result: Any = None) -> None:
        self.result = result


# Bulk actions: (time column, set (now) or cleared, the change their event names).
_ACTIONS: dict[str, tuple[TimeColumn, bool, dict[str, bool]]] = {
    "mark_read": ("read_at", True, {"read": True}),
    "mark_unread": ("read_at", False, {"read": False}),
    "mark_seen": ("seen_at", True, {"seen": True}),
    "archive": ("archived_at", True, {"archived": True}),
    "unarchive": ("archived_at", False, {"archived": False}),
}


# (time column, set or cleared, the change the event names) of an action; `delete` has no column.
def _action(action: str) -> tuple[TimeColumn | None, bool, dict[str, bool]]:
    if action == "delete":
        return None, True, {"deleted": True}
    return _ACTIONS[action]


class NotificationService:
    def __init__(
        self,
        stores: Stores,
        on_commit: Callable[[], None] = lambda: None,
        *,
        sync_limit: int = 5000,
        chunk: int = 2000,
    ) -> None:
        self.stores = stores
        self.notifications = stores.notifications
        self.counts = stores.counts
        self.jobs = stores.bulk_jobs
        self.on_commit = on_commit
        # A change by filter over more rows than `sync_limit` becomes a job of `chunk`-row steps.
        self.sync_limit = sync_limit
        self.chunk = chunk
        # Told of each new job (the runner's wake-up).
        self.on_job: Callable[[], None] = lambda: None

    async def _emit(self, vendor_id: str, seq: int, event: str, payload: dict[str, Any]) -> None:
        await self.stores.outbox.add(vendor_id, seq, event, wire.dumps(payload))

    # -- create ----------------------------------------------------------------

    async def create(
        self, vendor_id: str, new: NewNotification, *, idempotent: bool = False
    ) -> tuple[Notification, bool]:
        """Store a notification and emit `new_notification`; `(notification, created)`.

        With a `dedupe_key` already used by this vendor, the stored notification
        comes back with `created=False` and nothing is written or emitted. An
        `idempotent` key (the `Idempotency-Key` header) promises the same request:
        one reused for another notification is refused (422), as payment APIs do.
        """
        started = now_ms()
        n = Notification(
            id=new_notification_id(),
            vendor_id=vendor_id,
            type=new.type,
            title=new.title,
            body=new.body,
            data=new.data or {},
            priority=new.priority,
            link=new.link,
            created_at=started,
            read_at=None,
            seen_at=None,
            archived_at=None,
            dedupe_key=new.dedupe_key,
        )
        # Inside a caller's transaction (ingest) this may run more than once before it
        # commits (see `GroupCommit.run`): the caller tells `created` once it has.
        nested = self.stores.db.in_transaction
        try:
            # Shares its transaction (and its sync) with concurrent creates.
            await self.stores.writer.run(vendor_id, lambda: self._store_new(n, new, idempotent))
        except _Unchanged as same:
            return same.result, False
        if not nested:
            self.created(1, since=started)
        return n, True

    def created(self, count: int, *, since: int | None = None) -> None:
        """`count` notifications were committed, asked for at `since` (ms): count them,
        time them, and wake the relay."""
        self.on_commit()
        if count:
            metrics.NOTIFICATIONS_CREATED.inc(count)
            if since is not None:
                metrics.REQUEST_LATENCY.observe((now_ms() - since) / 1000)

    async def _store_new(self, n: Notification, new: NewNotification, idempotent: bool) -> None:
        """A create's statements, inside the caller's transaction; `_Unchanged` for a duplicate
        (looked for under the vendor's lock, so two concurrent repeats cannot both create)."""
        seq = await self.stores.vendors.next_seq(n.vendor_id)
        if n.dedupe_key is None and self.stores.dialect == "postgresql":
            # No duplicate to look for: the rest in one round trip. The payload is the
            # one `_emit` writes below, with the total filled in by the database.
            head = wire.dumps({"notification": wire.notification(n), "unread_count": 0})
            assert head.endswith(',"unread_count":0}')
            await self.notifications.create_rest(
                n, seq, wire.NEW_NOTIFICATION, head[: -len("0}")], "}"
            )
            return
        if n.dedupe_key is not None:
            existing = await self.notifications.find_by_dedupe(n.vendor_id, n.dedupe_key)
            if existing is not None:
                if idempotent and not new.same_as(existing):
                    raise ValidationFailed(
                        "this Idempotency-Key was used for a different notification; "
                        "send a new key for a new notification",
                        errors=[{"field": "Idempotency-Key", "message": "reused"}],
                    )
                raise _Unchanged(existing)
        await self.notifications.insert(n)
        unread = await self.counts.add(n.vendor_id, {n.type: 1})
        await self._emit(
            n.vendor_id,
            seq,
            wire.NEW_NOTIFICATION,
            {"notification": wire.notification(n), "unread_count": unread},
        )

    async def import_many(self, vendor_id: str, rows: Sequence[Notification]) -> None:
        """Store `rows` (the vendor's, new ids) in one transaction, with their unread counts.

        For filling a vendor in bulk (`tocsin demo --vendor`): no event is emitted
        and no dedupe key is checked.
        """
        unread: Counter[str] = Counter(
            n.type for n in rows if n.read_at is None and n.archived_at is None
        )
        async with self.stores.transaction():
            await self.stores.vendors.ensure(vendor_id)
            await self.notifications.insert_many(rows)
            await self.counts.add(vendor_id, unread)

    async def emit(self, vendor_id: str, event: str, payload: dict[str, Any]) -> None:
        """Emit a stream event that changes no notification (e.g. `order_status_update`)."""
        async with self.stores.transaction():
            seq = await self.stores.vendors.next_seq(vendor_id)
            await self._emit(vendor_id, seq, event, payload)
        self.on_commit()

    # -- read ------------------------------------------------------------------

    async def get(self, vendor_id: str, notification_id: str) -> Notification:
        n = None
        if NOTIFICATION_ID.match(notification_id):
            n = await self.notifications.get(vendor_id, notification_id)
        if n is None:
            raise NotFound(f"no notification {notification_id!r}")
        return n

    async def page(
        self, vendor_id: str, f: ListFilter, *, cursor: str | None, limit: int
    ) -> tuple[list[Notification], str | None]:
        """One page, newest first, and the cursor of the next page (`None`: last page)."""
        rows = await self.notifications.page(vendor_id, f, before_id=cursor, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (rows[-1].id if more else None)

    async def unread(self, vendor_id: str) -> tuple[int, dict[str, int]]:
        """The kept unread counts: `(total, by type)`."""
        by_type = await self.counts.by_type(vendor_id)
        return sum(by_type.values()), by_type

    async def unread_total(self, vendor_id: str) -> int:
        return await self.counts.total(vendor_id)

    # -- change ----------------------------------------------------------------

    async def change(
        self,
        vendor_id: str,
        action: str,
        *,
        ids: Sequence[str] | None = None,
        f: ListFilter | None = None,
    ) -> list[str]:
        """Apply a bulk `action` to `ids` or to all matching `f`; the ids it changed.

        Emits one `notification_update` for the whole change.
        """
        return await self._apply(vendor_id, [action], ids=ids, f=f)

    async def change_all(
        self, vendor_id: str, action: str, f: ListFilter
    ) -> tuple[int, BulkJob | None]:
        """Apply `action` to every notification matching `f`: `(changed, None)` at once,
        or, over more than `sync_limit` rows, `(0, job)` for a job that does it in chunks.
        """
        column, setting, _ = _action(action)
        # Found before the vendor's lock is taken: a small change then holds it
        # for an update by primary key, not for a scan of the vendor's history.
        ids = await self.notifications.next_chunk(
            vendor_id, column, setting, f, below=None, limit=self.sync_limit + 1
        )
        if len(ids) <= self.sync_limit:
            return len(await self._apply(vendor_id, [action], ids=ids, f=f)), None
        job = await self.jobs.add(new_notification_id(), vendor_id, action, f)
        self.on_job()
        return 0, job

    async def job(self, vendor_id: str, job_id: str) -> BulkJob:
        found = None
        if NOTIFICATION_ID.match(job_id):
            found = await self.jobs.get(vendor_id, job_id)
        if found is None:
            raise NotFound(f"no bulk job {job_id!r}")
        return found

    async def run_chunk(self, job: BulkJob, lease_ms: int, size: int | None = None) -> str | None:
        """Apply the next chunk of `job` (`size` rows, at most `chunk`), newest first; the
        job's new cursor, or None: done.

        The chunk's ids are chosen before the vendor's lock is taken, and the
        change re-checks each row under it, so the lock is held for one
        chunk's update only: creates for the vendor wait that long at most.
        """
        column, setting, change = _action(job.action)
        ids = await self.notifications.next_chunk(
            job.vendor_id,
            column,
            setting,
            job.filter,
            below=job.cursor,
            limit=min(size or self.chunk, self.chunk),
        )
        if not ids:
            await self.jobs.finish(job.id)
            return None
        cursor = min(ids)
        try:
            async with self.stores.transaction():
                seq = await self.stores.vendors.next_seq(job.vendor_id)
                done: Changed
                if column is None:
                    done = await self.notifications.delete(job.vendor_id, ids=ids, f=job.filter)
                else:
                    at = now_ms() if setting else None
                    done = await self.notifications.set_time(
                        job.vendor_id, column, at, ids=ids, f=job.filter
                    )
                if not done.ids:
                    raise _Unchanged()  # changed meanwhile: no event (and no sequence number)
                unread = await self.counts.add(job.vendor_id, done.unread)
                await self._emit(
                    job.vendor_id,
                    seq,
                    wire.NOTIFICATION_UPDATE,
                    {"ids": None, "changes": change, "unread_count": unread},
                )
                await self.jobs.advance(job.id, cursor, len(done.ids), lease_ms)
        except _Unchanged:
            await self.jobs.advance(job.id, cursor, 0, lease_ms)
            return cursor
        self.on_commit()
        return cursor

    async def _apply(
        self,
        vendor_id: str,
        actions: Sequence[str],
        *,
        ids: Sequence[str] | None,
        f: ListFilter | None = None,
    ) -> list[str]:
        """Apply `actions` in one transaction, with one event naming what changed."""
        if ids is not None:
            ids = [i for i in dict.fromkeys(ids) if NOTIFICATION_ID.match(i)]
            if not ids:
                return []
        try:
            async with self.stores.transaction():
                seq = await self.stores.vendors.next_seq(vendor_id)
                changed: list[str] = []
                changes: dict[str, bool] = {}
                unread_delta: Counter[str] = Counter()
                for action in actions:
                    if action == "delete":
                        done = await self.notifications.delete(vendor_id, ids=ids, f=f)
                        change = {"deleted": True}
                    else:
                        column, on, change = _ACTIONS[action]
                        done = await self.notifications.set_time(
                            vendor_id, column, now_ms() if on else None, ids=ids, f=f
                        )
                    if done.ids:
                        changed = list(dict.fromkeys([*changed, *done.ids]))
                        changes.update(change)
                        unread_delta.update(done.unread)
                if not changed:
                    raise _Unchanged([])
                unread = await self.counts.add(vendor_id, unread_delta)
                await self._emit(
                    vendor_id,
                    seq,
                    wire.NOTIFICATION_UPDATE,
                    {
                        "ids": changed if len(changed) <= MAX_IDS_IN_EVENT else None,
                        "changes": changes,
                        "unread_count": unread,
                    },
                )
        except _Unchanged:
            return []
        self.on_commit()
        return changed

    async def seen(self, vendor_id: str, ids: Sequence[str]) -> list[str]:
        """Mark `ids` seen (a live tab displayed them); the ids that were not seen yet.

        Emits `notification_update` with `changes: {seen: true}`; a Web Push
        waiting out its grace for one of them is then skipped.
        """
        return await self._apply(vendor_id, ["mark_seen"], ids=ids)

    async def patch(
        self, vendor_id: str, notification_id: str, *, read: bool | None, archived: bool | None
    ) -> Notification:
        await self.get(vendor_id, notification_id)
        actions = []
        if read is not None:
            actions.append("mark_read" if read else "mark_unread")
        if archived is not None:
            actions.append("archive" if archived else "unarchive")
        if actions:
            await self._apply(vendor_id, actions, ids=[notification_id])
        return await self.get(vendor_id, notification_id)

    async def delete(self, vendor_id: str, notification_id: str) -> None:
        if not await self.change(vendor_id, "delete", ids=[notification_id]):
            raise NotFound(f"no notification {notification_id!r}")
