"""The ledger's rows: journal entries, their postings, and a running balance per account.

Posting one entry or a thousand costs the same three statements:

1. one multi-row ``INSERT`` of the entries, ``RETURNING`` their ids in the order given;
2. one multi-row ``INSERT`` of all their postings;
3. one upsert of the running balances: per account and currency, the sum of this write's
   postings is added to the row (``balance = balance + x``), in sorted order.

Why the balances are written this way (docs/money.md, "Running balances"):

- **Sorted**: two transactions that touch the same accounts lock their rows in the same
  order, so they queue behind each other instead of deadlocking.
- **Aggregated per write**: a batch of 200 payouts of one seller adds to ``seller:S`` once,
  not 200 times; a hot account (``platform:commission``, a big seller) is locked once per
  transaction, for the rest of that transaction.
- **Nothing for a zero movement**: an account whose movements in this write net to zero
  (a refund issued and settled to the in-platform balance at once) is not locked at all;
  a missing row reads as 0.

The postings stay the truth: ``ombuds ledger check`` proves every running balance equals
the sum of its postings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.domain.ledger import JournalEntry
from ombuds.store import tables as t

# The entries' ids in the order given. PostgreSQL is asked for that order explicitly (one
# multi-row INSERT with a sentinel); SQLite cannot batch such a request, but numbers the rows of
# one multi-row INSERT in VALUES order under its single writer, so their ids sorted are it.
_ENTRIES = {"postgresql": insert(t.journal_entries).returning(t.journal_entries.c.id,
                                                             sort_by_parameter_order=True),
            "sqlite": insert(t.journal_entries).returning(t.journal_entries.c.id)}
_POSTINGS = insert(t.postings)


def _upsert(dialect_insert):
    stmt = dialect_insert(t.account_balances)
    return stmt.on_conflict_do_update(
        index_elements=[t.account_balances.c.account, t.account_balances.c.currency],
        set_={"balance": t.account_balances.c.balance + stmt.excluded.balance})


_ADD_TO_BALANCES = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}
_BALANCES = (select(t.account_balances.c.account, t.account_balances.c.currency,
                    t.account_balances.c.balance)
             .where(t.account_balances.c.account.in_(bindparam("accounts", expanding=True))))


def movements(entries: Iterable[JournalEntry]) -> list[tuple[str, str, int]]:
    """What a set of entries adds to each account, per currency: sorted, zeros left out."""
    total: dict[tuple[str, str], int] = defaultdict(int)
    for entry in entries:
        for p in entry.postings:
            total[(p.account, p.currency)] += p.amount
    return [(account, currency, amount) for (account, currency), amount in sorted(total.items()) if amount]


class LedgerStore:
    """Writes and reads the ledger in the caller's connection and transaction."""

    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def post_many(self, entries: Sequence[tuple[JournalEntry, datetime]]) -> list[int]:
        """Write balanced entries (each was checked when built), each at its own time; their ids
        in the order given."""
        if not entries:
            return []
        dialect = self.conn.dialect.name
        ids = sorted((await self.conn.execute(_ENTRIES[dialect], [
            {"kind": e.kind, "order_id": e.order_id, "line_id": e.line_id, "dispute_id": e.dispute_id,
             "refund_id": e.refund_id, "memo": e.memo, "created_at": at} for e, at in entries])).scalars())
        await self.conn.execute(_POSTINGS, [
            {"entry_id": entry_id, "account": p.account, "currency": p.currency, "amount": p.amount}
            for entry_id, (e, _) in zip(ids, entries, strict=True) for p in e.postings])
        moved = movements(e for e, _ in entries)
        if moved:
            await self.conn.execute(_ADD_TO_BALANCES[dialect], [
                {"account": account, "currency": currency, "balance": amount}
                for account, currency, amount in moved])
        return ids

    async def balances(self, accounts: Sequence[str]) -> dict[str, dict[str, int]]:
        """Account → currency → running balance; one row per account and currency, whatever
        the length of its history. An account never moved has no currencies."""
        found: dict[str, dict[str, int]] = {a: {} for a in accounts}
        if accounts:
            for account, currency, balance in await self.conn.execute(_BALANCES, {"accounts": list(accounts)}):
                found[account][currency] = balance
        return found
