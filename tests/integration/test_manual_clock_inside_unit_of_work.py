"""The manual clock is read through the unit of work that is open, not a second connection.

SQLite's pool holds one connection: a clock that asked the pool for its own while a unit of
work held that one waited for the pool's time-out (30 s by default) and then failed. The
engines here time out after one second, so the old behaviour fails with an error instead of
merely being slow.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from ombuds.adapters.payments import SimulatedProvider
from ombuds.domain.policy import Policy
from ombuds.services.context import Ombuds
from ombuds.store.clock_store import ManualClock
from ombuds.store.db import make_engine, write_transaction
from ombuds.store.tables import clock, orders
from tests.conftest import T0


def _app(url: str) -> Ombuds:
    engine = make_engine(url, pool_size=1, pool_timeout=1)
    return Ombuds(engine=engine, clock=ManualClock(engine, T0), policy=Policy(), payments=SimulatedProvider())


def test_the_manual_clock_is_read_inside_a_unit_of_work(database_url):
    async def run():
        app = _app(database_url)
        try:
            async with app.uow() as uow:  # the clock's row does not exist yet: the first read makes it
                first = await app.now()
                await uow.conn.execute(select(orders.c.id).limit(1))  # the unit of work goes on
                again = await app.now()
                await uow.commit()
            async with write_transaction(app.engine):
                inside_a_write = await app.now()
            after = await app.now()  # outside: its own short connection
            return first, again, inside_a_write, after
        finally:
            await app.engine.dispose()

    assert asyncio.run(run()) == (T0, T0, T0, T0)


def test_a_unit_of_work_that_rolls_back_leaves_the_clock_readable(database_url):
    async def run():
        app = _app(database_url)
        try:
            async with app.uow():
                await app.now()  # not committed: the row it made is rolled back with the work
            async with app.uow() as uow:
                seen = await app.now()
                stored = (await uow.conn.execute(select(clock.c.now))).scalar_one()
                await uow.commit()
            return seen, stored
        finally:
            await app.engine.dispose()

    assert asyncio.run(run()) == (T0, T0)
