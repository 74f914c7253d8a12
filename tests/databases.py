"""Fresh databases for tests: one migrated template per session, copied per test.

SQLite always runs. PostgreSQL runs when ``OMBUDS_TEST_DATABASE_URL`` points at a server
(an admin connection, e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``); in CI
(``CI=true``) it is required, and a PostgreSQL test that cannot connect fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from ombuds.store.migrate import upgrade

PG_ADMIN_URL = os.environ.get("OMBUDS_TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_conninfo(url: str, dbname: str | None = None) -> str:
    u = make_url(url)
    if dbname:
        u = u.set(database=dbname)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def require_postgres() -> str:
    """The admin URL, or skip (fail in CI) when PostgreSQL is not there."""
    problem = None
    if not PG_ADMIN_URL:
        problem = "PostgreSQL not configured (set OMBUDS_TEST_DATABASE_URL)"
    else:
        try:
            psycopg.connect(_pg_conninfo(PG_ADMIN_URL), connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            problem = f"cannot connect to PostgreSQL at {PG_ADMIN_URL}: {exc}"
    if problem:
        if IN_CI:
            pytest.fail(f"CI requires PostgreSQL: {problem}")
        pytest.skip(problem)
    return PG_ADMIN_URL


class SqliteDatabases:
    def __init__(self, root: Path):
        self.root = root
        self.template = root / "template.db"
        upgrade(f"sqlite:///{self.template}")

    def create(self) -> str:
        path = self.root / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


class PostgresDatabases:
    def __init__(self, admin_url: str):
        self.admin = _pg_conninfo(admin_url)
        self.template = f"ombuds_tpl_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.template}"')
        upgrade(_pg_conninfo(admin_url, self.template))

    def create(self) -> str:
        name = f"ombuds_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return _pg_conninfo(self.admin, name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
