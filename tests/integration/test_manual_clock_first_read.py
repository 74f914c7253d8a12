"""A 500 under load is a defect: the manual clock's first reads may come at once.

When a server starts with the in-process dispatcher, the dispatcher and the first request
both read the manual clock before its row exists. Both used to insert it, and the loser
answered ``POST /users`` with a 500 (seen on PostgreSQL on a busy machine).
"""

from __future__ import annotations

import asyncio

from ombuds.store.clock_store import ManualClock
from ombuds.store.db import make_engine
from tests.conftest import T0


def test_many_first_reads_of_the_manual_clock_at_once_all_get_the_same_time(database_url):
    async def run():
        engine = make_engine(database_url, pool_size=20)
        try:
            clocks = [ManualClock(engine, T0) for _ in range(20)]
            return await asyncio.gather(*(c.now() for c in clocks))
        finally:
            await engine.dispose()

    seen = asyncio.run(run())
    assert set(seen) == {T0}
