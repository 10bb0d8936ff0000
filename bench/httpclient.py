"""A minimal keep-alive HTTP/1.1 client for publishing, minting and polling.

One request at a time per connection; a `ClientPool` spreads concurrent calls
over a few connections. Kept tiny so the generator spends its CPU on the
measurement, not on a client library.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HTTPError(Exception):
    pass


def build_request(
    method: str,
    host: str,
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return head + body if body is not None else head


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=2**24)

    async def send(self, raw: bytes) -> Response:
        """Send one pre-built request; reconnect once if the server closed an idle socket."""
        for attempt in (0, 1):
            if self.writer is None or self.writer.is_closing():
                await self._connect()
            assert self.reader is not None
            assert self.writer is not None
            try:
                self.writer.write(raw)
                return await self._read()
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _read(self) -> Response:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        else:
            body = await self.reader.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class ClientPool:
    """`size` keep-alive connections to one server, used one request at a time each."""

    def __init__(self, host: str, port: int, size: int = 8) -> None:
        self.host = host
        self.port = port
        self._idle: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(Connection(host, port))
        self._all = list(self._idle._queue)  # type: ignore[attr-defined]

    async def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        raw = build_request(method, self.host, self.port, path, headers, body)
        return await self.send(raw)

    async def send(self, raw: bytes) -> Response:
        conn = await self._idle.get()
        try:
            return await conn.send(raw)
        except BaseException:
            conn.close()
            raise
        finally:
            self._idle.put_nowait(conn)

    async def json(self, method: str, path: str, payload: Any, headers: dict[str, str]) -> Response:
        body = json.dumps(payload).encode()
        hdrs = {"Content-Type": "application/json", **headers}
        return await self.request(method, path, hdrs, body)

    def close(self) -> None:
        for conn in self._all:
            conn.close()
