"""The README's curl examples work exactly as written (against a live embedded server)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests._server import Server

README = Path(__file__).resolve().parent.parent / "README.md"


def _example() -> str:
    text = README.read_text()
    marker = text.index("<!-- readme-example")
    block = re.search(r"```sh\n(.*?)```", text[marker:], re.DOTALL)
    assert block is not None
    return block.group(1)


def test_readme_curl_examples_run_as_written(tmp_path: Path) -> None:
    # The README's own set-up: embedded mode, no API keys configured.
    server = Server(
        {"TOCSIN_DATABASE_URL": f"sqlite:///{tmp_path / 'tocsin.db'}", "TOCSIN_API_KEYS": ""},
        tmp_path / "server.log",
    ).start()
    try:
        script = _example().replace("http://127.0.0.1:8000", server.url)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert '"title":"New order #1042"' in out  # created, listed and polled
    assert out.count('"title":"New order #1042"') >= 3
    assert '{"updated":1}' in out
    assert "event: new_notification" in out
    assert "event: notification_update" in out
