"""The raw ceiling: a bare uvloop server with no framework.

It speaks the part of tocsin's HTTP contract the benchmark uses (tokens,
publish, SSE stream with `Last-Event-ID` replay, poll) with no auth, storage
or durability: the token is the vendor id, and events live in a per-vendor
list in memory. A publish encodes the frame once and writes the same bytes to
every open transport of the vendor from one loop — the least work any design
on this stack can do per delivery.

    python -m bench.baselines.raw_server --port 8121
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import cast
from urllib.parse import parse_qs, unquote, urlsplit

from bench import payload
from bench.limits import raise_nofile

WRITE_BUFFER_LIMIT = 1 << 20  # bytes queued for one slow stream before it is dropped
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache\r\nx-accel-buffering: no\r\ntransfer-encoding: chunked\r\n\r\n"
)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class State:
    def __init__(self) -> None:
        self.subscribers: defaultdict[str, set[asyncio.Transport]] = defaultdict(set)
        self.log: defaultdict[str, list[bytes]] = defaultdict(list)  # frame per id, id = index+1
        self.data: defaultdict[str, list[bytes]] = defaultdict(list)
        self.unread: defaultdict[str, int] = defaultdict(int)

    def publish(self, vendor: str, fields: dict[str, object]) -> dict[str, object]:
        note = payload.notification(os.urandom(8).hex(), vendor, fields)
        self.unread[vendor] += 1
        data = payload.event_data(note, self.unread[vendor])
        log = self.log[vendor]
        frame = payload.sse_frame(str(len(log) + 1), data)
        log.append(frame)
        self.data[vendor].append(data)
        chunk = _chunk(frame)
        dead = []
        for transport in self.subscribers[vendor]:
            if transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
                dead.append(transport)
            else:
                transport.write(chunk)
        for transport in dead:
            transport.abort()
        return note


def _response(status: str, body: bytes, ctype: bytes = b"application/json") -> bytes:
    return b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s" % (
        status.encode(),
        ctype,
        len(body),
        body,
    )


def _after(raw: str | None, default: int = 0) -> int:
    try:
        return max(0, int(raw)) if raw else default
    except ValueError:
        return default


class HTTPProtocol(asyncio.Protocol):
    def __init__(self, state: State) -> None:
        self.state = state
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.vendor: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.vendor is not None and self.transport is not None:
            self.state.subscribers[self.vendor].discard(self.transport)

    def data_received(self, data: bytes) -> None:
        if self.vendor is not None:
            return  # a stream: the client says nothing more
        self.buf += data
        while self.vendor is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            method, target = lines[0].split(" ")[:2]
            self.handle(method, target, headers, body)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        assert self.transport is not None
        url = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        auth = headers.get("authorization", "")
        vendor = query.get("access_token") or auth.removeprefix("Bearer ").strip()
        parts = url.path.strip("/").split("/")
        if method == "GET" and url.path == "/api/v1/stream":
            resume = headers.get("last-event-id") or query.get("last_event_id")
            self.stream(vendor, _after(resume, len(self.state.log[vendor])))
        elif method == "POST" and len(parts) == 5 and parts[4] == "notifications":
            note = self.state.publish(unquote(parts[3]), json.loads(body))
            self.transport.write(_response("201 Created", json.dumps(note).encode()))
        elif method == "GET" and url.path == "/api/v1/stream/poll":
            self.poll(vendor, _after(query.get("after")), int(query.get("limit", "100")))
        elif method == "POST" and url.path == "/api/v1/tokens":
            req = json.loads(body)
            expires = datetime.now(UTC) + timedelta(seconds=int(req.get("ttl", 3600)))
            answer = {"token": req["vendor_id"], "expires_at": expires.isoformat()}
            self.transport.write(_response("201 Created", json.dumps(answer).encode()))
        elif url.path == "/healthz":
            self.transport.write(_response("200 OK", b'{"status":"ok"}'))
        else:
            self.transport.write(_response("404 Not Found", b'{"detail":"not found"}'))

    def stream(self, vendor: str, after: int) -> None:
        """Replay what came after `after` (the log's end when no id was given), then live."""
        assert self.transport is not None
        self.vendor = vendor
        self.transport.write(STREAM_HEAD + _chunk(b"retry: 3000\n\n"))
        for frame in self.state.log[vendor][after:]:
            self.transport.write(_chunk(frame))
        self.state.subscribers[vendor].add(self.transport)

    def poll(self, vendor: str, after: int, limit: int) -> None:
        assert self.transport is not None
        data = self.state.data[vendor][after : after + max(1, min(limit, 1000))]
        events = b",".join(
            b'{"id":"%d","event":"new_notification","data":%s}' % (after + i + 1, d)
            for i, d in enumerate(data)
        )
        last = after + len(data)
        body = b'{"events":[%s],"last_id":"%d","reset":false}' % (events, last)
        self.transport.write(_response("200 OK", body))


async def serve(host: str, port: int) -> None:
    state = State()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HTTPProtocol(state), host, port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8121)
    args = parser.parse_args()
    raise_nofile()
    import uvloop

    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
