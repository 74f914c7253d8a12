"""One unit of work per use case: one connection, one transaction, commit or roll back.

While a unit of work is open, its connection is the one its task holds (``store.db.holding``):
the manual clock read inside it goes through that connection, in the same transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.store.db import holding
from ombuds.store.repository import Repository


class UnitOfWork:
    """``async with uow:`` opens a transaction; leaving without ``commit()`` rolls it back."""

    def __init__(self, engine: AsyncEngine):
        self._engine = engine
        self.conn: AsyncConnection | None = None
        self.repo: Repository | None = None
        self.is_postgres = engine.dialect.name == "postgresql"
        self._holding = None

    async def __aenter__(self) -> UnitOfWork:
        self.conn = await self._engine.connect()
        await self.conn.execution_options(writes=True)
        await self.conn.begin()
        self.repo = Repository(self.conn, for_update=self.is_postgres)
        self._holding = holding(self._engine, self.conn)
        self._holding.__enter__()
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            self._holding.__exit__(None, None, None)
            if self.conn.in_transaction():
                await self.conn.rollback()
        finally:
            await self.conn.close()
            self.conn = self.repo = None

    async def commit(self) -> None:
        self.repo.check_money_recorded()
        await self.conn.commit()
