"""Engines for the two supported databases: SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs; use the async drivers."""
    u = make_url(url)
    if u.drivername in ("sqlite", "sqlite+pysqlite"):
        u = u.set(drivername="sqlite+aiosqlite")
    elif u.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+asyncpg")
    return u.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (migrations, tooling)."""
    u = make_url(url)
    u = u.set(drivername="sqlite" if u.get_backend_name() == "sqlite" else "postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


PREPARED_STATEMENTS = 1000  # per PostgreSQL connection


def make_engine(url: str, *, pool_size: int = 10, pool_timeout: float = 30) -> AsyncEngine:
    url = async_url(url)
    if is_sqlite(url):
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=pool_timeout,
                                     connect_args={"timeout": 30})
        _sqlite_write_ahead(engine)
        return engine
    # Every statement is prepared once per connection and kept (asyncpg through SQLAlchemy's
    # cache): a request sends only Bind/Execute. The application has a few hundred distinct
    # statements; the default cache of 100 would evict and prepare again under mixed load.
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_timeout=pool_timeout,
                               pool_pre_ping=False,
                               connect_args={"prepared_statement_cache_size": PREPARED_STATEMENTS})


# The connection whose transaction the running task holds open (a unit of work, a write
# transaction), by engine. Whoever needs to read inside it — the manual clock — reads through
# it instead of asking the pool for a second connection: SQLite's pool has only one, so a
# second connection would wait for the first to be handed back, which never happens.
_held: ContextVar[tuple[object, AsyncConnection] | None] = ContextVar("ombuds_held_connection", default=None)


def _engine_key(engine) -> object:
    return engine.sync_engine


def held_connection(engine) -> AsyncConnection | None:
    """The connection this task holds a transaction on for ``engine``, if any."""
    held = _held.get()
    return held[1] if held is not None and held[0] is _engine_key(engine) else None


@contextmanager
def holding(engine, conn: AsyncConnection) -> Iterator[None]:
    """Mark ``conn`` as the connection this task holds on ``engine`` while the block runs."""
    token = _held.set((_engine_key(engine), conn))
    try:
        yield
    finally:
        _held.reset(token)


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """Like ``engine.begin()``, marked as writing (SQLite takes its write lock at once)."""
    async with engine.connect() as conn:
        await conn.execution_options(writes=True)
        async with conn.begin():
            with holding(engine, conn):
                yield conn


def _sqlite_write_ahead(engine: AsyncEngine) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so two writers never deadlock on upgrade."""

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn):
        # A unit of work writes: take the write lock up front so two writers never deadlock
        # on upgrade. Plain reads start a deferred transaction and never wait for a writer.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writes") else "BEGIN")
