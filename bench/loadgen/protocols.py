"""Lean stream clients over raw sockets: one small object per connection.

A delivery is recognised by the publish timestamp the harness puts in every
payload (`"t": <time.monotonic_ns() at send>`); the receiver subtracts it from
its own `time.monotonic_ns()` on arrival. On Linux that clock is system-wide,
so the figure spans processes. Nothing is JSON-decoded on the hot path.
"""

from __future__ import annotations

import asyncio
import os
import re
import struct
import time
from array import array
from base64 import b64encode
from typing import cast

T_RE = re.compile(rb'"t": ?(\d+)')
ID_RE = re.compile(rb"(?m)^id: ?([^\r\n]*)")
_HEAD_END = b"\r\n\r\n"


class Sink:
    """Shared by every connection of a process: latencies and counters."""

    __slots__ = ("delivered", "last_ns", "latencies")

    def __init__(self) -> None:
        self.latencies = array("q")
        self.delivered = 0
        self.last_ns = 0  # monotonic time of the latest delivery

    def reset(self) -> None:
        self.latencies = array("q")
        self.delivered = 0
        self.last_ns = 0


class StreamClient(asyncio.Protocol):
    """Base: sends one request, waits for the status line, then counts deliveries."""

    expected_status = b"200"

    def __init__(self, request: bytes, sink: Sink, track_ids: bool = False) -> None:
        self.request = request
        self.sink = sink
        self.track_ids = track_ids
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.closed = False
        self.head = b""
        self.buf = b""
        self.events = 0
        self.last_id: bytes | None = None
        self.ids: list[bytes] = []
        self.status = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_result(False)

    def data_received(self, data: bytes) -> None:
        if self.ready.done():
            self.body_received(data)
            return
        self.head += data
        end = self.head.find(_HEAD_END)
        if end < 0:
            return
        head, rest = self.head[:end], self.head[end + 4 :]
        self.head = b""
        self.status = head[9:12]
        ok = self.status == self.expected_status
        self.ready.set_result(ok)
        if not ok:
            self.close()
        elif rest:
            self.body_received(rest)

    def body_received(self, data: bytes) -> None:
        raise NotImplementedError

    def record(self, chunk: bytes) -> None:
        now = time.monotonic_ns()
        stamps = T_RE.findall(chunk)
        if stamps:
            lat = self.sink.latencies
            for stamp in stamps:
                lat.append(now - int(stamp))
            self.events += len(stamps)
            self.sink.delivered += len(stamps)
            self.sink.last_ns = now
        if self.track_ids:
            found = ID_RE.findall(chunk)
            if found:
                self.ids.extend(found)
                self.last_id = found[-1]

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()
        self.closed = True


class SSEClient(StreamClient):
    """Server-Sent Events over HTTP/1.1, chunked or not.

    Frames end with a blank line (`\\n\\n` or `\\r\\n\\r\\n`); chunk-size lines
    between frames are harmless to the search, so only whole frames are read.
    """

    def body_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        lf, crlf = buf.rfind(b"\n\n"), buf.rfind(b"\n\r\n")
        end = max(lf + 2 if lf >= 0 else 0, crlf + 3 if crlf >= 0 else 0)
        if not end:
            self.buf = buf
            return
        self.buf = buf[end:]
        self.record(buf[:end])


class WSClient(StreamClient):
    """RFC 6455 client: reads unmasked server frames, answers pings."""

    expected_status = b"101"

    def body_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                (length,) = struct.unpack_from("!H", buf, pos + 2)
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                (length,) = struct.unpack_from("!Q", buf, pos + 2)
                head = 10
            if size - pos < head + length:
                break
            payload = buf[pos + head : pos + head + length]
            pos += head + length
            opcode = b0 & 0x0F
            if opcode in (0x1, 0x0, 0x2):
                self.record(payload)
            elif opcode == 0x9:
                self.send_frame(0xA, payload)
            elif opcode == 0x8:
                self.close()
                return
        self.buf = buf[pos:]

    def send_frame(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.closed:
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)


def ws_request(host: str, port: int, path: str) -> bytes:
    key = b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n\r\n"
    ).encode()


def sse_request(host: str, port: int, path: str, headers: dict[str, str] | None = None) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
        f"Cache-Control: no-cache\r\n{extra}\r\n"
    ).encode()


CLIENTS: dict[str, type[StreamClient]] = {"sse": SSEClient, "ws": WSClient}
