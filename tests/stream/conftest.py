"""The stream contract runs on a third backend too: `cluster` (PostgreSQL + Redis Cluster)."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS


@pytest.fixture(scope="session", params=(*BACKENDS, "cluster"))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
