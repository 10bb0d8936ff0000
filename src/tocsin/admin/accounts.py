"""Admin accounts: argon2 password hashes, the password check, sessions, the sign-in throttle.

A signed-in session is recorded server-side (by the sha256 of its id) until
it is signed out or expires, so a signed-out cookie stops working at once; a
new password (`tocsin create-admin` again) voids every session begun before
it. The HTTP side of a session (cookie, CSRF) is `tocsin.http.adminauth`'s.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import hashlib
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tocsin.errors import ValidationFailed
from tocsin.storage.admins import AdminStore

USERNAME_MAX = 64
PASSWORD_MIN = 8
# Failed sign-ins per client address before it waits (`THROTTLE_WINDOW` s).
THROTTLE_FAILURES = 10
THROTTLE_WINDOW = 300.0

_hasher = PasswordHasher()


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _possible(username: str) -> bool:
    return 1 <= len(username) <= USERNAME_MAX and username.isprintable()


def check_username(username: str) -> None:
    if not _possible(username):
        raise ValidationFailed(f"the username must have 1 to {USERNAME_MAX} printable characters")


def check_new_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise ValidationFailed(f"the password must have at least {PASSWORD_MIN} characters")


class AdminAccounts:
    def __init__(self, admins: AdminStore) -> None:
        self.admins = admins

    async def check_password(self, username: str, password: str) -> bool:
        """Whether `password` is `username`'s; as slow for unknown names as for known ones.

        A hash made with weaker parameters than today's is replaced (rehashed).
        """
        # A name no admin can have (a NUL byte, which PostgreSQL cannot even compare) is
        # checked against the decoy, as slowly as any other unknown name.
        admin = await self.admins.get(username) if _possible(username) else None
        stored = admin["password_hash"] if admin else _decoy_hash()
        try:
            await asyncio.to_thread(_hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return False
        if admin is None:
            return False
        if _hasher.check_needs_rehash(stored):
            await self.admins.rehash(username, await asyncio.to_thread(_hasher.hash, password))
        return True

    async def open_session(self, username: str, session_id: str, expires_at_ms: int) -> None:
        await self.admins.add_session(_digest(session_id), username, expires_at_ms)

    async def close_session(self, session_id: str) -> None:
        """Sign the session out: its cookie is refused from now on, wherever it was copied."""
        await self.admins.remove_session(_digest(session_id))

    async def still_valid(self, username: str, since_ms: int, session_id: str) -> bool:
        """The session is open, and its admin exists and kept its password since `since_ms`."""
        admin = await self.admins.get(username)
        return (
            admin is not None
            and since_ms >= int(admin["password_changed_at"])
            and await self.admins.has_session(_digest(session_id), username)
        )

    async def save(self, username: str, password: str) -> bool:
        """Create the admin, or set its new password (voiding its sessions); True if new."""
        check_username(username)
        check_new_password(password)
        return await self.admins.save(username, await asyncio.to_thread(hash_password, password))


class Throttle:
    """Failed sign-ins per client address in a sliding window (this process only)."""

    def __init__(self, limit: int = THROTTLE_FAILURES, window: float = THROTTLE_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, collections.deque[float]] = {}

    def _recent(self, client: str) -> collections.deque[float]:
        now = time.monotonic()
        failures = self._failures.setdefault(client, collections.deque())
        while failures and failures[0] < now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[client]
        return failures

    def blocked(self, client: str) -> bool:
        return len(self._recent(client)) >= self.limit

    def failed(self, client: str) -> None:
        self._failures.setdefault(client, collections.deque()).append(time.monotonic())

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
