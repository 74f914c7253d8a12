"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, and the API.

``api`` is the real ASGI application (routing, auth, validation, serialisation) driven
over HTTP semantics with a manual clock; tests/e2e also drive a real server process.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from ombuds.bootstrap import create_app
from ombuds.settings import Settings
from tests.databases import PostgresDatabases, SqliteDatabases, require_postgres
from tests.factories import Marketplace

# A Monday, so business-day arithmetic in tests is easy to follow.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MARKETPLACE_KEY = "test-marketplace-key"


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_databases():
    dbs = PostgresDatabases(require_postgres())
    yield dbs
    dbs.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(request, backend):
    dbs = request.getfixturevalue(f"{backend}_databases")
    url = dbs.create()
    yield url
    dbs.drop(url)


@pytest.fixture
def sqlite_url(sqlite_databases):
    url = sqlite_databases.create()
    yield url
    sqlite_databases.drop(url)


@pytest.fixture
def postgres_url(postgres_databases):
    url = postgres_databases.create()
    yield url
    postgres_databases.drop(url)


def settings_for(url: str, **overrides) -> Settings:
    return Settings(database_url=url, clock="manual", clock_start=T0, marketplace_key=MARKETPLACE_KEY,
                    worker_in_process=False, policy_file=None, **overrides)


@pytest.fixture
def client(database_url):
    with TestClient(create_app(settings_for(database_url)), raise_server_exceptions=True) as c:
        yield c


@pytest.fixture
def market(client) -> Marketplace:
    """The marketplace, its people and their orders, driven through the HTTP API."""
    return Marketplace(client, MARKETPLACE_KEY)
