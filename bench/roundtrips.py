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


# The order paths, counted through the real ASGI application ------------------------------

ORDER_PATHS = ("record", "ship", "deliver", "confirm")
PATH_NAMES = {"record": "POST /api/v1/orders", "ship": "POST /api/v1/orders/{id}/ship",
              "deliver": "POST /api/v1/orders/{id}/deliver",
              "confirm": "POST /api/v1/orders/{id}/confirm-receipt"}


async def count_order_paths(url: str) -> dict[str, RoundTrips]:
    """Record, ship, deliver and confirm one order of two lines, after doing the same once
    to warm the caches (prepared statements, a remembered token) as in a server under load."""
    import json

    import httpx

    from bench.seed import MARKETPLACE_KEY, settings_for
    from ombuds.bootstrap import create_app

    app = create_app(settings_for(url))
    market = {"Authorization": f"Bearer {MARKETPLACE_KEY}", "Content-Type": "application/json"}
    found: dict[str, RoundTrips] = {}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            async def post(path: str, body: dict | None, headers: dict, expect: int) -> dict:
                r = await client.post(f"/api/v1{path}", content=json.dumps(body or {}), headers=headers)
                assert r.status_code == expect, f"{path}: {r.status_code} {r.text}"
                return r.json()

            people = {}
            for role, country in (("buyer", "RU"), ("seller", "CN")):
                people[role] = await post("/users", {"name": f"Counted {role}", "email": f"{role}@count.test",
                                                     "role": role, "country": country}, market, 201)
            seller = {"Authorization": f"Bearer {people['seller']['token']}", "Content-Type": "application/json"}
            buyer = {"Authorization": f"Bearer {people['buyer']['token']}", "Content-Type": "application/json"}
            order = {"buyer_id": people["buyer"]["id"], "seller_id": people["seller"]["id"], "currency": "USD",
                     "payment_method": "visa", "lines": [{"title": "Phone case", "unit_price": 1850, "quantity": 1},
                                                         {"title": "Cable", "unit_price": 990, "quantity": 2}]}

            async def one_order(count: bool) -> None:
                def step(name):
                    return counting() if count else contextlib.nullcontext(RoundTrips())
                with step("record") as seen:
                    order_id = (await post("/orders", order, market, 201))["id"]
                found["record"] = seen
                with step("ship") as seen:
                    await post(f"/orders/{order_id}/ship", {"carrier": "China Post",
                                                            "tracking_number": "LP123456789CN"}, seller, 200)
                found["ship"] = seen
                with step("deliver") as seen:
                    await post(f"/orders/{order_id}/deliver", None, market, 200)
                found["deliver"] = seen
                with step("confirm") as seen:
                    await post(f"/orders/{order_id}/confirm-receipt", None, buyer, 200)
                found["confirm"] = seen

            await one_order(count=False)
            await one_order(count=True)
    finally:
        await app.state.ombuds.engine.dispose()
    return found


def main() -> None:
    """Print the round trips of every order path on a scratch PostgreSQL database."""
    import argparse
    import asyncio

    from bench.scratch import scratch_database
    from ombuds.store.migrate import upgrade

    parser = argparse.ArgumentParser(description="Round trips of each order path (PostgreSQL)")
    parser.add_argument("--calls", action="store_true", help="list every call of each path")
    args = parser.parse_args()
    with scratch_database("ombuds_bench_roundtrips") as (_name, url):
        upgrade(url)
        found = asyncio.run(count_order_paths(url))
    for path in ORDER_PATHS:
        seen = found[path]
        print(f"{PATH_NAMES[path]}: {seen.total} round trips ({seen.count('BEGIN')} BEGIN, "
              f"{seen.count('statement')} statements, {seen.count('prepare')} prepares, "
              f"{seen.count('COMMIT')} COMMIT, {seen.count('ROLLBACK')} ROLLBACK)")
        if args.calls:
            print(*(f"    {c}" for c in seen.calls), sep="\n")


if __name__ == "__main__":
    main()
