"""tocsin's own access log, from a live server: tokens in URLs never reach it."""

from __future__ import annotations

import httpx

from tests.conftest import ServerFactory, mint_token


async def test_token_redaction_bypassed_by_percent_encoding_server_log(
    make_server: ServerFactory, vendor: str
) -> None:
    srv = make_server({"TOCSIN_LOG_LEVEL": "info"})
    token = mint_token(srv.url, vendor, ttl=600)
    async with httpx.AsyncClient(base_url=srv.url) as client:
        r = await client.get(f"/api/v1/stream/poll?access_%74oken={token}")
        assert r.status_code == 200, r.text  # the server does read it as a token
        await client.get(f"/dashboard/login?%74oken={token}")
        await client.get(f"/api/v1/stream/poll?access_token={token}")
    srv.stop()  # flushes the log
    log = srv.log_path.read_text(errors="replace")
    assert "/api/v1/stream/poll?access_%74oken=[redacted]" in log
    assert "/dashboard/login?%74oken=[redacted]" in log
    assert token not in log
    assert token.split(".")[2] not in log
