"""R35: a request sent with an ``Idempotency-Key`` runs in one transaction, and its answer is
recorded in that transaction.

Use cases open their own units of work and commit them; the HTTP answer is rendered after.
To record the key, the answer and the change atomically, a keyed request gets a
:class:`RequestTransaction` (held in a context variable by ``api/idempotency.py``), and the
engine every service uses (:class:`RequestScopedEngine`) hands out views of it:

- the first connection that will write (``execution_options(writes=True)`` or ``begin()``,
  which every unit of work and ``write_transaction`` do) opens the request's transaction;
  from then on every connection of the request is a view of it, so reads that render the
  answer see the change;
- a unit of work's ``begin()`` becomes a SAVEPOINT, its ``commit()`` releases it and its
  rollback rolls back only its own work, exactly as before for the use case;
- reads before the first write (the caller's token, a check before an upload's body is read)
  use ordinary short connections, so nothing is held while a client is still sending;
- only the middleware commits the request's transaction, after it has written the key's
  record with the status and body of the answer; an answer of 5xx, or a crash anywhere
  before that commit, leaves nothing at all.

Outside a keyed request (every other request, the worker, the CLI) the engine is the plain
engine, untouched.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

_current: ContextVar[RequestTransaction | None] = ContextVar("ombuds_request_transaction", default=None)


class RequestTransaction:
    """The one transaction of a keyed request, opened on first write, committed by its owner."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.conn: AsyncConnection | None = None

    @property
    def started(self) -> bool:
        return self.conn is not None

    async def connection(self) -> AsyncConnection:
        if self.conn is None:
            conn = await self.engine.connect()
            await conn.execution_options(writes=True)  # SQLite: BEGIN IMMEDIATE
            await conn.begin()
            self.conn = conn
        return self.conn

    async def finish(self, *, commit: bool) -> None:
        if self.conn is None:
            return
        conn, self.conn = self.conn, None
        try:
            if commit:
                await conn.commit()
            elif conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()


def current() -> RequestTransaction | None:
    return _current.get()


def enter(transaction: RequestTransaction):
    return _current.set(transaction)


def leave(token) -> None:
    _current.reset(token)


class RequestScopedEngine:
    """The application's engine: plain, except inside a keyed request (see the module doc)."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def connect(self):
        held = _current.get()
        if held is None or held.engine is not self.engine:
            return self.engine.connect()
        return _Connect(RequestConnection(held))


def request_scoped(engine: AsyncEngine) -> AsyncEngine:
    """``engine`` as the services use it: a :class:`RequestScopedEngine`, which answers what they
    ask of an ``AsyncEngine`` (``connect``, and the rest through ``__getattr__``)."""
    return cast(AsyncEngine, RequestScopedEngine(engine))


class _Connect:
    """What ``engine.connect()`` returns: awaitable, or used with ``async with``."""

    def __init__(self, conn: RequestConnection):
        self.conn = conn

    def __await__(self):
        async def ready():
            return self.conn
        return ready().__await__()

    async def __aenter__(self) -> RequestConnection:
        return self.conn

    async def __aexit__(self, *exc) -> None:
        await self.conn.close()


class RequestConnection:
    """A connection inside a keyed request: a view of the request's transaction once it writes,
    an ordinary connection for reads before that."""

    def __init__(self, held: RequestTransaction):
        self._held = held
        self._writes = False
        self._shared: AsyncConnection | None = None
        self._own: AsyncConnection | None = None
        self._savepoint: AsyncTransaction | None = None

    @property
    def dialect(self):
        return self._held.engine.dialect

    async def _target(self, *, writes: bool = False) -> AsyncConnection:
        if self._shared is not None:
            return self._shared
        if self._own is not None and not writes:
            return self._own
        if writes or self._writes or self._held.started:
            if self._own is not None:  # a read connection that now writes: hand it back first
                await self._own.close()
                self._own = None
            self._shared = await self._held.connection()
            return self._shared
        self._own = await self._held.engine.connect()
        return self._own

    async def execution_options(self, **options) -> RequestConnection:
        if options.get("writes"):
            self._writes = True
        return self

    def get_execution_options(self) -> dict:
        return {"writes": self._writes}

    async def execute(self, *args, **kwargs):
        return await (await self._target()).execute(*args, **kwargs)

    async def scalar(self, *args, **kwargs):
        return await (await self._target()).scalar(*args, **kwargs)

    async def scalars(self, *args, **kwargs):
        return await (await self._target()).scalars(*args, **kwargs)

    async def exec_driver_sql(self, *args, **kwargs):
        return await (await self._target()).exec_driver_sql(*args, **kwargs)

    def begin(self) -> _Begin:
        return _Begin(self, nested=False)

    def begin_nested(self) -> _Begin:
        return _Begin(self, nested=True)

    def in_transaction(self) -> bool:
        if self._shared is not None:
            return self._savepoint is not None and self._savepoint.is_active
        return self._own is not None and self._own.in_transaction()

    async def commit(self) -> None:
        if self._shared is not None:
            if self._savepoint is not None and self._savepoint.is_active:  # in_transaction()
                await self._savepoint.commit()
            self._savepoint = None
        elif self._own is not None:
            await self._own.commit()

    async def rollback(self) -> None:
        if self._shared is not None:
            if self._savepoint is not None and self._savepoint.is_active:  # in_transaction()
                await self._savepoint.rollback()
            self._savepoint = None
        elif self._own is not None:
            await self._own.rollback()

    async def close(self) -> None:
        if self._shared is not None:
            await self.rollback()  # work not committed by its unit of work is undone, as before
            self._shared = None
        elif self._own is not None:
            await self._own.close()
            self._own = None


class _Begin:
    """``conn.begin()``: awaitable (start) or ``async with`` (commit or roll back on exit).
    On the request's transaction it is a SAVEPOINT."""

    def __init__(self, conn: RequestConnection, *, nested: bool):
        self.conn = conn
        self.nested = nested
        self.transaction: AsyncTransaction | None = None

    async def _start(self) -> AsyncTransaction:
        target = await self.conn._target(writes=self.conn._writes or not self.nested)
        if target is self.conn._shared:
            self.transaction = target.begin_nested()
            await self.transaction.start()
            if not self.nested:
                self.conn._savepoint = self.transaction
        else:
            self.transaction = target.begin_nested() if self.nested else target.begin()
            await self.transaction.start()
        return self.transaction

    def __await__(self):
        return self._start().__await__()

    async def __aenter__(self) -> AsyncTransaction:
        return await self._start()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        if self.transaction is None or not self.transaction.is_active:
            return
        if exc_type is None:
            await self.transaction.commit()
        else:
            await self.transaction.rollback()
        if self.conn._savepoint is self.transaction:
            self.conn._savepoint = None
