"""Admin sign-in: argon2 password hashes, a signed session cookie, CSRF tokens.

The session is a JWT in the `tocsin_admin` cookie (HttpOnly, SameSite=Strict,
path `/admin`), signed with a key derived from `TOCSIN_SECRET_KEY` so that it
can never pass for a vendor token. Every visitor of the login page gets an
anonymous session first: its `csrf` claim is the token the login form must
send back (OWASP's synchronizer token, kept in the signed cookie). Signing in
issues a new session with a new CSRF token; a new password (`tocsin
create-admin` again) voids every older session.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import getpass
import hashlib
import hmac
import secrets
import sys
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request
from starlette.responses import Response

from tocsin.errors import ValidationFailed
from tocsin.http._html import secure_cookies
from tocsin.settings import Settings
from tocsin.storage import migrate
from tocsin.storage.store import Store

COOKIE = "tocsin_admin"
COOKIE_PATH = "/admin"
SESSION_TTL = 8 * 3600  # s
CSRF_FIELD = "csrf_token"
USERNAME_MAX = 64
PASSWORD_MIN = 8
# Failed sign-ins per client address before it waits (`THROTTLE_WINDOW` s).
THROTTLE_FAILURES = 10
THROTTLE_WINDOW = 300.0

_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class Session:
    username: str | None
    csrf: str
    since_ms: int

    @property
    def signed_in(self) -> bool:
        return self.username is not None


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.secret_key.encode(), b"tocsin admin session", hashlib.sha256).digest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def new_session(settings: Settings, username: str | None) -> tuple[Session, str]:
    """A fresh session and its cookie value."""
    now = time.time()
    session = Session(username, secrets.token_urlsafe(32), int(now * 1000))
    claims = {
        "typ": "admin",
        "sub": username or "",
        "csrf": session.csrf,
        "since_ms": session.since_ms,
        "iat": int(now),
        "exp": int(now) + SESSION_TTL,
    }
    return session, jwt.encode(claims, _key(settings), algorithm="HS256")


def read_session(settings: Settings, request: Request) -> Session | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        claims = jwt.decode(
            raw, _key(settings), algorithms=["HS256"], options={"require": ["exp", "csrf"]}
        )
    except jwt.InvalidTokenError:
        return None
    if claims.get("typ") != "admin" or not isinstance(claims.get("csrf"), str):
        return None
    username = claims.get("sub") or None
    return Session(username, claims["csrf"], int(claims.get("since_ms", 0)))


def set_cookie(response: Response, value: str, request: Request) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=SESSION_TTL,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def csrf_ok(session: Session | None, sent: object) -> bool:
    return (
        session is not None
        and isinstance(sent, str)
        and bool(sent)
        and hmac.compare_digest(session.csrf.encode(), sent.encode())
    )


async def still_valid(store: Store, session: Session) -> bool:
    """The admin still exists and has not changed its password since the session began."""
    if session.username is None:
        return False
    admin = await store.get_admin(session.username)
    return admin is not None and session.since_ms >= int(admin["password_changed_at"])


async def check_password(store: Store, username: str, password: str) -> bool:
    """Whether `password` is `username`'s; as slow for unknown names as for known ones."""
    admin = await store.get_admin(username)
    stored = admin["password_hash"] if admin else _decoy_hash()
    try:
        await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if admin is None:
        return False
    if _hasher.check_needs_rehash(stored):
        await store.rehash_admin(username, await asyncio.to_thread(_hasher.hash, password))
    return True


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


# -- `tocsin create-admin` ------------------------------------------------------------


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat it: ") != first:
            raise ValidationFailed("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def _save(settings: Settings, username: str, password_hash: str) -> bool:
    should_migrate = settings.migrate_on_start
    if should_migrate is None:
        should_migrate = settings.database_url.startswith("sqlite")
    if should_migrate:
        await asyncio.to_thread(migrate.upgrade, settings.database_url)
    store = Store(settings.database_url)
    await store.connect()
    try:
        return await store.save_admin(username, password_hash)
    finally:
        await store.disconnect()


def create_admin(settings: Settings, username: str) -> int:
    """Create an admin, or set a new password; the password comes from a prompt or stdin."""
    if not 1 <= len(username) <= USERNAME_MAX or not username.isprintable():
        raise ValidationFailed(f"the username must have 1 to {USERNAME_MAX} printable characters")
    password = _read_password()
    if len(password) < PASSWORD_MIN:
        raise ValidationFailed(f"the password must have at least {PASSWORD_MIN} characters")
    created = asyncio.run(_save(settings, username, hash_password(password)))
    print(f"admin {username!r} {'created' if created else 'has a new password'}")
    return 0
