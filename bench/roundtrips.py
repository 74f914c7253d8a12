"""Counts the database round trips of one API request, in this process, at the asyncpg level.

Every call counted here waits for PostgreSQL once: BEGIN, each prepared statement's
execution, an executemany (pipelined), a prepare (a statement not yet cached on that
connection), COMMIT, ROLLBACK. Pool check-outs that send nothing are not round trips.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
from asyncpg import connection, prepared_stmt, transaction


@dataclass
class RoundTrips:
    calls: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.calls)

    def count(self, kind: str) -> int:
        return sum(1 for c in self.calls if c.split(" ", 1)[0] == kind)


def _short(sql: str) -> str:
    words = " ".join(sql.split()).split(" ")
    head = words[0].upper()
    if head == "SELECT" and "FROM" in (w.upper() for w in words):
        table = words[[w.upper() for w in words].index("FROM") + 1]
        return f"SELECT … FROM {table}"
    if head in ("INSERT", "UPDATE", "DELETE"):
        target = words[2] if head in ("INSERT", "DELETE") else words[1]
        return f"{head} {target}"
    return " ".join(words[:4])


@contextlib.contextmanager
def counting() -> Iterator[RoundTrips]:
    """Patch asyncpg's entry points for the duration; yields the growing list of calls."""
    seen = RoundTrips()
    originals = {}

    def wrap(owner, name, describe):
        original = getattr(owner, name)
        originals[(owner, name)] = original

        async def counted(self, *args, **kwargs):
            seen.calls.append(describe(self, *args))
            return await original(self, *args, **kwargs)
        setattr(owner, name, counted)

    wrap(transaction.Transaction, "start", lambda self: "BEGIN")
    wrap(transaction.Transaction, "commit", lambda self: "COMMIT")
    wrap(transaction.Transaction, "rollback", lambda self: "ROLLBACK")
    wrap(prepared_stmt.PreparedStatement, "fetch",
         lambda self, *a: f"statement {_short(self.get_query())}")
    wrap(connection.Connection, "executemany", lambda self, sql, *a: f"statement {_short(sql)} (executemany)")
    wrap(connection.Connection, "prepare", lambda self, sql, *a: f"prepare {_short(sql)}")
    try:
        yield seen
    finally:
        for (owner, name), original in originals.items():
            setattr(owner, name, original)


assert asyncpg  # the package whose classes are patched above
