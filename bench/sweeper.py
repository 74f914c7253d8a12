"""The sweeper applying due deadlines, beside set-based SQL making the same change.

A scratch database gets N disputes awaiting the seller whose "respond by" deadline has
passed (one per single-line order: the common case). Identical copies are made with
``CREATE DATABASE … TEMPLATE``; on one, :func:`ombuds.services.sweeper.sweep` applies the
deadlines (R12: the seller's silence refunds the buyer and closes the dispute); on the
others, set-based SQL does it in one statement:

- the UPDATE: ``UPDATE disputes SET state='closed', … WHERE state='awaiting_seller' AND
  deadline_at <= now`` — the dispute rows only;
- the UPDATE with its trail: the same, plus the two timeline entries and three outbox rows
  a silent seller's dispute gets, from ``UPDATE … RETURNING`` in one statement.

- the same rows as the sweeper: the UPDATE with its trail, plus each dispute's refund, its
  journal entry and two postings, the running balances and the ``refund.issued`` outbox row.

The last writes what the sweeper writes and is the target's baseline (DESIGN.md §8: every sweep
≥ 0.5 × the set-based SQL writing the same rows); the row counts are printed beside each, so
any difference in work is in plain sight. The sweeper
also sends each refund to the (simulated) payment provider, outside its transactions.

    .venv/bin/python -m bench.sweeper [--disputes 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import psycopg

from bench.contract import SWEEP_TARGET, Context, Row, row
from bench.pg import first
from bench.processes import CpuMeter, time_limit
from bench.scratch import backend_pids, scratch_database
from bench.seed import migrated_market, seed_due_disputes, settings_for
from ombuds.bootstrap import build_ombuds
from ombuds.services.sweeper import sweep
from ombuds.store import tables as t

DISPUTES = 20_000
TABLES = ("disputes", "timeline", "outbox", "refunds", "journal_entries", "postings", "payouts", "account_balances",
          "provider_refunds")


async def _seed(url: str, n: int) -> datetime:
    app, market = await migrated_market(url, lines=n, lines_per_order=1)
    try:
        return await seed_due_disputes(app, market)
    finally:
        await app.engine.dispose()


def _vacuum(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        found = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        counts = {name: first(conn.execute(f"SELECT count(*) FROM {name}"))
                  for name in TABLES if name in found}
        counts["closed disputes"] = first(conn.execute(
            "SELECT count(*) FROM disputes WHERE state = 'closed'"))
    return counts


async def _sweep(url: str, name: str, until: datetime) -> tuple[int, float, dict]:
    app = build_ombuds(settings_for(url))
    try:
        await app.now()  # a connection in the pool, as in a running worker
        with CpuMeter(None, lambda: backend_pids(name)) as meter:
            cpu, started = time.process_time(), time.perf_counter()
            fired = await sweep(app, until=until)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return fired, seconds, {"python": cpu, "postgres": meter.result["postgres"]}
    finally:
        await app.engine.dispose()


def _set_clause() -> str:
    """What a silent seller's deadline changes on the dispute row (R12 → agreed → closed)."""
    sets = ["state = 'closed'", "state_entered_at = deadline_at", "deadline = NULL", "deadline_at = NULL",
            "version = version + 1", "agreed_resolution = 'refund_only'", "agreed_amount = proposal_amount",
            "refunded_amount = proposal_amount",
            "outcome = CASE WHEN proposal_amount >= unit_price * quantity THEN 'refunded_full' "
            "ELSE 'refunded_partial' END",
            "closed_at = deadline_at"]
    columns = set(t.disputes.c.keys())
    sets += [f"{c} = NULL" for c in ("due_at", "reminder_at") if c in columns]
    return ", ".join(sets)


UPDATE = "UPDATE disputes SET {sets} WHERE state = 'awaiting_seller' AND deadline_at <= %(until)s"

UPDATE_WITH_TRAIL = """
WITH closed AS (
    UPDATE disputes d SET {sets}
    WHERE d.state = 'awaiting_seller' AND d.deadline_at <= %(until)s
    RETURNING d.id, d.order_id, d.line_id, d.buyer_id, d.seller_id, d.closed_at AS at, d.outcome
), entries AS (
    INSERT INTO timeline (dispute_id, at, actor, actor_id, action, from_state, to_state, deadline,
                          deadline_at, details)
    SELECT c.id, c.at, 'system', NULL, s.action, s.from_state, s.to_state, s.deadline, s.deadline_at,
           '{{}}'::jsonb
    FROM closed c CROSS JOIN LATERAL (VALUES
        ('seller_silence', 'awaiting_seller', 'agreed', 'respond_by', c.at),
        ('execute', 'agreed', 'closed', NULL, NULL)) AS s(action, from_state, to_state, deadline, deadline_at)
    RETURNING 1
), events AS (
    INSERT INTO outbox (type, aggregate, aggregate_id, payload, created_at)
    SELECT e.type, 'dispute', c.id,
           jsonb_build_object('dispute_id', c.id, 'order_id', c.order_id, 'line_id', c.line_id,
                              'buyer_id', c.buyer_id, 'seller_id', c.seller_id, 'action', e.action,
                              'outcome', c.outcome, 'state', e.state),
           %(until)s
    FROM closed c CROSS JOIN (VALUES
        ('dispute.seller_silence', 'seller_silence', 'agreed'), ('dispute.execute', 'execute', 'closed'),
        ('dispute.closed', 'closed', 'closed')) AS e(type, action, state)
    RETURNING 1
)
SELECT (SELECT count(*) FROM closed), (SELECT count(*) FROM entries), (SELECT count(*) FROM events)
"""

# The same, plus what the sweeper's money step writes for each: the refund (R12: the amount
# proposed), its journal entry with two postings (the refund account, and where the money comes
# from — in this data set the seller's account, as the copied lines hold no escrow), the running
# balances, and the refund's outbox row. Its R20 window is counted in calendar days here (SQL
# has no holiday calendar); the sweeper counts business days of the buyer's country.
UPDATE_WITH_REFUNDS = UPDATE_WITH_TRAIL.replace("""    RETURNING 1
)
SELECT""", """    RETURNING 1
), refunds AS (
    INSERT INTO refunds (dispute_id, order_id, line_id, buyer_id, amount, currency, payment_method,
                         destination, reason, idempotency_key, created_at, expected_earliest,
                         expected_latest, next_attempt_at)
    SELECT c.id, c.order_id, c.line_id, c.buyer_id, d.refunded_amount, d.currency, o.payment_method,
           d.refund_to, 'seller_silence', 'refund-bench-' || c.id, c.at, c.at::date + 3, c.at::date + 21,
           c.at
    FROM closed c JOIN disputes d ON d.id = c.id JOIN orders o ON o.id = c.order_id
    RETURNING id, dispute_id, order_id, line_id, buyer_id, amount, currency, created_at
), money AS (
    INSERT INTO journal_entries (kind, order_id, line_id, dispute_id, refund_id, memo, created_at)
    SELECT 'refund_issued', r.order_id, r.line_id, r.dispute_id, r.id, '', r.created_at FROM refunds r
    RETURNING id, refund_id
), postings AS (
    INSERT INTO postings (entry_id, account, currency, amount)
    SELECT m.id, p.account, r.currency, p.amount FROM money m JOIN refunds r ON r.id = m.refund_id
    JOIN closed c ON c.id = r.dispute_id
    CROSS JOIN LATERAL (VALUES ('refund:' || r.id, r.amount), ('seller:' || c.seller_id, -r.amount))
        AS p(account, amount)
    RETURNING 1
), balances AS (
    INSERT INTO account_balances (account, currency, balance)
    SELECT account, currency, sum(amount) FROM (
        SELECT 'refund:' || r.id AS account, r.currency, r.amount FROM refunds r
        UNION ALL SELECT 'seller:' || c.seller_id, r.currency, -r.amount
        FROM refunds r JOIN closed c ON c.id = r.dispute_id) m
    GROUP BY account, currency
    ON CONFLICT (account, currency) DO UPDATE SET balance = account_balances.balance + EXCLUDED.balance
    RETURNING 1
), refund_events AS (
    INSERT INTO outbox (type, aggregate, aggregate_id, payload, created_at)
    SELECT 'refund.issued', 'refund', r.id, jsonb_build_object('refund_id', r.id, 'order_id', r.order_id,
           'dispute_id', r.dispute_id, 'buyer_id', r.buyer_id, 'amount', r.amount, 'currency', r.currency),
           r.created_at
    FROM refunds r
    RETURNING 1
)
SELECT""")


def _set_based(url: str, name: str, sql: str, until: datetime) -> tuple[int, float, dict]:
    with psycopg.connect(url) as conn:
        conn.execute("SELECT 1").fetchone()  # connected, as the sweeper's pool is
        conn.commit()
        with CpuMeter(None, lambda: backend_pids(name)) as meter:
            started = time.perf_counter()
            cur = conn.execute(sql.format(sets=_set_clause()), {"until": until})
            changed = first(cur) if cur.description else cur.rowcount
            conn.commit()
            seconds = time.perf_counter() - started
        return changed, seconds, {"postgres": meter.result["postgres"]}


def measure(*, disputes: int = DISPUTES) -> dict:
    with scratch_database("ombuds_bench_sweep_seed") as (seed_name, seed_url):
        started = time.perf_counter()
        deadline = asyncio.run(_seed(seed_url, disputes))
        _vacuum(seed_url)
        seeded_in = time.perf_counter() - started
        until = deadline + timedelta(hours=1)
        before = _counts(seed_url)
        results: dict[str, dict[str, Any]] = {}
        with scratch_database("ombuds_bench_sweep_a", template=seed_name) as (copy, url):
            fired, seconds, cpu = asyncio.run(_sweep(url, copy, until))
            after = _counts(url)
            results["sweep"] = {"rows": after["closed disputes"] - before["closed disputes"], "fired": fired,
                                "seconds": seconds, "cpu_seconds": cpu, "written": _written(before, after)}
        for key, sql in (("update", UPDATE), ("update_with_trail", UPDATE_WITH_TRAIL),
                         ("update_with_refunds", UPDATE_WITH_REFUNDS)):
            with scratch_database(f"ombuds_bench_sweep_{key[:8]}", template=seed_name) as (copy, url):
                changed, seconds, cpu = _set_based(url, copy, sql, until)
                after = _counts(url)
                results[key] = {"rows": after["closed disputes"] - before["closed disputes"],
                                "seconds": seconds, "cpu_seconds": cpu, "written": _written(before, after)}
    for r in results.values():
        r["rows_per_second"] = r["rows"] / r["seconds"]
        r["cpu_ms_per_row"] = {k: 1000 * v / max(r["rows"], 1) for k, v in r["cpu_seconds"].items()}
    sweep_rate = results["sweep"]["rows_per_second"]
    return {**results, "disputes": disputes, "seeded_in_s": seeded_in,
            "all_closed": all(r["rows"] == disputes for r in results.values()),
            "ratio_to_update": sweep_rate / results["update"]["rows_per_second"],
            "ratio_to_update_with_trail": sweep_rate / results["update_with_trail"]["rows_per_second"],
            "ratio_to_update_with_refunds": sweep_rate / results["update_with_refunds"]["rows_per_second"]}


def _written(before: dict, after: dict) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before if k not in ("closed disputes", "disputes")
            and after[k] != before[k]}


def report(r: dict) -> str:
    def line(label: str, x: dict) -> str:
        wrote = ", ".join(f"{n} {k}" for k, n in x["written"].items()) or "no other rows"
        cpu = ", ".join(f"{k} {v:.3f}" for k, v in x["cpu_ms_per_row"].items())
        return (f"{label}: {x['rows']} deadlines in {x['seconds']:.2f} s = {x['rows_per_second']:.0f} rows/s "
                f"(CPU ms per row: {cpu}; also wrote {wrote})")
    return "\n".join([
        line("sweep()", r["sweep"]),
        line("set-based UPDATE", r["update"]),
        line("set-based UPDATE + timeline + outbox", r["update_with_trail"]),
        line("set-based UPDATE + timeline + outbox + refunds and their ledger rows", r["update_with_refunds"]),
        f"ratio to the UPDATE: {r['ratio_to_update']:.3f}; to the UPDATE with its trail: "
        f"{r['ratio_to_update_with_trail']:.3f}; to the same rows with refunds: "
        f"{r['ratio_to_update_with_refunds']:.3f} (target 0.50)"
        + ("" if r["all_closed"] else "  — NOT EVERY DISPUTE WAS CLOSED"),
    ])


def run(ctx: Context) -> list[Row]:
    """The contract of :mod:`bench.run_all`: the dispute deadline sweep against set-based SQL."""
    r = measure(disputes=2_000 if ctx.quick else DISPUTES)
    sw = r["sweep"]
    wrote = ", ".join(f"{n} {k}" for k, n in sw["written"].items())
    checked = "" if r["all_closed"] else "; NOT EVERY DISPUTE WAS CLOSED: not comparable"
    return [row(path=f"dispute deadline sweep, refunds (R12), {r['disputes']} due, 1 process",
                rate=sw["rows_per_second"], unit="deadlines/s", baseline=label,
                baseline_rate=r[key]["rows_per_second"], target=target,
                cpu_ms={"sweeper": sw["cpu_ms_per_row"]["python"], "postgres": sw["cpu_ms_per_row"]["postgres"]},
                notes=(f"sweep wrote {wrote}{checked}" if key == "update_with_refunds" else
                       f"the baseline's PostgreSQL CPU: {r[key]['cpu_ms_per_row']['postgres']:.3f} ms per row"))
            for key, label, target in (("update_with_refunds", "set-based SQL writing the same rows "
                                        "(+ refunds, journal entries, postings, balances)", SWEEP_TARGET),
                                       ("update", "set-based UPDATE of the disputes", None),
                                       ("update_with_trail", "set-based UPDATE + timeline + outbox", None))]



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disputes", type=int, default=DISPUTES)
    args = parser.parse_args()
    with time_limit(900, "sweeper benchmark"):
        result = measure(disputes=args.disputes)
    print(report(result))


if __name__ == "__main__":
    main()
