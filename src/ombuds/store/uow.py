"""One unit of work per use case: one connection, one transaction, commit or roll back.

While a unit of work is open, its connection is the one its task holds (``store.db.holding``):
the manual clock read inside it goes through that connection, in the same transaction."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.store.db import holding
from ombuds.store.repository import Repository

# What services call a connection they pass to the store, and an engine, without importing SQLAlchemy.
Connection = AsyncConnection
Engine = AsyncEngine


class UnitOfWorkClosed(RuntimeError):
    """The connection or repository of a unit of work was used outside ``async with``."""


class UnitOfWork:
    """``async with uow:`` opens a transaction; leaving without ``commit()`` rolls it back."""

    def __init__(self, engine: AsyncEngine):
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._repo: Repository | None = None
        self.is_postgres = engine.dialect.name == "postgresql"
        self._holding: AbstractContextManager[object] | None = None

    @property
    def conn(self) -> AsyncConnection:
        """The open transaction's connection."""
        if self._conn is None:
            raise UnitOfWorkClosed("the unit of work is not open")
        return self._conn

    @property
    def repo(self) -> Repository:
        """The repository over the open transaction."""
        if self._repo is None:
            raise UnitOfWorkClosed("the unit of work is not open")
        return self._repo

    async def __aenter__(self) -> UnitOfWork:
        conn = self._conn = await self._engine.connect()
        await conn.execution_options(writes=True)
        await conn.begin()
        self._repo = Repository(conn, for_update=self.is_postgres)
        self._holding = holding(self._engine, conn)
        self._holding.__enter__()
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if self._holding is not None:
                self._holding.__exit__(None, None, None)
            if self.conn.in_transaction():
                await self.conn.rollback()
        finally:
            await self.conn.close()
            self._conn = self._repo = None
            self._holding = None

    async def commit(self) -> None:
        self.repo.check_money_recorded()
        await self.conn.commit()
