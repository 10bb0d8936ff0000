"""Where a request carries its credential; `tocsin.credentials` checks it.

A publisher sends its API key as `Authorization: Bearer`. A vendor presents
its token as `Authorization: Bearer`, the `tocsin_token` cookie, or — because
`EventSource` cannot set headers — the `access_token` query parameter, which
only accepts short-lived tokens.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from tocsin.credentials import Publisher, Vendor, decode_vendor, hash_key
from tocsin.errors import Unauthorized
from tocsin.http._request import runtime

COOKIE = "tocsin_token"
QUERY = "access_token"
# A token in a URL can leak through history and logs: the query form only
# takes tokens that live at most this long (seconds).
QUERY_TOKEN_MAX_TTL = 3600


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization")
    if header is None:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Unauthorized("use 'Authorization: Bearer <token>'")
    return credentials.strip()


async def publisher(conn: HTTPConnection) -> Publisher:
    credential = _bearer(conn)
    if credential is None:
        raise Unauthorized("this endpoint needs a publisher API key (Authorization: Bearer)")
    rt = runtime(conn)
    who = await rt.credentials.publisher(credential)
    if rt.publisher_rate is not None:
        # Counted per key once it is known to be one: unknown keys grow no buckets.
        rt.publisher_rate.take(hash_key(credential), "requests per API key")
    return who


async def vendor(conn: HTTPConnection, *, allow_query: bool = False) -> Vendor:
    rt = runtime(conn)
    credential = _bearer(conn)
    if credential is not None:
        return await rt.credentials.vendor(credential)
    cookie = conn.cookies.get(COOKIE)
    if cookie:
        return decode_vendor(rt.settings, cookie)
    query = conn.query_params.get(QUERY)
    if query and allow_query:
        return decode_vendor(rt.settings, query, max_ttl=QUERY_TOKEN_MAX_TTL)
    raise Unauthorized(
        "this endpoint needs a vendor token (Authorization: Bearer, "
        f"the {COOKIE} cookie, or ?{QUERY}= on the stream)"
    )
