"""The order paths over HTTP, each against pgbench TPC-B measured in the same run.

A scratch database is migrated and seeded with buyers and sellers. ``ombuds serve --workers 2``
then takes, from ``wrk -t2 -c32``, one path after the other, each request once:

1. ``POST /api/v1/orders`` (the marketplace records a paid order of two lines: the order, its
   lines, its outbox row, its escrow journal entry and postings) — after an unmeasured stock
   run that makes enough paid orders for the next paths;
2. ``POST /api/v1/orders/{id}/ship`` (the seller, on paid orders in id order) — then the rest
   are shipped unmeasured, so the next paths do not run out;
3. ``POST /api/v1/orders/{id}/deliver`` (the marketplace's carrier feed, on shipped orders);
4. ``POST /api/v1/orders/{id}/confirm-receipt`` (the buyer: the order completes and each line is
   paid out — payout, journal entry, postings, outbox row).

The round trips of each path are counted on a second scratch database (:mod:`bench.roundtrips`).

    .venv/bin/python -m bench.order_paths [--seconds 10] [--pgbench-tps 1934]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import pgbench_baseline
from bench.contract import WRITE_TARGET, Context, Row, row
from bench.load import Request, drive, latency_notes, ombuds_server, write_requests, wrk
from bench.pg import first
from bench.processes import time_limit
from bench.roundtrips import ORDER_PATHS, PATH_NAMES, count_order_paths
from bench.scratch import scratch_database
from bench.seed import MARKETPLACE_KEY, settings_for

SECONDS = 10
STOCK_SECONDS = 40  # unmeasured POST /orders before the measured one: orders for the next paths
TOP_UP_SECONDS = 20  # unmeasured shipping after the measured one: shipped orders for deliver
BUYERS, SELLERS = 200, 20
RECORD_REQUESTS = 40_000  # more than the stock and measured runs use on this machine (wrk reads them all at start)


async def _seed_people(url: str) -> tuple[dict[int, str], dict[int, str]]:
    from ombuds.bootstrap import build_ombuds
    from ombuds.services.users import create_user
    from ombuds.store.migrate import upgrade

    upgrade(url)
    app = build_ombuds(settings_for(url))
    try:
        await app.now()  # the manual clock's row, before any concurrent request needs it
        buyers, sellers = {}, {}
        for i in range(BUYERS):
            user, token = await create_user(app, name=f"Bench buyer {i}", email=f"buyer{i}@bench.test",
                                            role="buyer", country="RU")
            buyers[user["id"]] = token
        for i in range(SELLERS):
            user, token = await create_user(app, name=f"Bench seller {i}", email=f"seller{i}@bench.test",
                                            role="seller", country="CN")
            sellers[user["id"]] = token
    finally:
        await app.engine.dispose()
    return buyers, sellers


def _order_body(buyer_id: int, seller_id: int, i: int) -> str:
    return json.dumps({"buyer_id": buyer_id, "seller_id": seller_id, "currency": "USD", "payment_method": "visa",
                       "external_ref": f"bench-{i}",
                       "lines": [{"title": "Phone case", "unit_price": 1850, "quantity": 1},
                                 {"title": "USB cable", "unit_price": 990, "quantity": 2}]},
                      separators=(",", ":"))


def _orders(url: str, where: str) -> list[tuple[int, int, int]]:
    import psycopg
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT id, buyer_id, seller_id FROM orders WHERE {where} ORDER BY id").fetchall()


def _count(url: str, where: str) -> int:
    import psycopg
    with psycopg.connect(url) as conn:
        return first(conn.execute(f"SELECT count(*) FROM orders WHERE {where}"))


def measure(*, seconds: int = SECONDS, stock_seconds: int = STOCK_SECONDS,
            pgbench_tps: float | None = None) -> dict:
    if pgbench_tps is None:
        pgbench_tps = pgbench_baseline.measure()["tps"]
    work = Path(tempfile.mkdtemp(prefix="ombuds-bench-orders-"))
    results: dict[str, dict[str, Any]] = {}
    try:
        with scratch_database("ombuds_bench_orders") as (name, url):
            buyers, sellers = asyncio.run(_seed_people(url))
            buyer_ids, seller_ids = list(buyers), list(sellers)
            record_file = work / "record.tsv"
            write_requests(record_file, (Request("POST", "/api/v1/orders", MARKETPLACE_KEY,
                                                 _order_body(buyer_ids[i % BUYERS], seller_ids[i % SELLERS], i))
                                         for i in range(RECORD_REQUESTS)))
            with ombuds_server(url, log=work / "serve.log") as (port, proc):
                stock = wrk(port, record_file, first=0, seconds=stock_seconds)
                results["record"] = drive(port, record_file, server_pid=proc.pid, first=stock["used"],
                                          seconds=seconds, database=name)
                results["record"]["written"] = _count(url, "true")

                ship_file = work / "ship.tsv"
                n = write_requests(ship_file, (Request("POST", f"/api/v1/orders/{o}/ship", sellers[s], json.dumps(
                    {"carrier": "China Post", "tracking_number": f"LP{o:09d}CN"}))
                    for o, _b, s in _orders(url, "state = 'paid'")))
                results["ship"] = drive(port, ship_file, server_pid=proc.pid, seconds=seconds, database=name)
                results["ship"]["available"] = n
                if results["ship"]["next"] < n:  # ship the rest, so deliver and confirm do not run out
                    wrk(port, ship_file, first=results["ship"]["next"], seconds=TOP_UP_SECONDS)

                shipped = _orders(url, "state = 'shipped'")
                deliver_file = work / "deliver.tsv"
                n = write_requests(deliver_file, (Request("POST", f"/api/v1/orders/{o}/deliver", MARKETPLACE_KEY)
                                                  for o, _b, _s in shipped))
                results["deliver"] = drive(port, deliver_file, server_pid=proc.pid, seconds=seconds, database=name)
                results["deliver"]["available"] = n

                confirm_file = work / "confirm.tsv"
                n = write_requests(confirm_file, (Request("POST", f"/api/v1/orders/{o}/confirm-receipt", buyers[b])
                                                  for o, b, _s in shipped))
                results["confirm"] = drive(port, confirm_file, server_pid=proc.pid, seconds=seconds, database=name)
                results["confirm"]["available"] = n
            results["confirm"]["payouts"] = _payouts(url)
        with scratch_database("ombuds_bench_roundtrips") as (_name, url):
            from ombuds.store.migrate import upgrade
            upgrade(url)
            trips = asyncio.run(count_order_paths(url))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"paths": results, "pgbench_tps": pgbench_tps, "stock": stock,
            "round_trips": {p: {"total": t.total, "calls": t.calls} for p, t in trips.items()}}


def _payouts(url: str) -> int:
    import psycopg
    with psycopg.connect(url) as conn:
        return first(conn.execute("SELECT count(*) FROM payouts"))


def run(ctx: Context) -> list[Row]:
    """The contract of :mod:`bench.run_all`: one row per order path against pgbench."""
    r = measure(seconds=ctx.seconds, stock_seconds=15 if ctx.quick else STOCK_SECONDS,
                pgbench_tps=ctx.pgbench_tps or None)
    out = []
    for path in ORDER_PATHS:
        p = r["paths"][path]
        notes = f"{latency_notes(p)}; {r['round_trips'][path]['total']} round trips"
        if path == "confirm":
            notes += f"; {r['paths']['confirm']['payouts']} line payouts written in all"
        out.append(row(path=f"{PATH_NAMES[path]} (orders of two lines)", rate=p["per_second"], unit="requests/s",
                       baseline="pgbench TPC-B", baseline_rate=r["pgbench_tps"], target=WRITE_TARGET,
                       cpu_ms=p["cpu_ms"], rss_mb=p["rss_mb"], notes=notes))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=SECONDS)
    parser.add_argument("--stock-seconds", type=int, default=STOCK_SECONDS)
    parser.add_argument("--pgbench-tps", type=float, help="skip pgbench and use this rate")
    args = parser.parse_args()
    started = time.monotonic()
    with time_limit(900, "order paths benchmark"):
        r = measure(seconds=args.seconds, stock_seconds=args.stock_seconds, pgbench_tps=args.pgbench_tps)
    print(f"pgbench TPC-B: {r['pgbench_tps']:.0f} TPS")
    for path in ORDER_PATHS:
        p = r["paths"][path]
        cpu = ", ".join(f"{k} {v:.2f}" for k, v in p["cpu_ms"].items())
        print(f"{PATH_NAMES[path]}: {p['per_second']:.0f}/s (ratio {p['per_second'] / r['pgbench_tps']:.3f}); "
              f"{latency_notes(p)}; {r['round_trips'][path]['total']} round trips; CPU ms/request: {cpu}")
    print(f"[{time.monotonic() - started:.0f} s]")


if __name__ == "__main__":
    main()
