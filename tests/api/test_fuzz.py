"""The API fuzzed against its own `/openapi.json` (schemathesis), on both backends.

Every operation gets valid and invalid requests generated from the document;
any 5xx, an undocumented status or content type, or an answer that does not
match its documented schema fails the test. Bounded (`MAX_EXAMPLES` per
operation, about a minute per backend) and derandomized, so a failure
reproduces. The stream endpoints are left out: they hold the connection open
(their contract has tests of its own in `tests/stream/`).
"""

from __future__ import annotations

import json

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests._server import API_KEY, Server
from tests.conftest import mint_token
from tocsin.http import openapi
from tocsin.settings import Settings

MAX_EXAMPLES = 75
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The document as `/openapi.json` serves it with the default settings (checked below),
# loaded at import: schemathesis makes one test per operation of it.
DOCUMENT = openapi.document(Settings().token_max_ttl)


@pytest.fixture
def base_url(server: Server) -> str:
    served = httpx.get(server.url + "/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(DOCUMENT)), "fuzzing what the server serves"
    return server.url


@pytest.fixture
def credentials(server: Server) -> dict[str, str]:
    """`Authorization` headers: the publisher's API key and a vendor's token."""
    return {
        "publisher": f"Bearer {API_KEY}",
        "vendor": f"Bearer {mint_token(server.url, 'fuzz-vendor')}",
    }


schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(path_regex=r"^/api/v1/stream")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_openapi_document(
    case: schemathesis.Case, base_url: str, credentials: dict[str, str]
) -> None:
    security = str(case.operation.definition.raw.get("security", ""))
    role = "publisher" if "apiKey" in security else "vendor"
    headers = {"Authorization": credentials[role]} if security else {}
    case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=10)
