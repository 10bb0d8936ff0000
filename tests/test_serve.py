"""`tocsin serve`'s process set-up: workers need Redis; the open-file limit is raised."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

from tests._server import free_port


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
