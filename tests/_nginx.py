"""A real nginx in front of a test server, started from the repository's config."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from tests._server import free_port

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "nginx" / "tocsin.conf"


def site_config(upstream_port: int, listen_port: int, text: str | None = None) -> str:
    """`nginx/tocsin.conf` (or `text`) pointed at a test upstream and port."""
    text = CONFIG.read_text() if text is None else text
    text = text.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};")
    return text.replace("listen 80;", f"listen 127.0.0.1:{listen_port};")


def with_logs(site: str, access: Path, error: Path) -> str:
    site = site.replace("/var/log/nginx/tocsin.access.log", str(access))
    return site.replace("/var/log/nginx/tocsin.error.log", str(error))


class Nginx:
    def __init__(self, site: str, tmp: Path, port: int) -> None:
        self.tmp = tmp
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise RuntimeError("nginx is not installed: run scripts/test, which installs it")
        self.binary = binary
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp / sub).mkdir(parents=True, exist_ok=True)
        self.access_log = tmp / "tocsin.access.log"
        self.error_log = tmp / "tocsin.error.log"
        (tmp / "site.conf").write_text(with_logs(site, self.access_log, self.error_log))
        user = "user root;\n" if os.geteuid() == 0 else ""
        (tmp / "nginx.conf").write_text(
            f"""{user}daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
"""
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> Nginx:
        with (self.tmp / "stderr.log").open("wb") as stderr:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.tmp / "nginx.conf"), "-p", str(self.tmp)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: " + (self.tmp / "stderr.log").read_text())
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def run_nginx(upstream_port: int, tmp: Path, site_text: str | None = None) -> Nginx:
    """Start nginx with `nginx/tocsin.conf` (or `site_text`) in front of `upstream_port`."""
    port = free_port()
    return Nginx(site_config(upstream_port, port, site_text), tmp, port).start()
