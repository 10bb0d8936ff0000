"""Admin sessions: a signed session cookie and CSRF tokens (passwords: `tocsin.admin.accounts`).

The session is a JWT in the `tocsin_admin` cookie (HttpOnly, SameSite=Strict,
path `/admin`), signed with a key derived from `TOCSIN_SECRET_KEY` so that it
can never pass for a vendor token. Every visitor of the login page gets an
anonymous session first: its `csrf` claim is the token the login form must
send back (OWASP's synchronizer token, kept in the signed cookie). Signing in
issues a new session with a new CSRF token and a session id (`sid`) that the
database records until signing out, so a copied cookie dies with the session;
a new password (`tocsin create-admin` again) voids every older session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import jwt
from starlette.requests import Request
from starlette.responses import Response

from tocsin.admin.accounts import AdminAccounts
from tocsin.http import _html
from tocsin.settings import Settings

COOKIE = "tocsin_admin"
COOKIE_PATH = "/admin"
SESSION_TTL = 8 * 3600  # s
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class Session:
    username: str | None
    csrf: str
    since_ms: int
    # Recorded server-side while signed in (`AdminAccounts.open_session`).
    id: str = ""

    @property
    def signed_in(self) -> bool:
        return self.username is not None


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.secret_key.encode(), b"tocsin admin session", hashlib.sha256).digest()


def new_session(settings: Settings, username: str | None) -> tuple[Session, str]:
    """A fresh session and its cookie value."""
    now = time.time()
    session_id = secrets.token_urlsafe(32) if username else ""
    session = Session(username, secrets.token_urlsafe(32), int(now * 1000), session_id)
    claims = {
        "typ": "admin",
        "sub": username or "",
        "sid": session_id,
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
    session_id = claims.get("sid")
    return Session(
        username,
        claims["csrf"],
        int(claims.get("since_ms", 0)),
        session_id if isinstance(session_id, str) else "",
    )


def set_cookie(response: Response, value: str, request: Request) -> None:
    _html.set_cookie(
        response,
        request,
        COOKIE,
        value,
        max_age=SESSION_TTL,
        path=COOKIE_PATH,
        samesite="strict",
    )


def clear_cookie(response: Response) -> None:
    _html.clear_cookie(response, COOKIE, path=COOKIE_PATH, samesite="strict")


def csrf_ok(session: Session | None, sent: object) -> bool:
    return (
        session is not None
        and isinstance(sent, str)
        and bool(sent)
        and hmac.compare_digest(session.csrf.encode(), sent.encode())
    )


async def still_valid(accounts: AdminAccounts, session: Session) -> bool:
    """The session was not signed out, and its admin still exists with the same password."""
    if session.username is None or not session.id:
        return False
    return await accounts.still_valid(session.username, session.since_ms, session.id)
