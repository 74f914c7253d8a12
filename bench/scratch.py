"""Scratch databases on the local PostgreSQL: created for one benchmark, always dropped.

The server is named by ``OMBUDS_BENCH_DATABASE_URL`` or, as for the tests,
``OMBUDS_TEST_DATABASE_URL`` (an admin connection); the default is the local server with
trust auth. Benchmarks send load, so any host but the loopback is refused.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def admin_url() -> str:
    url = (os.environ.get("OMBUDS_BENCH_DATABASE_URL") or os.environ.get("OMBUDS_TEST_DATABASE_URL")
           or DEFAULT_ADMIN_URL)
    host = make_url(url).host or "127.0.0.1"
    if host not in LOOPBACK:
        raise SystemExit(f"Benchmarks only run against this machine's PostgreSQL; {host!r} is not "
                         "a loopback address.")
    return url


def conninfo(url: str, dbname: str | None = None) -> str:
    """A libpq URL (for psycopg, pgbench and the app), optionally for another database."""
    u = make_url(url)
    if dbname:
        u = u.set(database=dbname)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def libpq_args(url: str) -> list[str]:
    """``-h/-p/-U`` for the PostgreSQL command-line tools."""
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432)]
    if u.username:
        args += ["-U", u.username]
    return args


def _admin(sql: str) -> None:
    with psycopg.connect(conninfo(admin_url()), autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


def create_database(prefix: str, *, template: str | None = None) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def scratch_database(prefix: str, *, template: str | None = None) -> Iterator[tuple[str, str]]:
    """``(name, url)`` of a new database, dropped on the way out even after a failure."""
    name = create_database(prefix, template=template)
    try:
        yield name, conninfo(admin_url(), name)
    finally:
        drop_database(name)


def database_stats(url: str) -> dict[str, int]:
    """Cumulative counters of one database (flushed by a backend at the latest when it exits)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_fetched, tup_returned "
            "FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return dict(zip(("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_fetched",
                     "tup_returned"), row, strict=True))


def backend_pids(dbname: str) -> list[int]:
    """The server processes of the connections open to one database."""
    with psycopg.connect(conninfo(admin_url()), autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (dbname,))]
