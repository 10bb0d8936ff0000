"""Who is calling: publishers (API keys) and vendors (signed tokens).

Vendor tokens are JWTs (HS256) with `sub` = vendor id, `exp`, `iat` and
`typ` = "vendor". A request presents one as `Authorization: Bearer`, the
`tocsin_token` cookie, or — because `EventSource` cannot set headers — the
`access_token` query parameter, which only accepts short-lived tokens.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
import sqlalchemy as sa
from starlette.requests import HTTPConnection

from tocsin._ids import now_ms
from tocsin.errors import Forbidden, Unauthorized, ValidationFailed
from tocsin.fields import VENDOR_ID
from tocsin.settings import Settings
from tocsin.storage.schema import api_keys
from tocsin.storage.store import Store

COOKIE = "tocsin_token"
QUERY = "access_token"
ALGORITHM = "HS256"
# A token in a URL can leak through history and logs: the query form only
# takes tokens that live at most this long (seconds).
QUERY_TOKEN_MAX_TTL = 3600


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


def _decode_vendor(settings: Settings, token: str, *, max_ttl: int | None) -> Vendor:
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
    vendor = _decode_vendor(settings, token, max_ttl=None)
    claims = jwt.decode(token, options={"verify_signature": False})
    return vendor, int(claims["exp"])


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization")
    if header is None:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthorized("use 'Authorization: Bearer <token>'")
    return credentials.strip()


def _looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2


class Authenticator:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._env_keys = [hash_key(k) for k in settings.publisher_keys]

    async def _is_api_key(self, credential: str) -> bool:
        digest = hash_key(credential)
        if any(hmac.compare_digest(digest, known) for known in self._env_keys):
            return True
        row = await self.store.db.fetch_one(
            sa.select(api_keys.c.name).where(api_keys.c.key_hash == digest)
        )
        return row is not None

    async def publisher(self, conn: HTTPConnection) -> Publisher:
        credential = _bearer(conn)
        if credential is None:
            raise Unauthorized("this endpoint needs a publisher API key (Authorization: Bearer)")
        if _looks_like_jwt(credential):
            _decode_vendor(self.settings, credential, max_ttl=None)
            raise Forbidden("a vendor token cannot call a publisher endpoint")
        if not await self._is_api_key(credential):
            raise Unauthorized("unknown API key")
        return Publisher("api-key")

    async def vendor(self, conn: HTTPConnection, *, allow_query: bool = False) -> Vendor:
        credential = _bearer(conn)
        if credential is not None:
            if not _looks_like_jwt(credential):
                if await self._is_api_key(credential):
                    raise Forbidden("a publisher key cannot call a vendor endpoint")
                raise Unauthorized("the token is not valid")
            return _decode_vendor(self.settings, credential, max_ttl=None)
        cookie = conn.cookies.get(COOKIE)
        if cookie:
            return _decode_vendor(self.settings, cookie, max_ttl=None)
        query = conn.query_params.get(QUERY)
        if query and allow_query:
            return _decode_vendor(self.settings, query, max_ttl=QUERY_TOKEN_MAX_TTL)
        raise Unauthorized(
            "this endpoint needs a vendor token (Authorization: Bearer, "
            f"the {COOKIE} cookie, or ?{QUERY}= on the stream)"
        )
