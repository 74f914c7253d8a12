"""The arbitration queue's first page with 10,000 escalated disputes (R15), beside baselines.

A scratch database gets 10,000 single-line orders and one dispute escalated by the real
services (opened, rejected by the seller, escalated by the sweeper when negotiation ended);
the other 9,999 are copies of it made by set-based SQL, each on its own line, escalated at
scattered moments over the last 70 days — so the queue holds cases within their target,
past it, near their limit and past it — with the deadline columns the sweeper would have
left. Then, one request at a time (the latency an arbitrator sees, not throughput):

- ``GET /api/v1/arbitration/queue?limit=50`` against ``ombuds serve`` (one worker);
- ``GET /healthz`` on the same server: the HTTP floor;
- the queue's own SQL (first page, ``ORDER BY escalated_at``) through psycopg: the database floor.

The first page is checked to be in deadline order (past-limit cases first).

    .venv/bin/python -m bench.arbitration_queue [--disputes 10000] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import text

from bench.processes import VENV_BIN, code_revision, free_port, server, time_limit, wait_for_quiet
from bench.scratch import scratch_database
from bench.seed import DESCRIPTION, MARKETPLACE_KEY, _copy_columns, migrated_market, server_env
from ombuds.domain import commands as c
from ombuds.domain.disputes import Reason, Resolution
from ombuds.domain.lifecycle import Action
from ombuds.services import disputes
from ombuds.services.context import Caller
from ombuds.services.sweeper import sweep
from ombuds.store import tables as t

DISPUTES, REQUESTS, WARMUP, PAGE = 10_000, 300, 30, 50
SPREAD_HOURS = 70 * 24  # escalations scattered over the last 70 days (the limit is 60)
QUEUE_SQL = ("SELECT * FROM disputes WHERE state = 'escalated' ORDER BY escalated_at, id LIMIT %s")


async def seed(url: str, n: int):
    """``n`` escalated disputes; returns the clock's time (the template's escalation)."""
    app, market = await migrated_market(url, lines=n, lines_per_order=1, buyers=200, sellers=20)
    try:
        buyer_id, order_id, line_id = market.lines[0]
        d = await disputes.open_dispute(app, caller=Caller("buyer", buyer_id), cmd=c.OpenDispute(
            order_id=order_id, line_id=line_id, received=True, reason=Reason.missing_items,
            resolution=Resolution.refund_only, description=DESCRIPTION))
        await disputes.act(app, caller=Caller("seller", d.seller_id), dispute_id=d.id, action=Action.reject,
                           cmd=c.Say("Everything was in the parcel."))
        now = d.opened_at + app.policy.days("negotiation_days")
        await sweep(app, until=now)
        await app.clock.set(now)
        target, limit = app.policy.arbitration_review_target_days, app.policy.arbitration_limit_days
        cols = _copy_columns(t.disputes, replaced={
            "order_id", "line_id", "buyer_id", "seller_id", "escalated_at", "state_entered_at", "deadline",
            "deadline_at", "due_at", "review_target_passed", "review_limit_passed"})
        async with app.engine.begin() as conn:
            await conn.execute(text(
                f"INSERT INTO disputes (order_id, line_id, buyer_id, seller_id, escalated_at, state_entered_at, "
                f"deadline, deadline_at, due_at, review_target_passed, review_limit_passed, {', '.join(cols)}) "
                "SELECT o.id, l.id, o.buyer_id, o.seller_id, e.at, e.at, "
                "  CASE WHEN e.at + make_interval(days => :target) > :now THEN 'review_target' "
                "       WHEN e.at + make_interval(days => :limit) > :now THEN 'review_limit' END, "
                "  CASE WHEN e.at + make_interval(days => :target) > :now "
                "         THEN e.at + make_interval(days => :target) "
                "       WHEN e.at + make_interval(days => :limit) > :now "
                "         THEN e.at + make_interval(days => :limit) END, "
                "  CASE WHEN e.at + make_interval(days => :target) > :now "
                "         THEN e.at + make_interval(days => :target) "
                "       WHEN e.at + make_interval(days => :limit) > :now "
                "         THEN e.at + make_interval(days => :limit) END, "
                "  e.at + make_interval(days => :target) <= :now, e.at + make_interval(days => :limit) <= :now, "
                f"  {', '.join('d.' + c for c in cols)} "
                "FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN disputes d ON d.id = :tpl "
                "CROSS JOIN LATERAL (SELECT CAST(:now AS timestamptz) "
                "  - make_interval(hours => ((l.id * 7919) % :spread)::int) AS at) e "
                "WHERE l.id <> d.line_id ORDER BY l.id"),
                {"tpl": d.id, "now": now, "target": target, "limit": limit, "spread": SPREAD_HOURS})
        return now
    finally:
        await app.engine.dispose()


def _timed(fn, n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _summary(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"median_ms": statistics.median(ms), "p90_ms": ms[int(0.9 * (len(ms) - 1))],
            "min_ms": ms[0], "n": len(ms)}


def measure(*, n: int = DISPUTES, requests: int = REQUESTS) -> dict:
    work = Path(tempfile.mkdtemp(prefix="ombuds-bench-queue-"))
    with scratch_database("ombuds_bench_queue") as (name, url):
        started = time.perf_counter()
        asyncio.run(seed(url, n))
        seeded_in = time.perf_counter() - started
        busy = wait_for_quiet(60)  # other work on the machine takes the cores measured
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            escalated = conn.execute("SELECT count(*) FROM disputes WHERE state = 'escalated'").fetchone()[0]
            for _ in range(WARMUP):
                conn.execute(QUEUE_SQL, (PAGE,)).fetchall()
            sql = _summary(_timed(lambda: conn.execute(QUEUE_SQL, (PAGE,)).fetchall(), requests))
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + QUEUE_SQL, (PAGE,)).fetchall())
        port = free_port()
        with server([str(VENV_BIN / "ombuds"), "serve", "--port", str(port), "--workers", "1"],
                    port=port, env=server_env(url), log=work / "ombuds.log"):
            headers = {"Authorization": f"Bearer {MARKETPLACE_KEY}"}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
                first = client.get("/api/v1/arbitration/queue", params={"limit": PAGE})
                first.raise_for_status()
                page = first.json()
                for _ in range(WARMUP):
                    client.get("/api/v1/arbitration/queue", params={"limit": PAGE}).raise_for_status()
                    client.get("/healthz").raise_for_status()
                queue = _summary(_timed(lambda: client.get("/api/v1/arbitration/queue",
                                                           params={"limit": PAGE}).raise_for_status(), requests))
                floor = _summary(_timed(lambda: client.get("/healthz").raise_for_status(), requests))
    limits = [i["review"]["review_limit_at"] for i in page["items"]]
    return {"escalated": escalated, "seeded_in_s": seeded_in, "page": PAGE, "queue": queue, "healthz": floor,
            "sql": sql, "plan": plan, "summary": page["summary"],
            "in_deadline_order": limits == sorted(limits),
            "first_highlight": page["items"][0]["review"]["highlight"], "revision": code_revision(),
            "machine_busy_before": busy,
            "ratio_to_healthz": queue["median_ms"] / floor["median_ms"],
            "ratio_to_sql": queue["median_ms"] / sql["median_ms"]}


def report(r: dict) -> str:
    q, h, s = r["queue"], r["healthz"], r["sql"]
    return "\n".join([
        f"arbitration queue, first page of {r['page']} among {r['escalated']:,} escalated disputes "
        f"(ombuds serve, 1 worker, sequential requests, n={q['n']}):",
        f"  GET /api/v1/arbitration/queue: median {q['median_ms']:.2f} ms, p90 {q['p90_ms']:.2f} ms",
        f"  GET /healthz (same server):     median {h['median_ms']:.2f} ms, p90 {h['p90_ms']:.2f} ms",
        f"  the queue's SQL via psycopg:    median {s['median_ms']:.2f} ms, p90 {s['p90_ms']:.2f} ms",
        f"  ratio to /healthz {r['ratio_to_healthz']:.1f}x; to the bare SQL {r['ratio_to_sql']:.1f}x",
        f"  in deadline order: {r['in_deadline_order']}; first case: {r['first_highlight']}; "
        f"summary: {r['summary']}",
        f"  plan: {r['plan'].splitlines()[0].strip()} / "
        f"{' / '.join(line.strip() for line in r['plan'].splitlines()[1:3])}",
        f"  seeded in {r['seeded_in_s']:.1f} s; machine {100 * r['machine_busy_before']:.0f}% busy before "
        f"measuring; code: {r['revision']}",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disputes", type=int, default=DISPUTES)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    args = parser.parse_args()
    with time_limit(900, "arbitration-queue benchmark"):
        print(report(measure(n=args.disputes, requests=args.requests)))


if __name__ == "__main__":
    main()
