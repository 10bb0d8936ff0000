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

    def count_logged(self, needle: bytes) -> int:
        """How often `needle` appears in what the server logged during this run."""
        with self.log_path.open("rb") as f:
            f.seek(self.log_offset)
            return f.read().count(needle)

    def errors_logged(self) -> int:
        """Python tracebacks the server wrote to its log during this run."""
        return self.count_logged(b"Traceback (most recent call last)")

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


def _cpu(proc: psutil.Process) -> float | None:
    try:
        times = proc.cpu_times()
    except psutil.NoSuchProcess:
        return None
    return float(times.user + times.system)


def _busy_seconds() -> float:
    """CPU seconds all processes of the machine used (user and system time).

    Interrupt and steal time are left out: no process is charged for them, so
    they would show up as unrelated load where there is none.
    """
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system)


@dataclass
class Phase:
    """CPU use over one phase, in % of one core, per watched group and `other`."""

    started: float = field(default_factory=time.monotonic)
    start_cpu: dict[str, dict[int, float]] = field(default_factory=dict)
    start_busy: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


class Monitor:
    """Watches groups of processes: the server, Redis, PostgreSQL, the generator.

    Whatever else kept the machine busy during a phase is reported as `other`,
    so a run disturbed by unrelated load says so.
    """

    def __init__(self) -> None:
        self.groups: dict[str, list[psutil.Process]] = {}
        self.by_name: dict[str, str] = {}  # group -> process name, re-scanned each phase

    def watch(self, group: str, pids: list[int]) -> None:
        procs = []
        for pid in pids:
            try:
                proc = psutil.Process(pid)
                procs.append(proc)
                procs.extend(proc.children(recursive=True))
            except psutil.NoSuchProcess:
                continue
        self.groups[group] = procs

    def watch_name(self, group: str, name: str) -> None:
        self.by_name[group] = name
        self._rescan()

    def _rescan(self) -> None:
        if not self.by_name:
            return
        found: dict[str, list[psutil.Process]] = {g: [] for g in self.by_name}
        wanted = {name: group for group, name in self.by_name.items()}
        for proc in psutil.process_iter(["name"]):
            group = wanted.get(proc.info["name"])
            if group is not None:
                found[group].append(proc)
        self.groups.update(found)

    def _snapshot(self) -> dict[str, dict[int, float]]:
        snap: dict[str, dict[int, float]] = {}
        for group, procs in self.groups.items():
            snap[group] = {}
            for proc in procs:
                cpu = _cpu(proc)
                if cpu is not None:
                    snap[group][proc.pid] = cpu
        return snap

    def begin(self) -> Phase:
        self._rescan()
        phase = Phase()
        phase.start_cpu = self._snapshot()
        phase.start_busy = _busy_seconds()
        return phase

    def end(self, phase: Phase) -> Phase:
        phase.seconds = max(1e-9, time.monotonic() - phase.started)
        busy = _busy_seconds() - phase.start_busy
        self._rescan()
        now = self._snapshot()
        used = {}
        for group, cpus in now.items():
            before = phase.start_cpu.get(group, {})
            used[group] = sum(cpu - before.get(pid, 0.0) for pid, cpu in cpus.items())
        used["other"] = max(0.0, busy - sum(used.values()))
        phase.cpu = {group: round(100 * sec / phase.seconds, 1) for group, sec in used.items()}
        return phase
