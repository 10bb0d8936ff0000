"""`tocsin serve`: one process, or `--workers N` processes on one port.

With `--workers N` a small supervisor starts N copies of `tocsin serve`, each
binding the port itself with `SO_REUSEPORT` (Linux): the kernel spreads new
connections over the processes, and each has its own hub, its own event-log
reader and its own relay, as separate `tocsin serve` processes behind nginx
would. A stream lives in one process; events reach every process through the
log (Redis), so the embedded backend, whose log lives in one process, refuses
more than one. SIGTERM or SIGINT to the supervisor stops every worker (each
closes its streams at once); a worker that dies is started again.

Every stream is an open file: `tocsin serve` raises its soft limit on open
files to the hard limit and logs how many streams that leaves room for.
"""

from __future__ import annotations

import gc
import logging
import resource
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

from tocsin import _protocol
from tocsin.errors import ConfigError
from tocsin.settings import Settings

log = logging.getLogger("tocsin")

# Files a process holds besides its streams: database and Redis pools, the listening socket, logs.
RESERVED_FILES = 64
# A worker that exits this soon after it started failed to start (a port in use, a bad setting).
START_GRACE_SECONDS = 5.0
STOP_SECONDS = 10.0
# How long uvicorn waits for requests to finish after SIGTERM before it cancels them;
# open streams end at once (`handle_exit` below), so this is only a backstop.
GRACEFUL_SHUTDOWN_SECONDS = 5


def raise_open_files() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; the streams that leaves room for."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if hard == resource.RLIM_INFINITY:
        try:
            with open("/proc/sys/fs/nr_open") as f:
                target = int(f.read())
        except (OSError, ValueError):
            target = 1 << 20
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.info("open files: soft limit raised from %d to %d", soft, target)
            soft = target
        except (OSError, ValueError) as exc:
            log.warning("open files: could not raise the limit of %d: %s", soft, exc)
    streams = max(0, soft - RESERVED_FILES)
    log.info("open files: limit %d, room for about %d open streams in this process", soft, streams)
    return streams


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` with `SO_REUSEPORT`, for one of several processes."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise ConfigError("--workers needs SO_REUSEPORT (Linux); run one process per port instead")
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def serve(settings: Settings, host: str, port: int, *, reuse_port: bool = False) -> None:
    """Run one tocsin web process until SIGTERM or SIGINT."""
    import uvicorn

    from tocsin.app import create_app, install_log_redaction

    install_log_redaction()
    raise_open_files()
    app = create_app(settings)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            # What start-up made (modules, templates, pools: most of the heap) lives
            # as long as the process: out of the collector's sight, a full collection
            # scans only what came after, and its pause, a stall of every stream,
            # stays short (100 ms at 1,000 publishes/s before, 17 ms after).
            gc.collect()
            gc.freeze()

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # Open streams and long-polls end now, not after the graceful timeout:
            # uvicorn waits for connections before the app's own shutdown runs.
            super().handle_exit(sig, frame)
            rt = getattr(app.state, "tocsin", None)
            if rt is not None:
                rt.close_streams_soon()

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        timeout_keep_alive=int(settings.keep_alive_seconds),
        http=_protocol.http_protocol(),
        backlog=4096,
    )
    server = Server(config)
    if reuse_port:
        server.run(sockets=[reuse_port_socket(host, port)])
    else:
        server.run()


def check_workers(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    if workers > 1 and settings.embedded:
        raise ConfigError(
            f"--workers {workers} needs TOCSIN_REDIS_URL: the embedded event log "
            "lives in one process, so events would not reach the streams of the others. "
            "Set TOCSIN_REDIS_URL (and a PostgreSQL TOCSIN_DATABASE_URL), or serve one process."
        )


class Supervisor:
    """Runs `workers` copies of `tocsin serve --reuse-port` and stops them together."""

    def __init__(self, host: str, port: int, workers: int) -> None:
        self.argv = [
            sys.executable,
            "-m",
            "tocsin.cli",
            "serve",
            "--host",
            host,
            "--port",
            str(port),
            "--reuse-port",
        ]
        self.workers = workers
        self.procs: list[subprocess.Popen[bytes]] = []
        self.started: list[float] = []
        self.stopping = False

    def _spawn(self, index: int) -> None:
        proc = subprocess.Popen(self.argv)  # noqa: S603 (our own interpreter and arguments)
        if index < len(self.procs):
            self.procs[index], self.started[index] = proc, time.monotonic()
        else:
            self.procs.append(proc)
            self.started.append(time.monotonic())
        log.info("worker %d started (pid %d)", index, proc.pid)

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        for index in range(self.workers):
            self._spawn(index)
        failed = 0
        while not self.stopping:
            time.sleep(0.2)
            for index, proc in enumerate(self.procs):
                code = proc.poll()
                if code is None or self.stopping:
                    continue
                if time.monotonic() - self.started[index] < START_GRACE_SECONDS:
                    log.error("worker %d exited at start-up (%d): stopping", index, code)
                    failed = code or 1
                    self.stopping = True
                    break
                log.error(
                    "worker %d (pid %d) exited (%d): starting it again", index, proc.pid, code
                )
                self._spawn(index)
        self._terminate()
        return failed

    def _terminate(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for proc in self.procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker pid %d did not stop in %.0f s: killed", proc.pid, STOP_SECONDS)
                proc.kill()
                proc.wait()
