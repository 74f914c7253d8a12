"""The manual clock (demo and tests): its time is one row of the ``clock`` table.

Because the time is in the database, the server, the worker and ``ombuds clock advance``
agree on it. It is read at most once per request (``RequestInstant``), and through the
connection of the unit of work that is open, if one is (``store.db.held_connection``):
reading it costs one statement in that transaction, never a second connection — which on
SQLite, whose pool has one, would wait for ever.

The wall clock and the ``Clock`` protocol are in ``adapters/clock.py``; the wall time this
clock starts from, when no start is given, is passed in (``wall``), so that module stays the
one that reads it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.store.db import held_connection, write_transaction
from ombuds.store.tables import clock

# The ASGI interface, as far as the middleware below uses it.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# One request is one instant: a manual clock read once per request (see ``RequestInstant``).
_instant: ContextVar[dict[str, datetime] | None] = ContextVar("ombuds_request_instant", default=None)


class RequestInstant:
    """ASGI middleware: the manual clock is read at most once per request."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _instant.set({})
        try:
            await self.app(scope, receive, send)
        finally:
            _instant.reset(token)


class ManualClock:
    """Stands still until advanced; advancing is done by :func:`ombuds.services.clock.advance`.

    The first read creates the row at ``start``, or, without one, at ``wall()`` (the wall
    clock's time, ``adapters.clock.wall_now``), to the second.
    """

    manual = True

    def __init__(self, engine: AsyncEngine, start: datetime | None = None, *,
                 wall: Callable[[], datetime] | None = None):
        self._engine = engine
        self._start = start
        self._wall = wall

    async def now(self) -> datetime:
        seen = _instant.get()
        if seen is not None and "now" in seen:
            return seen["now"]
        value = await self._read()
        if seen is not None:
            seen["now"] = value
        return value

    async def _read(self) -> datetime:
        held = held_connection(self._engine)
        if held is not None:  # inside a unit of work: one statement in its transaction
            return await self._read_on(held, commit=False)
        async with self._engine.connect() as conn:
            return await self._read_on(conn, commit=True)

    def _first_time(self) -> datetime:
        if self._start is not None:
            return self._start
        if self._wall is None:
            raise RuntimeError("A manual clock with no start time needs the wall clock to start from.")
        return self._wall()

    async def _read_on(self, conn: AsyncConnection, *, commit: bool) -> datetime:
        value: datetime | None = (await conn.execute(select(clock.c.now).where(clock.c.id == 1))).scalar()
        if value is None:
            # The first reads may come at once (a request and the in-process dispatcher):
            # whoever inserts first sets the time, the others read it.
            start = self._first_time().replace(microsecond=0)
            insert_ = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            await conn.execute(insert_(clock).values(id=1, now=start).on_conflict_do_nothing())
            if commit:
                await conn.commit()
            value = (await conn.execute(select(clock.c.now).where(clock.c.id == 1))).scalar_one()
        return value

    async def set(self, value: datetime) -> None:
        await self._read()  # makes sure the row exists
        held = held_connection(self._engine)
        if held is not None:
            await held.execute(update(clock).where(clock.c.id == 1).values(now=value))
        else:
            async with write_transaction(self._engine) as conn:
                await conn.execute(update(clock).where(clock.c.id == 1).values(now=value))
        seen = _instant.get()
        if seen is not None:
            seen["now"] = value
