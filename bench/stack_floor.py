"""How fast can this stack record a paid order at all? Ombuds beside the same statements with less around them.

One scratch database, migrated and seeded with buyers and sellers. One file of prepared
``POST /api/v1/orders`` requests (orders of two lines, as :mod:`bench.order_paths`), each sent
once by ``wrk -t2 -c32`` to one server after the other, each served with two worker processes
by uvicorn as ``ombuds serve`` is:

1. Ombuds (``ombuds serve --workers 2``);
2. :mod:`bench.floor_apps`' ``sqlalchemy`` app: FastAPI, a pydantic model, SQLAlchemy Core over
   Ombuds' tables and engine — the same ten round trips, nothing else;
3. its ``fastapi`` app: FastAPI and the pydantic model over asyncpg;
4. its ``starlette`` app: Starlette and asyncpg;
5. its ``one_statement`` app: Starlette and asyncpg sending the same rows as one statement.

Each rung writes the same rows (order, two lines, outbox row, escrow entry, four postings, three
running balances) and is checked to have done so. Rates are compared with pgbench TPC-B in the
same run, and CPU is read per request by process, so the cost of each layer shows.

    .venv/bin/python -m bench.stack_floor [--seconds 10] [--pgbench-tps 3282]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from bench import pgbench_baseline
from bench.contract import WRITE_TARGET, Context, Row, row
from bench.load import Request, drive, latency_notes, ombuds_server, write_requests
from bench.order_paths import BUYERS, SELLERS, _order_body, _seed_people
from bench.processes import VENV_BIN, free_port, server, time_limit
from bench.scratch import scratch_database
from bench.seed import MARKETPLACE_KEY

SECONDS = 10
REQUESTS = 120_000  # more than five measured runs and their warm-ups use on this machine (23,795 by the fastest)
RUNGS = ("ombuds", "sqlalchemy", "fastapi", "starlette", "one_statement")
NAMES = {"ombuds": "Ombuds", "sqlalchemy": "FastAPI + pydantic + SQLAlchemy Core, the same statements",
         "fastapi": "FastAPI + pydantic + asyncpg, the same statements",
         "starlette": "Starlette + asyncpg, the same statements",
         "one_statement": "Starlette + asyncpg, the same rows in one statement"}


def _written(url: str, first_order: int) -> dict[str, int]:
    """Rows written by orders after ``first_order``: each must have its lines, entry, postings."""
    import psycopg
    with psycopg.connect(url) as conn:
        def q(sql: str) -> int:
            return conn.execute(sql, {"first": first_order}).fetchone()[0]
        return {"orders": q("SELECT count(*) FROM orders WHERE id > %(first)s"),
                "lines": q("SELECT count(*) FROM order_lines WHERE order_id > %(first)s"),
                "outbox": q("SELECT count(*) FROM outbox WHERE aggregate = 'order' AND aggregate_id > %(first)s"),
                "entries": q("SELECT count(*) FROM journal_entries WHERE order_id > %(first)s"),
                "postings": q("SELECT count(*) FROM postings p JOIN journal_entries e ON e.id = p.entry_id "
                              "WHERE e.order_id > %(first)s"),
                "max_order": q("SELECT coalesce(max(id), 0) FROM orders")}


def _check(name: str, w: dict[str, int]) -> None:
    n = w["orders"]
    expected = {"lines": 2 * n, "outbox": n, "entries": n, "postings": 4 * n}
    wrong = {k: (w[k], v) for k, v in expected.items() if w[k] != v}
    if not n or wrong:
        raise RuntimeError(f"{name} did not write what recording an order writes: {n} orders, "
                           f"(found, expected) {wrong}")


def measure(*, seconds: int = SECONDS, pgbench_tps: float | None = None) -> dict:
    if pgbench_tps is None:
        pgbench_tps = pgbench_baseline.measure()["tps"]
    work = Path(tempfile.mkdtemp(prefix="ombuds-bench-floor-"))
    results: dict[str, dict] = {}
    try:
        with scratch_database("ombuds_bench_floor") as (name, url):
            buyers, sellers = asyncio.run(_seed_people(url))
            buyer_ids, seller_ids = list(buyers), list(sellers)
            requests_file = work / "record.tsv"
            write_requests(requests_file, (Request("POST", "/api/v1/orders", MARKETPLACE_KEY,
                                                   _order_body(buyer_ids[i % BUYERS], seller_ids[i % SELLERS], i))
                                           for i in range(REQUESTS)))
            load = {"seconds": seconds, "database": name}
            at, last_order = 0, 0
            for rung in RUNGS:
                if rung == "ombuds":
                    with ombuds_server(url, log=work / "serve.log") as (port, proc):
                        results[rung] = drive(port, requests_file, server_pid=proc.pid, first=at, **load)
                else:
                    port = free_port()
                    env = {"BENCH_FLOOR_APP": rung, "BENCH_FLOOR_DATABASE_URL": url,
                           "OMBUDS_MARKETPLACE_KEY": MARKETPLACE_KEY}
                    with server([str(VENV_BIN / "python"), "-m", "bench.floor_apps", "--port", str(port),
                                 "--workers", "2"], port=port, env=env, log=work / f"{rung}.log") as proc:
                        results[rung] = drive(port, requests_file, server_pid=proc.pid, first=at, **load)
                at = results[rung]["next"]
                written = _written(url, last_order)
                _check(rung, written)
                results[rung]["written"], last_order = written, written["max_order"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"rungs": results, "pgbench_tps": pgbench_tps}


def run(ctx: Context) -> list[Row]:
    """The contract of :mod:`bench.run_all`: each rung beside pgbench; the framework's rungs are references."""
    r = measure(seconds=ctx.seconds, pgbench_tps=ctx.pgbench_tps or None)
    out = []
    for rung in RUNGS:
        p = r["rungs"][rung]
        out.append(row(path=f"POST /api/v1/orders — {NAMES[rung]}", rate=p["per_second"], unit="requests/s",
                       baseline="pgbench TPC-B", baseline_rate=r["pgbench_tps"],
                       target=WRITE_TARGET if rung == "ombuds" else None, cpu_ms=p["cpu_ms"], rss_mb=p["rss_mb"],
                       notes=f"{latency_notes(p)}; {p['written']['orders']} orders written, each checked"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=SECONDS)
    parser.add_argument("--pgbench-tps", type=float, help="skip pgbench and use this rate")
    args = parser.parse_args()
    started = time.monotonic()
    with time_limit(600, "stack floor benchmark"):
        r = measure(seconds=args.seconds, pgbench_tps=args.pgbench_tps)
    print(f"pgbench TPC-B: {r['pgbench_tps']:.0f} TPS")
    for rung in RUNGS:
        p = r["rungs"][rung]
        cpu = ", ".join(f"{k} {v:.2f}" for k, v in p["cpu_ms"].items())
        print(f"{NAMES[rung]}: {p['per_second']:.0f}/s (ratio {p['per_second'] / r['pgbench_tps']:.3f}); "
              f"{latency_notes(p)}; CPU ms/request: {cpu}")
    print(f"[{time.monotonic() - started:.0f} s]")


if __name__ == "__main__":
    main()
