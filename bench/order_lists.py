"""The seller's and the buyer's order lists over HTTP at 100 k orders.

A scratch database gets one order of two lines made by the real services (recorded and
shipped), then copies of it made set-based: 100 k orders in all, every one of them the one
seller's, spread over 100 buyers (1 k each). ``ombuds serve --workers 2`` then answers
``GET /api/v1/orders`` (the first page of 50, newest first) for the seller and for one buyer
under ``wrk -t2 -c32``. Each is compared with the same list at 1 k orders measured in the
same run (5 k: the buyer already has a full first page; the target: the same rate, ≥ 0.8 on
a shared machine).

    .venv/bin/python -m bench.order_lists [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

from bench.contract import Context, Row, row
from bench.load import Request, drive, latency_notes, ombuds_server, write_requests
from bench.processes import time_limit
from bench.scratch import scratch_database
from bench.seed import settings_for

SECONDS = 5
ORDERS = 100_000
SMALL = 5_000  # the buyer has 50 there: a full first page, as at 100 k
BUYERS = 100
FLAT_TARGET = 0.8
READS = 30_000  # more than a run of a few seconds uses (wrk reads them all at start)


async def _seed(url: str) -> tuple[tuple[int, str], tuple[int, str], int]:
    """The seller and one buyer with their tokens, and the template order's id."""
    from ombuds.bootstrap import build_ombuds
    from ombuds.services import orders
    from ombuds.services.context import PLATFORM
    from ombuds.services.users import create_user
    from ombuds.store.migrate import upgrade

    upgrade(url)
    app = build_ombuds(settings_for(url))
    try:
        await app.now()
        seller, seller_token = await create_user(app, name="Bench seller", email="seller@bench.test",
                                                 role="seller", country="CN")
        buyers = [await create_user(app, name=f"Bench buyer {i}", email=f"buyer{i}@bench.test", role="buyer",
                                    country="RU") for i in range(BUYERS)]
        template = await orders.create_order(
            app, caller=PLATFORM, buyer_id=buyers[0][0]["id"], seller_id=seller["id"], currency="USD",
            payment_method="visa", lines=[orders.NewLine("Phone case", 1850, 1), orders.NewLine("USB cable", 990, 2)])
        await orders.ship(app, caller=PLATFORM, order_id=template.id, carrier="China Post",
                          tracking_number="LP000000000CN")
    finally:
        await app.engine.dispose()
    return (seller["id"], seller_token), (buyers[0][0]["id"], buyers[0][1]), template.id


def _grow(url: str, template: int, upto: int) -> None:
    """Copies of the template order (and its lines) until there are ``upto`` orders."""
    import psycopg

    from ombuds.store import tables as t
    order_cols = [c.name for c in t.orders.columns if c.name not in ("id", "buyer_id")]
    line_cols = [c.name for c in t.order_lines.columns if c.name not in ("id", "order_id")]
    with psycopg.connect(url) as conn:
        have = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        last = conn.execute("SELECT max(id) FROM orders").fetchone()[0]
        buyers = [r[0] for r in conn.execute("SELECT id FROM users WHERE role = 'buyer' ORDER BY id")]
        conn.execute(
            f"INSERT INTO orders (buyer_id, {', '.join(order_cols)}) "
            f"SELECT (%(buyers)s::bigint[])[1 + g %% %(nb)s], {', '.join('o.' + c for c in order_cols)} "
            "FROM orders o, generate_series(%(first)s::bigint, %(last)s::bigint) g WHERE o.id = %(tpl)s ORDER BY g",
            {"buyers": buyers, "nb": len(buyers), "first": have, "last": upto - 1, "tpl": template})
        conn.execute(
            f"INSERT INTO order_lines (order_id, {', '.join(line_cols)}) "
            f"SELECT o.id, {', '.join('l.' + c for c in line_cols)} FROM orders o "
            "JOIN order_lines l ON l.order_id = %(tpl)s WHERE o.id > %(last)s ORDER BY o.id, l.position",
            {"tpl": template, "last": last})
        conn.commit()
        conn.execute("ANALYZE orders")
        conn.execute("ANALYZE order_lines")


def measure(*, seconds: int = SECONDS, orders: int = ORDERS) -> dict:
    work = Path(tempfile.mkdtemp(prefix="ombuds-bench-lists-"))
    results: dict[int, dict] = {}
    try:
        with scratch_database("ombuds_bench_lists") as (name, url):
            (seller_id, seller_token), (buyer_id, buyer_token), template = asyncio.run(_seed(url))
            files = {}
            for who, token in (("seller", seller_token), ("buyer", buyer_token)):
                files[who] = work / f"{who}.tsv"
                write_requests(files[who], (Request("GET", "/api/v1/orders?limit=50", token) for _ in range(READS)))
            for size in (SMALL, orders):
                _grow(url, template, size)
                with ombuds_server(url, log=work / f"serve-{size}.log") as (port, proc):
                    results[size] = {who: drive(port, files[who], server_pid=proc.pid, database=name,
                                                seconds=seconds, warmup=2)
                                     for who in ("seller", "buyer")}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def run(ctx: Context) -> list[Row]:
    """The contract of :mod:`bench.run_all`: each list at 100 k orders against the same at 1 k."""
    orders = 10_000 if ctx.quick else ORDERS
    r = measure(seconds=min(ctx.seconds, SECONDS), orders=orders)
    out = []
    for who, owns in (("seller", f"all {orders:,}"), ("buyer", f"{orders // BUYERS:,}")):
        small, big = r[SMALL][who], r[orders][who]
        out.append(row(path=f"GET /api/v1/orders, the {who}'s first page of 50, at {orders:,} orders "
                            f"(the {who} has {owns})", rate=big["per_second"], unit="lists/s",
                       baseline=f"the same list at {SMALL:,} orders", baseline_rate=small["per_second"],
                       target=FLAT_TARGET, cpu_ms=big["cpu_ms"], rss_mb=big["rss_mb"],
                       notes=f"{latency_notes(big)}; at {SMALL:,}: {latency_notes(small)}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=SECONDS)
    parser.add_argument("--orders", type=int, default=ORDERS)
    args = parser.parse_args()
    with time_limit(900, "order lists benchmark"):
        r = measure(seconds=args.seconds, orders=args.orders)
    for size, found in r.items():
        for who, m in found.items():
            cpu = ", ".join(f"{k} {v:.2f}" for k, v in m["cpu_ms"].items())
            print(f"{who}'s list at {size:,} orders: {m['per_second']:.0f} lists/s; {latency_notes(m)}; "
                  f"CPU ms/list: {cpu}")


if __name__ == "__main__":
    main()
