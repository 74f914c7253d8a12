"""Opening disputes over HTTP, beside a bare ASGI endpoint and pgbench, in one run.

A scratch database is migrated and seeded with shipped orders (one fresh line for every
request). ``ombuds serve --workers 2`` then takes ``POST /api/v1/disputes`` from ``wrk``
(each request a buyer's token and a new line: validation, the dispute, its deadline, its
timeline entry and its outbox row, one transaction). The bare endpoint
(:mod:`bench.bare_app`: JSON in, one INSERT, JSON out) is served by the same uvicorn
settings and driven by the same script. wrk shares the machine's cores with the servers
and PostgreSQL.

    .venv/bin/python -m bench.open_dispute [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import pgbench_baseline
from bench.contract import WRITE_TARGET, Context, Row, row
from bench.load import WARMUP_SECONDS, Request, drive, latency_notes, ombuds_server, write_requests
from bench.processes import VENV_BIN, free_port, server, time_limit
from bench.roundtrips import counting
from bench.scratch import database_stats, scratch_database
from bench.seed import DESCRIPTION, Market, migrated_market, settings_for

SECONDS, CONNECTIONS, WRK_THREADS, WORKERS = 10, 32, 2, 2
LINES = 40_000  # more than the fastest run can use; a run that runs out says so


def body(order_id: int, line_id: int) -> str:
    return json.dumps({"order_id": order_id, "line_id": line_id, "received": True,
                       "reason": "missing_items", "resolution": "refund_only", "description": DESCRIPTION},
                      separators=(",", ":"))


def reserve(market: Market) -> list[tuple[int, int, int]]:
    """Two lines of one buyer, kept out of the load for the round-trip count."""
    last = market.lines[-1]
    twin = next(line for line in reversed(market.lines[:-1]) if line[0] == last[0])
    return [twin, last]


def write_bodies(market: Market, path: Path, reserved: list) -> int:
    return write_requests(path, (Request("POST", "/api/v1/disputes", market.buyer_tokens[buyer_id],
                                         body(order_id, line_id))
                                 for buyer_id, order_id, line_id in market.lines
                                 if (buyer_id, order_id, line_id) not in reserved))


async def count_round_trips(url: str, market: Market, reserved: list) -> dict:
    """One open through the real ASGI app in this process, after one by the same buyer to warm
    its caches (prepared statements, a remembered token), as in a server under load."""
    from ombuds.bootstrap import create_app
    app = create_app(settings_for(url))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            async def open_one(buyer_id: int, order_id: int, line_id: int) -> None:
                r = await client.post("/api/v1/disputes", content=body(order_id, line_id),
                                      headers={"Authorization": f"Bearer {market.buyer_tokens[buyer_id]}",
                                               "Content-Type": "application/json"})
                assert r.status_code == 201, r.text
            await open_one(*reserved[0])
            with counting() as seen:
                await open_one(*reserved[1])
    finally:
        await app.state.ombuds.engine.dispose()
    return {"total": seen.total, "transactions": seen.count("BEGIN"), "statements": seen.count("statement"),
            "prepares": seen.count("prepare"), "calls": seen.calls}


async def _seed(url: str, lines: int) -> Market:
    app, market = await migrated_market(url, lines=lines)
    await app.engine.dispose()
    return market


def measure(*, seconds: int = SECONDS, connections: int = CONNECTIONS, threads: int = WRK_THREADS,
            workers: int = WORKERS, lines: int = LINES, pgbench_tps: float | None = None) -> dict:
    if pgbench_tps is None:
        pgbench_tps = pgbench_baseline.measure()["tps"]
    work = Path(tempfile.mkdtemp(prefix="ombuds-bench-"))
    try:
        with scratch_database("ombuds_bench_open") as (name, url):
            started = time.perf_counter()
            market = asyncio.run(_seed(url, lines))
            seeded_in = time.perf_counter() - started
            bodies = work / "bodies.tsv"
            reserved = reserve(market)
            available = write_bodies(market, bodies, reserved)
            load = {"seconds": seconds, "connections": connections, "threads": threads, "database": name}

            bare_port = free_port()
            with server([str(VENV_BIN / "python"), "-m", "bench.bare_app", "--port", str(bare_port),
                         "--workers", str(workers)], port=bare_port, env={"BENCH_BARE_DATABASE_URL": url},
                        log=work / "bare.log") as proc:
                bare = drive(bare_port, bodies, server_pid=proc.pid, **load)
            if bare["errors_socket"]:
                bare["server_log_tail"] = (work / "bare.log").read_text()[-2000:]
            before = database_stats(url)
            with ombuds_server(url, workers=workers, log=work / "ombuds.log") as (port, proc):
                ombuds = drive(port, bodies, server_pid=proc.pid, **load)
            if ombuds["errors_socket"]:
                ombuds["server_log_tail"] = (work / "ombuds.log").read_text()[-2000:]
            time.sleep(1)  # the server's backends have exited and flushed their counters
            after = database_stats(url)
            if ombuds["next"] > available:
                ombuds["ran_out"] = True
            rows = _rows(url)
            trips = asyncio.run(count_round_trips(url, market, reserved))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    opened = rows["disputes"]  # counted before the round-trip count's own two opens
    refused = ombuds["warmup"]["errors_status"] + ombuds["errors_status"]
    return {
        "opens_per_second": ombuds["per_second"], "ombuds": ombuds, "bare": bare,
        "pgbench_tps": pgbench_tps,
        "ratio_to_pgbench": ombuds["per_second"] / pgbench_tps,
        "ratio_to_bare": ombuds["per_second"] / bare["per_second"],
        "bare_ratio_to_pgbench": bare["per_second"] / pgbench_tps,
        "rows": rows, "disputes_opened": opened, "requests_refused": refused,
        # every open wrote its dispute, its timeline entry and its outbox row (2 rows are the seed's)
        "rows_consistent": rows["timeline"] == opened and rows["outbox"] - 2 == opened,
        "transactions_per_open": (after["xact_commit"] + after["xact_rollback"]
                                  - before["xact_commit"] - before["xact_rollback"]) / max(opened, 1),
        "round_trips": trips, "seeded_lines": len(market.lines), "seeded_in_s": seeded_in,
        "settings": {"seconds": seconds, "warmup_seconds": WARMUP_SECONDS, "connections": connections,
                     "wrk_threads": threads, "server_workers": workers, "load_generator": "wrk (shares the cores)"},
    }


def run(ctx: Context) -> list[Row]:
    """The contract of :mod:`bench.run_all`: opening a dispute against pgbench and the bare endpoint."""
    r = measure(seconds=ctx.seconds, lines=8_000 if ctx.quick else LINES, pgbench_tps=ctx.pgbench_tps or None)
    o, b, trips = r["ombuds"], r["bare"], r["round_trips"]
    checked = ("each with one timeline entry and one outbox row" if r["rows_consistent"]
               else "TIMELINE/OUTBOX ROWS DO NOT MATCH the disputes")
    notes = (f"{latency_notes(o)}; {trips['total']} round trips, {r['transactions_per_open']:.2f} transactions "
             f"per open; {r['disputes_opened']} opened, {checked}")
    return [
        row(path="POST /api/v1/disputes (open a dispute)", rate=o["per_second"], unit="opens/s",
            baseline="pgbench TPC-B", baseline_rate=ctx.pgbench_tps, target=WRITE_TARGET,
            cpu_ms=o["cpu_ms"], rss_mb=o["rss_mb"], notes=notes),
        row(path="POST /api/v1/disputes (open a dispute)", rate=o["per_second"], unit="opens/s",
            baseline="bare endpoint (Starlette + asyncpg, one INSERT)", baseline_rate=b["per_second"],
            cpu_ms=b["cpu_ms"], notes=f"CPU ms are the bare endpoint's; its {latency_notes(b)}"),
    ]


def _rows(url: str) -> dict[str, int]:
    import psycopg
    with psycopg.connect(url) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("disputes", "timeline", "outbox", "bench_bare")}


def report(r: dict) -> str:
    o, b = r["ombuds"], r["bare"]
    trips = r["round_trips"]
    lines = [
        f"open dispute (ombuds serve --workers {r['settings']['server_workers']}): "
        f"{o['per_second']:.0f} opens/s  p50 {o['p50_ms']:.1f} ms  p99 {o['p99_ms']:.1f} ms  "
        f"(non-2xx {o['errors_status']}, socket errors {o['errors_socket']}"
        f"{', RAN OUT OF LINES' if o['ran_out'] else ''})",
        f"bare endpoint (Starlette + asyncpg, one INSERT): {b['per_second']:.0f} req/s  "
        f"p50 {b['p50_ms']:.1f} ms  p99 {b['p99_ms']:.1f} ms",
        f"pgbench TPC-B: {r['pgbench_tps']:.0f} TPS",
        f"ratio to pgbench: {r['ratio_to_pgbench']:.2f} (goal 0.50); ratio to bare endpoint: "
        f"{r['ratio_to_bare']:.2f}",
        f"per open: {r['transactions_per_open']:.2f} transactions, {trips['total']} round trips "
        f"({trips['transactions']} BEGIN, {trips['statements']} statements, {trips['prepares']} prepares)",
        "CPU per request (ms): " + "; ".join(
            f"{label} " + ", ".join(f"{k} {v:.2f}" for k, v in x["cpu_ms"].items()
                                        if k not in ("machine", "server_in_kernel"))
            for label, x in (("ombuds", o), ("bare", b))),
        f"rows: {r['disputes_opened']} disputes opened, {r['requests_refused']} requests refused, "
        f"timeline and outbox {'match' if r['rows_consistent'] else 'DO NOT MATCH'} one row per dispute",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=SECONDS)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--threads", type=int, default=WRK_THREADS)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--pgbench-tps", type=float, help="skip pgbench and use this rate")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON too")
    args = parser.parse_args()
    with time_limit(900, "open-dispute benchmark"):
        result = measure(seconds=args.seconds, connections=args.connections, threads=args.threads,
                         workers=args.workers, lines=args.lines, pgbench_tps=args.pgbench_tps)
    print(report(result))
    print("round trips of one open:", *result["round_trips"]["calls"], sep="\n  ")
    if args.json:
        json.dump(result, sys.stdout, indent=2, default=str)


if __name__ == "__main__":
    main()
