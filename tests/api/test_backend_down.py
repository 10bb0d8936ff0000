"""A backend that cannot be reached answers 503 (retryable), never 500."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from tests._server import API_KEY, Server
from tests.conftest import mint_token


def test_an_unreachable_database_is_503_with_retry_after(tmp_path: Path) -> None:
    db = tmp_path / "tocsin.db"
    server = Server({"TOCSIN_DATABASE_URL": f"sqlite:///{db}"}, tmp_path / "server.log").start()
    try:
        token = mint_token(server.url, "v1")
        # The database file vanishes (a lost volume): SQLite cannot open it any more.
        for path in tmp_path.glob("tocsin.db*"):
            path.unlink()
        db.mkdir()
        create = httpx.post(
            f"{server.url}/api/v1/vendors/v1/notifications",
            json={"type": "order_created", "title": "t"},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        listing = httpx.get(
            f"{server.url}/api/v1/notifications", headers={"Authorization": f"Bearer {token}"}
        )
        ready = httpx.get(f"{server.url}/readyz")
    finally:
        server.stop()
        shutil.rmtree(db, ignore_errors=True)
    for answer in (create, listing):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"]
        assert "Traceback" not in answer.text
    assert ready.status_code == 503
