"""Server processes under test, and their resource use measured with psutil."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.httpclient import Connection, build_request


class ServerProcess:
    """One server started as a subprocess, ready once `ready_path` answers 200."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        port: int,
        log_path: Path,
        ready_path: str = "/healthz",
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.port = port
        self.log_path = log_path
        self.ready_path = ready_path
        self.popen: subprocess.Popen[bytes] | None = None
        self.log_offset = 0

    async def start(self, timeout: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.log_offset = log.tell()
        self.popen = subprocess.Popen(
            self.argv,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        raw = build_request("GET", "127.0.0.1", self.port, self.ready_path)
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.popen.returncode}; see {self.log_path}"
                )
            conn = Connection("127.0.0.1", self.port)
            try:
                if (await conn.send(raw)).status == 200:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout} s; see {self.log_path}")

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def processes(self) -> list[psutil.Process]:
        root = psutil.Process(self.pid)
        return [root, *root.children(recursive=True)]

    def errors_logged(self) -> int:
        """Python tracebacks the server wrote to its log during this run."""
        with self.log_path.open("rb") as f:
            f.seek(self.log_offset)
            return f.read().count(b"Traceback (most recent call last)")

    def rss(self) -> int:
        return sum(p.memory_info().rss for p in self.processes())

    async def stop(self, grace: float = 10.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and self.popen.poll() is None:
            await asyncio.sleep(0.1)
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


@dataclass
class Phase:
    """CPU use of each watched group over one phase, in % of one core."""

    started: float = field(default_factory=time.monotonic)
    start_cpu: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


class Monitor:
    """Watches named groups of processes: the server, Redis, the generator."""

    def __init__(self) -> None:
        self.groups: dict[str, list[psutil.Process]] = {}

    def watch(self, name: str, pids: list[int]) -> None:
        procs = []
        for pid in pids:
            try:
                proc = psutil.Process(pid)
                procs.append(proc)
                procs.extend(proc.children(recursive=True))
            except psutil.NoSuchProcess:
                continue
        self.groups[name] = procs

    def begin(self) -> Phase:
        phase = Phase()
        phase.start_cpu = {name: cpu_seconds(procs) for name, procs in self.groups.items()}
        return phase

    def end(self, phase: Phase) -> Phase:
        phase.seconds = max(1e-9, time.monotonic() - phase.started)
        phase.cpu = {
            name: round(
                100 * (cpu_seconds(procs) - phase.start_cpu.get(name, 0.0)) / phase.seconds, 1
            )
            for name, procs in self.groups.items()
        }
        return phase
