"""Protection ends: shipped orders complete and their sellers are paid per line (R1), beside
set-based SQL making the same change.

A scratch database gets N shipped orders of 1–4 lines (a quarter of each size), paid in escrow
(their journal entries, postings and running balances), over 200 buyers and 20 sellers; one
line in ten had a dispute the buyer withdrew, so the payout rule reads disputes too. Identical
copies are made with ``CREATE DATABASE … TEMPLATE``; on one, the manual clock is advanced by
61 days (:func:`ombuds.services.clock.advance`, what ``ombuds clock advance 61d`` runs): every
order's protection ends and each line is paid out. On the other, one SQL statement writes the
same rows: the orders completed, a payout, a journal entry and its postings per line, the
running balances, and the outbox rows (``order.completed``, ``payout.made``).

    .venv/bin/python -m bench.protection_end [--orders 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta
from typing import Any, cast

import psycopg
from sqlalchemy import text

from bench.contract import SWEEP_TARGET, Context, Row, row
from bench.pg import first
from bench.processes import CpuMeter, time_limit
from bench.scratch import backend_pids, scratch_database
from bench.seed import T0, UNIT_PRICE, _copy_columns, seed_market, settings_for
from ombuds.bootstrap import build_ombuds
from ombuds.domain import commands as c
from ombuds.domain.disputes import Reason, Resolution
from ombuds.domain.lifecycle import Action
from ombuds.services import disputes, orders
from ombuds.services.clock import advance
from ombuds.services.context import PLATFORM, Caller
from ombuds.store import tables as t
from ombuds.store.migrate import upgrade

ORDERS = 4_000
TABLES = ("orders", "payouts", "journal_entries", "postings", "outbox", "account_balances")


async def _seed(url: str, n: int) -> None:
    upgrade(url)
    app = build_ombuds(settings_for(url))
    try:
        await app.now()
        market = await seed_market(app, lines=1, lines_per_order=1)  # the people, and one order
        buyer_id, _, _ = market.lines[0]
        async with app.engine.connect() as conn:
            sellers = list((await conn.execute(
                text("SELECT id FROM users WHERE role = 'seller' ORDER BY id"))).scalars())
            buyers = list((await conn.execute(text("SELECT id FROM users WHERE role = 'buyer' ORDER BY id"))).scalars())
        templates: list[int] = []
        for size in (1, 2, 3, 4):
            o = await orders.create_order(app, caller=PLATFORM, buyer_id=buyer_id, seller_id=sellers[0],
                                          currency="USD", payment_method="visa",
                                          lines=[orders.NewLine(f"Item {i + 1}", UNIT_PRICE, 1) for i in range(size)])
            order_id = cast(int, o.id)  # recorded: it has its id
            await orders.ship(app, caller=PLATFORM, order_id=order_id, carrier="China Post",
                              tracking_number=f"LP00000000{size}CN")
            templates.append(order_id)
        first = await orders.get_order(app, caller=PLATFORM, order_id=templates[0])
        d = await disputes.open_dispute(app, caller=Caller("buyer", buyer_id), cmd=c.OpenDispute(
            order_id=templates[0], line_id=cast(int, first.lines[0].id),
            received=True, reason=Reason.missing_items, resolution=Resolution.refund_only,
            description="One item is missing from the parcel."))
        dispute_id = cast(int, d.id)  # opened: it has its id
        await disputes.act(app, caller=Caller("buyer", buyer_id), dispute_id=dispute_id, action=Action.withdraw)
        await _copy(app, n, templates, dispute_id, buyers, sellers)
    finally:
        await app.engine.dispose()


async def _copy(app, n: int, templates: list[int], dispute_id: int, buyers: list[int], sellers: list[int]) -> None:
    """N more shipped orders like the templates (sizes in turn), paid in escrow; a withdrawn
    dispute on every tenth order's first line."""
    order_cols = _copy_columns(t.orders, replaced={"buyer_id", "seller_id", "tracking_number"})
    line_cols = _copy_columns(t.order_lines, replaced={"order_id"})
    dispute_cols = _copy_columns(t.disputes, replaced={"order_id", "line_id", "buyer_id", "seller_id"})
    async with app.engine.begin() as conn:
        await conn.execute(text("CREATE TEMP TABLE copies (id bigint, tpl bigint, g int) ON COMMIT DROP"))
        await conn.execute(text(
            f"WITH made AS (INSERT INTO orders (buyer_id, seller_id, tracking_number, {', '.join(order_cols)}) "
            f"SELECT (CAST(:buyers AS bigint[]))[1 + g % :nb], (CAST(:sellers AS bigint[]))[1 + g % :ns], "
            f"'LP' || lpad(g::text, 9, '0') || 'CN', {', '.join('o.' + c for c in order_cols)} "
            "FROM generate_series(1, :n) g JOIN orders o ON o.id = (CAST(:tpls AS bigint[]))[1 + g % 4] "
            "ORDER BY g RETURNING id, tracking_number) "
            "INSERT INTO copies SELECT m.id, (CAST(:tpls AS bigint[]))[1 + substr(m.tracking_number, 3, 9)::int % 4], "
            "substr(m.tracking_number, 3, 9)::int FROM made m"),
            {"buyers": buyers, "nb": len(buyers), "sellers": sellers, "ns": len(sellers), "n": n, "tpls": templates})
        await conn.execute(text(
            f"INSERT INTO order_lines (order_id, {', '.join(line_cols)}) "
            f"SELECT c.id, {', '.join('l.' + c for c in line_cols)} FROM copies c "
            "JOIN order_lines l ON l.order_id = c.tpl ORDER BY c.id, l.position"))
        # R1: each order's payment held in escrow, as record_payment writes it
        await conn.execute(text(
            "INSERT INTO journal_entries (kind, order_id, memo, created_at) "
            "SELECT 'order_paid', o.id, 'payment held in escrow', o.created_at FROM copies c "
            "JOIN orders o ON o.id = c.id ORDER BY o.id"))
        await conn.execute(text(
            "INSERT INTO postings (entry_id, account, currency, amount) "
            "SELECT e.id, p.account, 'USD', p.amount FROM copies c JOIN journal_entries e ON e.order_id = c.id "
            "AND e.kind = 'order_paid' JOIN orders o ON o.id = c.id JOIN order_lines l ON l.order_id = c.id "
            "CROSS JOIN LATERAL (VALUES ('buyer:' || o.buyer_id || '\\:payments', -l.unit_price * l.quantity), "
            "('escrow:line:' || l.id, l.unit_price * l.quantity)) AS p(account, amount) ORDER BY e.id"))
        await conn.execute(text(
            "INSERT INTO account_balances (account, currency, balance) "
            "SELECT p.account, p.currency, sum(p.amount) FROM postings p JOIN journal_entries e ON e.id = p.entry_id "
            "JOIN copies c ON c.id = e.order_id GROUP BY p.account, p.currency "
            "ON CONFLICT (account, currency) DO UPDATE SET balance = account_balances.balance + EXCLUDED.balance"))
        await conn.execute(text(
            f"INSERT INTO disputes (order_id, line_id, buyer_id, seller_id, {', '.join(dispute_cols)}) "
            f"SELECT o.id, l.id, o.buyer_id, o.seller_id, {', '.join('d.' + c for c in dispute_cols)} "
            "FROM copies c JOIN orders o ON o.id = c.id JOIN order_lines l ON l.order_id = c.id AND l.position = 1 "
            "JOIN disputes d ON d.id = :d WHERE c.g % 10 = 0 ORDER BY o.id"), {"d": dispute_id})


def _vacuum(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        counts = {name: first(conn.execute(f"SELECT count(*) FROM {name}")) for name in TABLES}
        counts["completed orders"] = first(conn.execute(
            "SELECT count(*) FROM orders WHERE state = 'completed'"))
        counts["shipped orders"] = first(conn.execute("SELECT count(*) FROM orders WHERE state = 'shipped'"))
    return counts


async def _advance(url: str, name: str) -> tuple[int, float, dict]:
    app = build_ombuds(settings_for(url))
    try:
        await app.now()  # a connection in the pool, as in a running worker
        with CpuMeter(None, lambda: backend_pids(name)) as meter:
            cpu, started = time.process_time(), time.perf_counter()
            _, fired = await advance(app, timedelta(days=61))
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return fired, seconds, {"python": cpu, "postgres": meter.result["postgres"]}
    finally:
        await app.engine.dispose()


SET_BASED = """
WITH done AS (
    UPDATE orders o SET state = 'completed', completed_at = o.protection_ends_at,
        dispute_window_ends_at = o.protection_ends_at + make_interval(days => %(window)s),
        deadline_at = o.protection_ends_at + make_interval(days => %(window)s), version = o.version + 1
    WHERE o.state = 'shipped' AND o.deadline_at <= %(until)s
    RETURNING o.id, o.buyer_id, o.seller_id, o.currency, o.completed_at AS at
), due AS (
    SELECT d.*, l.id AS line_id, b.balance AS amount
    FROM done d JOIN order_lines l ON l.order_id = d.id
    JOIN account_balances b ON b.account = 'escrow:line:' || l.id AND b.currency = d.currency
    WHERE NOT EXISTS (SELECT 1 FROM disputes x WHERE x.line_id = l.id AND x.state <> 'closed')
      AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.line_id = l.id) AND b.balance > 0
), paid AS (
    INSERT INTO payouts (order_id, line_id, seller_id, amount, currency, created_at)
    SELECT id, line_id, seller_id, amount, currency, at FROM due RETURNING 1
), entries AS (
    INSERT INTO journal_entries (kind, order_id, line_id, memo, created_at)
    SELECT 'payout', id, line_id, '', at FROM due RETURNING id, line_id
), postings AS (
    INSERT INTO postings (entry_id, account, currency, amount)
    SELECT e.id, p.account, d.currency, p.amount FROM entries e JOIN due d ON d.line_id = e.line_id
    CROSS JOIN LATERAL (VALUES ('escrow:line:' || d.line_id, -d.amount), ('seller:' || d.seller_id, d.amount))
        AS p(account, amount)
    RETURNING 1
), balances AS (
    INSERT INTO account_balances (account, currency, balance)
    SELECT account, currency, sum(amount) FROM (
        SELECT 'escrow:line:' || line_id AS account, currency, -amount AS amount FROM due
        UNION ALL SELECT 'seller:' || seller_id, currency, amount FROM due) m
    GROUP BY account, currency
    ON CONFLICT (account, currency) DO UPDATE SET balance = account_balances.balance + EXCLUDED.balance
    RETURNING 1
), events AS (
    INSERT INTO outbox (type, aggregate, aggregate_id, payload, created_at)
    SELECT 'order.completed', 'order', d.id, jsonb_build_object('order_id', d.id, 'buyer_id', d.buyer_id,
           'seller_id', d.seller_id, 'state', 'completed', 'by', 'protection_ended'), d.at FROM done d
    UNION ALL
    SELECT 'payout.made', 'order', d.id, jsonb_build_object('order_id', d.id, 'seller_id', d.seller_id,
           'currency', d.currency, 'lines', jsonb_object_agg(d.line_id::text, d.amount)), d.at
    FROM due d GROUP BY d.id, d.seller_id, d.currency, d.at
    RETURNING 1
)
SELECT (SELECT count(*) FROM done), (SELECT count(*) FROM paid), (SELECT count(*) FROM postings),
       (SELECT count(*) FROM events)
"""


def _set_based(url: str, name: str, until) -> tuple[int, float, dict]:
    with psycopg.connect(url) as conn:
        conn.execute("SELECT 1").fetchone()
        conn.commit()
        with CpuMeter(None, lambda: backend_pids(name)) as meter:
            started = time.perf_counter()
            changed = first(conn.execute(SET_BASED, {"until": until, "window": 15}))
            conn.commit()
            seconds = time.perf_counter() - started
        return changed, seconds, {"postgres": meter.result["postgres"]}


def measure(*, n: int = ORDERS) -> dict:
    with scratch_database("ombuds_bench_prot_seed") as (seed_name, seed_url):
        started = time.perf_counter()
        asyncio.run(_seed(seed_url, n))
        _vacuum(seed_url)
        seeded_in = time.perf_counter() - started
        before = _counts(seed_url)
        results: dict[str, dict[str, Any]] = {}
        with scratch_database("ombuds_bench_prot_a", template=seed_name) as (copy, url):
            fired, seconds, cpu = asyncio.run(_advance(url, copy))
            after = _counts(url)
            results["advance"] = {"rows": after["completed orders"] - before["completed orders"], "seconds": seconds,
                                  "cpu_seconds": cpu, "written": _written(before, after), "fired": fired}
        with scratch_database("ombuds_bench_prot_b", template=seed_name) as (copy, url):
            _, seconds, cpu = _set_based(url, copy, T0 + timedelta(days=61))
            after = _counts(url)
            results["set_based"] = {"rows": after["completed orders"] - before["completed orders"],
                                    "seconds": seconds, "cpu_seconds": cpu, "written": _written(before, after)}
    for r in results.values():
        r["rows_per_second"] = r["rows"] / r["seconds"]
        r["cpu_ms_per_row"] = {k: 1000 * v / max(r["rows"], 1) for k, v in r["cpu_seconds"].items()}
    shipped = before["shipped orders"]
    return {**results, "orders": shipped, "seeded_in_s": seeded_in,
            "all_completed": all(r["rows"] == shipped for r in results.values()),
            "same_rows": results["advance"]["written"] == results["set_based"]["written"],
            "ratio": results["advance"]["rows_per_second"] / results["set_based"]["rows_per_second"]}


def _written(before: dict, after: dict) -> dict[str, int]:
    return {k: after[k] - before[k] for k in TABLES if after[k] != before[k]}


def report(r: dict) -> str:
    def line(label: str, x: dict) -> str:
        wrote = ", ".join(f"{n} {k}" for k, n in x["written"].items())
        cpu = ", ".join(f"{k} {v:.3f}" for k, v in x["cpu_ms_per_row"].items())
        return (f"{label}: {x['rows']} orders in {x['seconds']:.2f} s = {x['rows_per_second']:.0f} orders/s "
                f"(CPU ms per order: {cpu}; wrote {wrote})")
    return "\n".join([line("clock advance 61d", r["advance"]), line("set-based SQL", r["set_based"]),
                      f"ratio: {r['ratio']:.3f} (target {SWEEP_TARGET})"
                      + ("" if r["all_completed"] else "  — NOT EVERY ORDER COMPLETED")
                      + ("" if r["same_rows"] else "  — THE TWO WROTE DIFFERENT ROW COUNTS")])


def run(ctx: Context) -> list[Row]:
    """The contract of :mod:`bench.run_all`: protection's end with payouts against set-based SQL."""
    r = measure(n=1_000 if ctx.quick else ORDERS)
    a = r["advance"]
    wrote = ", ".join(f"{n} {k}" for k, n in a["written"].items())
    checked = ("" if r["all_completed"] and r["same_rows"]
               else "; THE TWO DID NOT WRITE THE SAME ROWS: not comparable")
    return [row(path=f"protection end → completed, payout per line ({r['orders']} orders of 1–4 lines, "
                     "1 in 10 with a withdrawn dispute; clock advance 61d, 1 process)",
                rate=a["rows_per_second"], unit="orders/s",
                baseline="set-based SQL writing the same rows", baseline_rate=r["set_based"]["rows_per_second"],
                target=SWEEP_TARGET,
                cpu_ms={"sweeper": a["cpu_ms_per_row"]["python"], "postgres": a["cpu_ms_per_row"]["postgres"]},
                notes=f"wrote {wrote}{checked}; the baseline's PostgreSQL CPU: "
                      f"{r['set_based']['cpu_ms_per_row']['postgres']:.3f} ms per order")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=ORDERS)
    args = parser.parse_args()
    with time_limit(900, "protection end benchmark"):
        result = measure(n=args.orders)
    print(report(result))


if __name__ == "__main__":
    main()
