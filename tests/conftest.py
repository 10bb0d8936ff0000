"""Fixtures that start real servers: PostgreSQL, Redis, SQLite files and tocsin itself.

Tests run against both backends: `sqlite` (the embedded mode: SQLite file,
event log in SQL, one process) and `postgres` (PostgreSQL + Redis Streams, the
production set-up). The stream contract suite adds `cluster` (PostgreSQL + a
Redis Cluster of 3 masters and 3 replicas). A missing PostgreSQL, Redis or
Redis Cluster is an error, never a skip: `scripts/test` starts them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from tests._server import API_KEY, SECRET, Server
from tocsin.storage import migrate
from tocsin.storage.stores import Stores

PG_ADMIN = os.environ.get("TOCSIN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("TOCSIN_TEST_REDIS", "redis://127.0.0.1:6379")
# Two test sessions at once (two checkouts) keep apart by database number.
REDIS_DB = int(os.environ.get("TOCSIN_TEST_REDIS_DB", "15"))
REDIS_CLUSTER = os.environ.get("TOCSIN_TEST_REDIS_CLUSTER", "redis://127.0.0.1:7000")
BACKENDS = ("sqlite", "postgres")


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def _pg(name: str) -> str:
    return f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"


class PgDatabases:
    """Fresh PostgreSQL databases, cloned from one migrated template (fast)."""

    def __init__(self) -> None:
        self.template = f"tocsin_tpl_{os.getpid()}"
        self.made: list[str] = []

    def setup(self) -> None:
        _admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{self.template}"')
        migrate.upgrade(_pg(self.template))

    def new(self) -> str:
        name = f"tocsin_t{os.getpid()}_{len(self.made)}"
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.made.append(name)
        return _pg(name)

    def drop_all(self) -> None:
        for name in [*self.made, self.template]:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    dbs = PgDatabases()
    try:
        dbs.setup()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN}: run scripts/test ({exc})")
    yield dbs
    dbs.drop_all()


@pytest.fixture(params=["sqlite", "postgres"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases
) -> AsyncIterator[Stores]:
    """Every store over a fresh, migrated database of each backend, connected."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'stores.db'}"
        migrate.upgrade(url)
    else:
        url = pg_databases.new()
    s = Stores(url)
    await s.connect()
    yield s
    await s.disconnect()


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (not migrated) of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"tocsin_fresh_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _pg(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url(pg_databases: PgDatabases) -> str:
    """A fresh, migrated PostgreSQL database for the session's shared servers."""
    return pg_databases.new()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database number of its own, emptied at the start of the session."""
    url = f"{REDIS_BASE}/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_BASE}: run scripts/test ({exc})")
    finally:
        client.close()
    return url


@pytest.fixture(scope="session")
def redis_cluster_url() -> str:
    """The test Redis Cluster (`scripts/services` starts it); tests keep apart by key prefix."""
    client = redis.Redis.from_url(REDIS_CLUSTER)
    try:
        info = client.execute_command("CLUSTER", "INFO")
    except (redis.ConnectionError, redis.ResponseError) as exc:
        pytest.fail(f"no Redis Cluster at {REDIS_CLUSTER}: run scripts/services ({exc})")
    finally:
        client.close()
    text = info.decode() if isinstance(info, bytes) else str(info)
    if "cluster_state:ok" not in text:
        pytest.fail(f"the Redis Cluster at {REDIS_CLUSTER} is not ok: run scripts/services")
    return REDIS_CLUSTER


def backend_env(
    backend: str, tmp: Path, pg_url: str, redis_url: str, prefix: str | None = None
) -> dict[str, str]:
    """The environment of a server on `backend`; `redis_url` is the cluster's for `cluster`."""
    if backend == "sqlite":
        return {"TOCSIN_DATABASE_URL": f"sqlite:///{tmp / 'tocsin.db'}"}
    return {
        "TOCSIN_DATABASE_URL": pg_url,
        "TOCSIN_REDIS_URL": redis_url,
        "TOCSIN_REDIS_PREFIX": prefix or f"t{uuid.uuid4().hex[:8]}",
    }


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# For tests of what only the Redis backend has (Redis connections, an outage, several processes).
redis_backend_only = pytest.mark.parametrize(
    "backend", ["postgres"], indirect=True, scope="session"
)


def _backend_redis(request: pytest.FixtureRequest, backend: str, redis_url: str) -> str:
    return request.getfixturevalue("redis_cluster_url") if backend == "cluster" else redis_url


@pytest.fixture(scope="session")
def server(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    pg_url: str,
    redis_url: str,
) -> Iterator[Server]:
    """One tocsin per backend for the session; tests keep apart by vendor id."""
    tmp = tmp_path_factory.mktemp(f"server-{backend}")
    env = backend_env(backend, tmp, pg_url, _backend_redis(request, backend, redis_url))
    env["TOCSIN_HEARTBEAT_SECONDS"] = "2"
    # The fan-out tests hold hundreds of one vendor's streams on this server; the
    # cap has tests of its own (tests/stream/test_limits.py).
    env["TOCSIN_MAX_STREAMS_PER_VENDOR"] = "1000"
    srv = Server(env, tmp / "server.log").start()
    yield srv
    srv.stop()


ServerFactory = Callable[..., Server]


@pytest.fixture
def make_server(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path: Path,
    pg_databases: PgDatabases,
    redis_url: str,
) -> Iterator[ServerFactory]:
    """Start servers of the current backend with settings of the test's own.

    The servers of one test share a database (SQLite file, or a PostgreSQL
    database of their own) and a Redis key prefix, and nothing else.
    """
    started: list[Server] = []
    prefix = f"t{uuid.uuid4().hex[:8]}"
    pg_url = pg_databases.new() if backend != "sqlite" else ""
    redis_url = _backend_redis(request, backend, redis_url)

    def make(
        env: dict[str, str] | None = None, port: int | None = None, args: Sequence[str] = ()
    ) -> Server:
        full = backend_env(backend, tmp_path, pg_url, redis_url, prefix)
        full.update(env or {})
        srv = Server(full, tmp_path / f"server-{len(started)}.log", port=port, args=args)
        started.append(srv)
        return srv.start()

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def vendor() -> str:
    return f"v-{uuid.uuid4().hex[:12]}"


def mint_token(base_url: str, vendor_id: str, ttl: int = 3600) -> str:
    r = httpx.post(
        base_url + "/api/v1/tokens",
        json={"vendor_id": vendor_id, "ttl": ttl},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


@pytest.fixture
async def publisher(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    """A client authenticated with the publisher API key."""
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
    ) as client:
        yield client


@pytest.fixture
async def as_vendor(server: Server, vendor: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client authenticated as `vendor` with a bearer token."""
    token = mint_token(server.url, vendor)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as client:
        yield client


__all__ = ["API_KEY", "SECRET"]
