"""`tocsin serve`'s process set-up: workers need Redis; the open-file limit is raised."""

from __future__ import annotations

import re
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests._server import free_port
from tests.conftest import ServerFactory


def test_the_embedded_backend_refuses_more_than_one_worker(tmp_path: Path) -> None:
    env = {"TOCSIN_DATABASE_URL": f"sqlite:///{tmp_path / 'tocsin.db'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "tocsin.cli", "serve", "--workers", "2", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--workers 2 needs TOCSIN_REDIS_URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_raises_the_open_file_limit_and_says_how_many_streams_fit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    script = (
        "import logging, resource; logging.basicConfig(level=logging.INFO);"
        "from tocsin.serve import raise_open_files; streams = raise_open_files();"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], streams)"
    )

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=low_limit,
    )
    assert done.returncode == 0, done.stderr
    soft, streams = (int(n) for n in done.stdout.split())
    if hard != resource.RLIM_INFINITY:
        assert soft == hard
    assert soft > 256
    assert streams == soft - 64
    assert f"room for about {streams} open streams" in done.stderr


def _request(sock: socket.socket) -> bytes:
    """`GET /healthz` on an open connection; the whole response (its length given)."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: tocsin\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


async def test_an_idle_keep_alive_connection_stays_open_as_long_as_configured(
    make_server: ServerFactory,
) -> None:
    """Closed by tocsin only after `TOCSIN_KEEP_ALIVE_SECONDS` idle (75 by default, above
    nginx's 60 s upstream keepalive_timeout: the proxy closes first). Here 1 s: the
    connection answers a second request at once, and is closed within a few seconds
    once idle."""
    srv = make_server({"TOCSIN_KEEP_ALIVE_SECONDS": "1"})
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        assert _request(sock).startswith(b"HTTP/1.1 200")
        assert _request(sock).startswith(b"HTTP/1.1 200"), "kept alive"
        sock.settimeout(10)
        began = time.monotonic()
        leftover = b""
        while chunk := sock.recv(4096):  # b"": closed by the server
            leftover += chunk
        idle = time.monotonic() - began
    assert b"HTTP/1.1" not in leftover
    assert 0.5 < idle < 5, idle
