"""Dashboard sign-in and sign-out tokens: another site can make a browser do neither.

A page on another site could send a browser to `/dashboard/login?token=<its
own token>` (login CSRF: the victim then works in the attacker's dashboard) or
post to `/dashboard/logout`. So the link only shows a confirmation page, and
signing in is that page's POST with a CSRF token bound to a pre-login nonce
that the page puts in a cookie of its own (OWASP's answer to login CSRF: a
pre-session). The cookie signs nobody in, and another site can neither read
the page's token nor set the cookie. Signing out needs a token derived from
the signed-in cookie, which only the dashboard's own pages show.

Tokens are HMACs keyed by `TOCSIN_SECRET_KEY` (through a key of their own, so
they never pass for anything else); the nonce carries its expiry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from starlette.requests import Request
from starlette.responses import Response

from tocsin.http import _html, auth
from tocsin.settings import Settings

LOGIN_COOKIE = "tocsin_login"
LOGIN_COOKIE_PATH = "/dashboard/login"
LOGIN_TTL = 600  # s: from the link to the click on "Continue"
CSRF_FIELD = "csrf_token"


def _mac(settings: Settings, *parts: str) -> str:
    key = hmac.new(settings.secret_key.encode(), b"tocsin dashboard csrf", hashlib.sha256).digest()
    return hmac.new(key, "\n".join(parts).encode(), hashlib.sha256).hexdigest()


def _same(expected: str, sent: object) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(expected.encode(), sent.encode())


def _live_nonce(request: Request) -> str | None:
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    expires, _, rest = nonce.partition(".")
    if not (rest and expires.isascii() and expires.isdigit()):
        return None
    return nonce if int(expires) > time.time() else None


def login_nonce(request: Request) -> tuple[str, bool]:
    """The browser's pre-login nonce, and whether it is new (to be set as a cookie).

    A live one is kept, so two sign-in links open in two tabs both work.
    """
    nonce = _live_nonce(request)
    if nonce is not None:
        return nonce, False
    return f"{int(time.time()) + LOGIN_TTL}.{secrets.token_urlsafe(24)}", True


def login_csrf(settings: Settings, nonce: str, token: str) -> str:
    return _mac(settings, "login", nonce, token)


def login_ok(settings: Settings, request: Request, token: str, sent: object) -> bool:
    """The confirmation page's post: `sent` matches this browser's live nonce and `token`."""
    nonce = _live_nonce(request)
    return nonce is not None and _same(login_csrf(settings, nonce, token), sent)


def set_login_cookie(response: Response, nonce: str, request: Request) -> None:
    _html.set_cookie(
        response,
        request,
        LOGIN_COOKIE,
        nonce,
        max_age=LOGIN_TTL,
        path=LOGIN_COOKIE_PATH,
        samesite="strict",
    )


def clear_login_cookie(response: Response) -> None:
    _html.clear_cookie(response, LOGIN_COOKIE, path=LOGIN_COOKIE_PATH, samesite="strict")


def logout_csrf(settings: Settings, request: Request) -> str:
    """The sign-out form's token: bound to the signed-in cookie ("" without one)."""
    cookie = request.cookies.get(auth.COOKIE)
    return _mac(settings, "logout", cookie) if cookie else ""


def logout_ok(settings: Settings, request: Request, sent: object) -> bool:
    expected = logout_csrf(settings, request)
    return bool(expected) and _same(expected, sent)
