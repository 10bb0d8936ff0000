"""Who is calling: publishers (API keys) and vendors (signed tokens).

Vendor tokens are JWTs (HS256) with `sub` = vendor id, `exp`, `iat` and
`typ` = "vendor". Publisher API keys come from `TOCSIN_API_KEYS` or the
`api_keys` table, compared by SHA-256 digest. Where a request carries its
credential is `tocsin.http.auth`'s business.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from tocsin._ids import now_ms
from tocsin.errors import Forbidden, Unauthorized, ValidationFailed
from tocsin.fields import VENDOR_ID
from tocsin.settings import Settings

ALGORITHM = "HS256"
_CACHE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Vendor:
    id: str
    expires_at: int | None = None  # the token's `exp` (s since the epoch): a stream ends then


@dataclass(frozen=True, slots=True)
class Publisher:
    name: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def mint(settings: Settings, vendor_id: str, ttl: int) -> tuple[str, datetime]:
    """A vendor token living `ttl` seconds, and when it expires."""
    if not VENDOR_ID.match(vendor_id):
        raise ValidationFailed(
            "vendor_id must match ^[A-Za-z0-9_.-]{1,64}$",
            errors=[{"field": "vendor_id", "message": "invalid vendor id"}],
        )
    issued = now_ms() // 1000
    expires = issued + ttl
    claims = {"sub": vendor_id, "iat": issued, "exp": expires, "typ": "vendor"}
    token = jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)
    return token, datetime.fromtimestamp(expires, UTC)


def decode_vendor(settings: Settings, token: str, *, max_ttl: int | None = None) -> Vendor:
    """The vendor a token names; `Unauthorized` unless valid (and living at most `max_ttl` s)."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("the token is not valid") from None
    vendor_id = claims.get("sub")
    if claims.get("typ") != "vendor" or not isinstance(vendor_id, str):
        raise Unauthorized("the token is not a vendor token")
    if not VENDOR_ID.match(vendor_id):
        raise Unauthorized("the token names an invalid vendor")
    if max_ttl is not None and int(claims["exp"]) - int(claims["iat"]) > max_ttl:
        raise Unauthorized(
            f"a token in the URL must live at most {max_ttl} s: "
            "mint a short-lived one, or use the cookie or the Authorization header"
        )
    return Vendor(vendor_id, int(claims["exp"]))


def verify(settings: Settings, token: str) -> tuple[Vendor, int]:
    """The vendor a token names and when it expires (s since the epoch); else `Unauthorized`."""
    vendor = decode_vendor(settings, token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return vendor, int(claims["exp"])


def _looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2


# How long a database key lookup is trusted (s): a publisher sending a thousand
# requests a second costs one query per key per period, and a key removed from
# the table stops working within it.
STORED_KEY_TTL = 10.0


class Credentials:
    """Checks a bearer credential; `stored_key(digest)` looks an API key up in the database."""

    def __init__(self, settings: Settings, stored_key: Callable[[str], Awaitable[bool]]) -> None:
        self.settings = settings
        self._stored_key = stored_key
        self._env_keys = [hash_key(k) for k in settings.publisher_keys]
        # digest → (known, until when, monotonic s); bounded by `_CACHE_MAX`.
        self._cache: dict[str, tuple[bool, float]] = {}

    async def is_api_key(self, credential: str) -> bool:
        digest = hash_key(credential)
        if any(hmac.compare_digest(digest, known) for known in self._env_keys):
            return True
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        known = await self._stored_key(digest)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        # Unknown keys are remembered briefly too: a flood of bad keys stays off the database.
        self._cache[digest] = (known, now + (STORED_KEY_TTL if known else 1.0))
        return known

    async def publisher(self, credential: str) -> Publisher:
        """The publisher an API key names; a vendor token here is `Forbidden`."""
        if _looks_like_jwt(credential):
            decode_vendor(self.settings, credential)
            raise Forbidden("a vendor token cannot call a publisher endpoint")
        if not await self.is_api_key(credential):
            raise Unauthorized("unknown API key")
        return Publisher("api-key")

    async def vendor(self, credential: str, *, max_ttl: int | None = None) -> Vendor:
        """The vendor a token names; a publisher key here is `Forbidden`."""
        if not _looks_like_jwt(credential):
            if await self.is_api_key(credential):
                raise Forbidden("a publisher key cannot call a vendor endpoint")
            raise Unauthorized("the token is not valid")
        return decode_vendor(self.settings, credential, max_ttl=max_ttl)
