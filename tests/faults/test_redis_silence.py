"""Redis connections dropped without a word, as a NAT or a load balancer forgets an idle
flow: no error ever comes, and no message. The live reader notices by PING."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from tests.conftest import ServerFactory, mint_token, redis_backend_only
from tests.stream._helpers import publish
from tests.stream._sse import Stream


@dataclass(eq=False)
class _Flow:
    writers: tuple[asyncio.StreamWriter, asyncio.StreamWriter]
    silenced: bool = False
    open: bool = True
    subscriber: bool = False  # it carried a SUBSCRIBE or an SSUBSCRIBE


class Blackhole:
    """A TCP proxy in a thread of its own; `silence()` stops every connection open now
    from passing anything either way, telling neither side. New connections pass."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.host, self.target_port = parts.hostname or "127.0.0.1", parts.port or 6379
        self.path = parts.path
        self._flows: list[_Flow] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}{self.path}"

    def start(self) -> Blackhole:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def silence(self) -> int:
        """Silence the connections open now; how many of them carry subscriptions."""
        return asyncio.run_coroutine_threadsafe(self._silence(), self._loop).result(10)

    async def _silence(self) -> int:
        for flow in self._flows:
            flow.silenced = True
        return sum(1 for f in self._flows if f.open and f.subscriber)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        sock: socket.socket = self._server.sockets[0]
        self.port = sock.getsockname()[1]

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for flow in self._flows:
            for writer in flow.writers:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.close()
            return
        flow = _Flow((writer, up_writer))
        self._flows.append(flow)
        await asyncio.gather(
            self._pipe(reader, up_writer, flow, upstream=True), self._pipe(up_reader, writer, flow)
        )

    @staticmethod
    async def _pipe(
        src: asyncio.StreamReader, dst: asyncio.StreamWriter, flow: _Flow, *, upstream: bool = False
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await src.read(65536):
                if upstream and b"SUBSCRIBE" in data.upper():
                    flow.subscriber = True
                if not flow.silenced:  # silenced: dropped on the floor
                    dst.write(data)
                    await dst.drain()
        flow.open = False
        if not flow.silenced:
            dst.close()


@pytest.fixture
def blackhole(redis_url: str) -> Iterator[Blackhole]:
    proxy = Blackhole(redis_url).start()
    yield proxy
    proxy.stop()


@redis_backend_only
async def test_a_subscription_dropped_without_a_word_is_noticed_and_renewed(
    make_server: ServerFactory, blackhole: Blackhole, vendor: str
) -> None:
    server = make_server({"TOCSIN_REDIS_URL": blackhole.url})
    token = mint_token(server.url, vendor)
    async with Stream(server.url, token) as stream:
        before = await publish(server.url, vendor, "before the silence")
        assert (await stream.next(timeout=15)).data["notification"] == before
        # The subscription and the pool's connections: none will hear another word.
        assert blackhole.silence() == 1, "one subscribing connection"
        after = await publish(server.url, vendor, "after the silence")
        # The reader pings a connection idle for 5 s and gives up on it 10 s later,
        # subscribes on a new one and reads what it missed by id.
        live = await asyncio.wait_for(stream.next(timeout=40), 40)  # heartbeats or not
        assert live.data["notification"] == after
