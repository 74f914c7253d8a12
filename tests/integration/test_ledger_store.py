"""The ledger's store: entries, postings and running balances, on SQLite and PostgreSQL.

Posting many entries costs the same statements as posting one (the sweeps post a batch at
a time); every running balance is its account's postings' sum; a movement that nets to
zero locks and writes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, text

from ombuds.domain.ledger import COMMISSION, JournalEntry, Posting
from ombuds.store.db import make_engine
from ombuds.store.ledger_store import movements
from ombuds.store.uow import UnitOfWork

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def payout_like(n: int) -> JournalEntry:
    """From one line's escrow to a seller, less commission (no order rows needed)."""
    return JournalEntry("test", (Posting(f"escrow:line:{n}", -1000, "USD"), Posting("seller:7", 950, "USD"),
                                 Posting(COMMISSION, 50, "USD")), memo=f"entry {n}")


async def post_counting(url: str, entries: list[JournalEntry]) -> tuple[list[int], int]:
    engine = make_engine(url)
    statements = []
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, sql, params, context, many: statements.append(sql))
    try:
        async with UnitOfWork(engine) as uow:
            statements.clear()
            ids = await uow.repo.post_many([(e, AT + timedelta(seconds=i)) for i, e in enumerate(entries)])
            written = len(statements)
            await uow.commit()
    finally:
        await engine.dispose()
    return ids, written


async def read(url: str, sql: str) -> list:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).all()
    finally:
        await engine.dispose()


def test_posting_sixty_entries_costs_the_same_statements_as_posting_one(database_url):
    _, one = asyncio.run(post_counting(database_url, [payout_like(0)]))
    ids, sixty = asyncio.run(post_counting(database_url, [payout_like(n) for n in range(1, 61)]))

    assert sixty == one == 3, "entries, postings, running balances"
    memos = dict(asyncio.run(read(database_url, "SELECT id, memo FROM journal_entries")))
    assert [memos[i] for i in ids] == [f"entry {n}" for n in range(1, 61)], "ids in the order given"


def test_running_balances_are_the_sums_of_their_postings(database_url):
    asyncio.run(post_counting(database_url, [payout_like(n) for n in range(1, 4)]))
    asyncio.run(post_counting(database_url, [payout_like(4)]))

    kept = {(a, c): b for a, c, b in asyncio.run(read(database_url,
                                                      "SELECT account, currency, balance FROM account_balances"))}
    summed = {(a, c): s for a, c, s in asyncio.run(read(
        database_url, "SELECT account, currency, SUM(amount) FROM postings GROUP BY account, currency"))}
    assert kept == summed
    assert kept[("seller:7", "USD")] == 4 * 950 and kept[(COMMISSION, "USD")] == 4 * 50


def test_a_movement_that_nets_to_zero_writes_no_balance_row(database_url):
    issued = JournalEntry("test", (Posting("platform:goodwill", -300, "EUR"), Posting("refund:9", 300, "EUR")))
    to_balance = JournalEntry("test", (Posting("refund:9", -300, "EUR"), Posting("buyer:3:balance", 300, "EUR")))

    asyncio.run(post_counting(database_url, [issued, to_balance]))

    rows = dict(((a, c), b) for a, c, b in asyncio.run(read(
        database_url, "SELECT account, currency, balance FROM account_balances")))
    assert rows == {("buyer:3:balance", "EUR"): 300, ("platform:goodwill", "EUR"): -300}


def test_a_balance_read_is_the_running_balance_per_currency(database_url):
    asyncio.run(post_counting(database_url, [
        payout_like(1),
        JournalEntry("test", (Posting("seller:7", 10, "EUR"), Posting("platform:goodwill", -10, "EUR")))]))

    async def balances():
        engine = make_engine(database_url)
        try:
            async with UnitOfWork(engine) as uow:
                return await uow.repo.ledger.balances(["seller:7", "seller:8"])
        finally:
            await engine.dispose()

    assert asyncio.run(balances()) == {"seller:7": {"USD": 950, "EUR": 10}, "seller:8": {}}


def test_movements_are_summed_per_account_sorted_and_zeros_left_out():
    entries = [payout_like(2), payout_like(1),
               JournalEntry("test", (Posting("seller:7", -1900, "USD"), Posting("escrow:line:1", 1000, "USD"),
                                     Posting("escrow:line:2", 900, "USD")))]

    assert movements(entries) == [("escrow:line:2", "USD", -100), (COMMISSION, "USD", 100)]
