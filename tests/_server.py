"""A tocsin server in a subprocess, on a free port, for tests that go over real sockets."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

API_KEY = "test-publisher-key"
SECRET = "test-secret-0123456789abcdef0123456789abcdef"


def free_port() -> int:
    """A port nobody listens on: the kernel's pick, or, when a load test alongside
    has used up the ephemeral range, one from below that range."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
        except OSError:
            pass
    for port in random.sample(range(20_000, 32_000), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


class Server:
    """`tocsin serve` as a child process; `url` once it answers `/healthz`."""

    def __init__(
        self, env: dict[str, str], log_path: Path, port: int | None = None, args: Sequence[str] = ()
    ) -> None:
        self.port = port or free_port()
        self.args = list(args)
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Server:
        env = {**os.environ, **self.env}
        env.setdefault("TOCSIN_API_KEYS", API_KEY)
        env.setdefault("TOCSIN_SECRET_KEY", SECRET)
        env.setdefault("TOCSIN_ENV", "test")
        env.setdefault("TOCSIN_LOG_LEVEL", "warning")
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tocsin.cli", "serve", "--port", str(self.port), *self.args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tocsin exited at start-up:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"tocsin did not start in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if hasattr(self, "_log"):
            self._log.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
