"""CPU per request of the order paths, in one process, one request at a time.

Not part of ``make bench``: a steadier reading than :mod:`bench.order_paths` on a shared
machine, for comparing two versions of the code. The real ASGI application (with its
middleware) is driven in this process through httpx's ASGI transport against a scratch
PostgreSQL database, one request after the other: N orders of two lines are recorded, then
shipped, delivered and receipt-confirmed. For each path it prints this process's CPU per
request (the application *and* the in-process client, which is the same for both versions)
and the CPU of the PostgreSQL backends serving it, read from ``/proc``.

    .venv/bin/python -m bench.order_cpu [--orders 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from bench.processes import _proc_stat
from bench.scratch import backend_pids, scratch_database
from bench.seed import MARKETPLACE_KEY, settings_for

PATHS = ("record", "ship", "deliver", "confirm")


def _postgres_cpu(dbname: str) -> float:
    return sum(s[1] for pid in backend_pids(dbname) if (s := _proc_stat(pid)))


async def measure(url: str, dbname: str, orders: int) -> dict[str, dict[str, float]]:
    import httpx

    from ombuds.bootstrap import create_app

    app = create_app(settings_for(url))
    market = {"Authorization": f"Bearer {MARKETPLACE_KEY}", "Content-Type": "application/json"}
    found: dict[str, dict[str, float]] = {}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            async def post(path: str, body: dict[str, Any] | None, headers: dict[str, str], expect: int
                           ) -> dict[str, Any]:
                r = await client.post(f"/api/v1{path}", content=json.dumps(body or {}), headers=headers)
                if r.status_code != expect:
                    raise RuntimeError(f"{path}: {r.status_code} {r.text}")
                result: dict[str, Any] = r.json()
                return result

            people = {}
            for role, country in (("buyer", "RU"), ("seller", "CN")):
                people[role] = await post("/users", {"name": f"Measured {role}", "email": f"{role}@cpu.test",
                                                     "role": role, "country": country}, market, 201)
            seller = {"Authorization": f"Bearer {people['seller']['token']}", "Content-Type": "application/json"}
            buyer = {"Authorization": f"Bearer {people['buyer']['token']}", "Content-Type": "application/json"}
            order = {"buyer_id": people["buyer"]["id"], "seller_id": people["seller"]["id"], "currency": "USD",
                     "payment_method": "visa", "lines": [{"title": "Phone case", "unit_price": 1850, "quantity": 1},
                                                         {"title": "Cable", "unit_price": 990, "quantity": 2}]}
            ship = {"carrier": "China Post", "tracking_number": "LP123456789CN"}
            steps = {
                "record": lambda _i: post("/orders", order, market, 201),
                "ship": lambda i: post(f"/orders/{i}/ship", ship, seller, 200),
                "deliver": lambda i: post(f"/orders/{i}/deliver", None, market, 200),
                "confirm": lambda i: post(f"/orders/{i}/confirm-receipt", None, buyer, 200),
            }
            warm = [(await post("/orders", order, market, 201))["id"] for _ in range(20)]
            for path in PATHS[1:]:
                for order_id in warm:
                    await steps[path](order_id)
            ids: list[int] = []
            for path in PATHS:
                postgres, cpu, started = _postgres_cpu(dbname), time.process_time(), time.perf_counter()
                for i in range(orders):
                    answer = await steps[path](0 if path == "record" else ids[i])
                    if path == "record":
                        ids.append(answer["id"])
                found[path] = {"python_ms": 1000 * (time.process_time() - cpu) / orders,
                               "postgres_ms": 1000 * (_postgres_cpu(dbname) - postgres) / orders,
                               "wall_ms": 1000 * (time.perf_counter() - started) / orders}
    finally:
        await app.state.ombuds.engine.dispose()
    return found


def main() -> None:
    from ombuds.store.migrate import upgrade

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    args = parser.parse_args()
    with scratch_database("ombuds_bench_order_cpu") as (name, url):
        upgrade(url)
        found = asyncio.run(measure(url, name, args.orders))
    for path in PATHS:
        f = found[path]
        print(f"{path}: this process {f['python_ms']:.2f} ms CPU per request, PostgreSQL {f['postgres_ms']:.2f}; "
              f"wall {f['wall_ms']:.2f} ms")


if __name__ == "__main__":
    main()
