"""Where a push may go: `https` to a public host, or to a host `TOCSIN_PUSH_ALLOW_HOSTS` admits.

A subscription's endpoint is a URL a browser handed us, so it could name any
host, our own network included (SSRF). It is checked when a vendor subscribes
and again, resolved, before every push: each address the name resolves to
must be public (not private, loopback, link-local, shared, reserved or
multicast). The push then connects to the address that was checked, with the
name in `Host` and TLS SNI, so a DNS answer that changes between the check
and the connection (rebinding) cannot send it elsewhere. An allowed host is
trusted as configured, over plain `http` too (a push service on a private
network, or a test's).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

MAX_LENGTH = 2048
_DEFAULT_PORTS = {"https": 443, "http": 80}


class Refused(ValueError):
    """The endpoint may not be pushed to; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where one push goes: `url` to connect to, and the endpoint's own name."""

    url: str
    host: str
    # `scheme://host[:port]`: the VAPID token's audience (RFC 8292 §2).
    origin: str
    # The address was checked and `url` names it: send `Host` and SNI for `host`.
    pinned: bool


def _allowed(parts: SplitResult, allow_hosts: Collection[str]) -> bool:
    host = (parts.hostname or "").lower()
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    allowed = {entry.lower() for entry in allow_hosts}
    return host in allowed or f"{host}:{port}" in allowed


def check(endpoint: str, allow_hosts: Collection[str]) -> tuple[SplitResult, bool]:
    """The endpoint's parts, and whether its host is an allowed one; `Refused` if unusable."""
    if len(endpoint) > MAX_LENGTH:
        raise Refused(f"must be at most {MAX_LENGTH} characters")
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise Refused("is not a URL") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise Refused("must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise Refused("must not carry a user name or password")
    if not parts.hostname.isascii():
        raise Refused("must name its host in ASCII (punycode)")
    allowed = _allowed(parts, allow_hosts)
    if parts.scheme != "https" and not allowed:
        raise Refused("must be an https:// URL")
    return parts, allowed


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def _addresses(host: str, port: int) -> list[str]:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise LookupError(f"{host} could not be resolved ({exc})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve(endpoint: str, allow_hosts: Collection[str]) -> Target:
    """Check `endpoint` and resolve its host; `Refused` if it may not be pushed to.

    `LookupError` when the name does not resolve now (which may pass).
    """
    parts, allowed = check(endpoint, allow_hosts)
    host = parts.hostname or ""
    port = parts.port or _DEFAULT_PORTS[parts.scheme]
    shown = f"[{host}]" if ":" in host else host
    origin = f"{parts.scheme}://{shown}" + (f":{parts.port}" if parts.port else "")
    if allowed:
        return Target(endpoint, host, origin, pinned=False)
    addresses = await _addresses(host, port)
    refused = [a for a in addresses if not _public(a)]
    if refused or not addresses:
        raise Refused(f"names a host that is not public ({', '.join(refused) or host})")
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    url = parts._replace(netloc=f"{literal}:{port}").geturl()
    return Target(url, host, origin, pinned=True)
