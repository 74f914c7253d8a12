"""A seller's and a buyer's balance over HTTP at 1 k, 100 k and 1 M postings of their account.

A scratch database gets one seller and one buyer; their accounts (``seller:<id>`` and
``buyer:<id>:balance``) then receive postings set-based — journal entries of two postings
each, one to each account, balanced, with the running balances kept equal to the postings
as the ledger keeps them. At each size ``ombuds serve --workers 2``
answers ``GET /api/v1/balances/sellers/{id}`` (the seller's own token) and
``GET /api/v1/balances/buyers/{id}`` (the buyer's) under ``wrk -t2 -c32``. The target is the
same rate at 1 M postings as at 1 k: each size's rate is compared with the 1 k rate of the
same run (≥ 0.8 counts as the same on a shared machine).

    .venv/bin/python -m bench.balances [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from bench.contract import Context, Row, row
from bench.load import Request, drive, latency_notes, ombuds_server, write_requests
from bench.processes import time_limit
from bench.scratch import scratch_database
from bench.seed import settings_for

SECONDS = 5
SIZES = (1_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000, 100_000)
FLAT_TARGET = 0.8  # the same rate at every size, within this machine's noise
READS = 30_000  # more than a run of a few seconds uses (wrk reads them all at start)


async def _people(url: str) -> dict[str, tuple[int, str]]:
    from ombuds.bootstrap import build_ombuds
    from ombuds.services.users import create_user
    from ombuds.store.migrate import upgrade

    upgrade(url)
    app = build_ombuds(settings_for(url))
    try:
        await app.now()
        found = {}
        for role, country in (("seller", "CN"), ("buyer", "RU")):
            user, token = await create_user(app, name=f"Bench {role}", email=f"{role}@bench.test", role=role,
                                            country=country)
            found[role] = (user["id"], token)
    finally:
        await app.engine.dispose()
    return found


def _grow(url: str, accounts: tuple[str, str], entries: int) -> None:
    """``entries`` more journal entries, each moving 1.00 from the buyer's account to the
    seller's: two postings, balanced (the rows are what counts here, not their meaning)."""
    import psycopg
    seller, buyer = accounts
    with psycopg.connect(url) as conn:
        conn.execute("""
            WITH e AS (
                INSERT INTO journal_entries (kind, memo, created_at)
                SELECT 'bench', 'benchmark history', now() FROM generate_series(1, %(n)s::bigint)
                RETURNING id)
            INSERT INTO postings (entry_id, account, currency, amount)
            SELECT e.id, a.account, 'USD', a.amount FROM e,
                (VALUES (%(seller)s, 100), (%(buyer)s, -100)) AS a(account, amount)
            """, {"n": entries, "seller": seller, "buyer": buyer})
        conn.execute("""
            INSERT INTO account_balances (account, currency, balance)
            SELECT account, currency, sum(amount) FROM postings
            WHERE account IN (%(seller)s, %(buyer)s) GROUP BY account, currency
            ON CONFLICT (account, currency) DO UPDATE SET balance = excluded.balance
            """, {"seller": seller, "buyer": buyer})
        conn.commit()
        conn.execute("ANALYZE postings")


def measure(*, seconds: int = SECONDS, sizes: tuple[int, ...] = SIZES) -> dict:
    from ombuds.domain import ledger
    work = Path(tempfile.mkdtemp(prefix="ombuds-bench-balances-"))
    results: dict[int, dict] = {}
    try:
        with scratch_database("ombuds_bench_balances") as (name, url):
            people = asyncio.run(_people(url))
            (seller_id, seller_token), (buyer_id, buyer_token) = people["seller"], people["buyer"]
            accounts = (ledger.seller(seller_id), ledger.buyer_balance(buyer_id))
            files = {}
            for who, path, token in (("seller", f"/api/v1/balances/sellers/{seller_id}", seller_token),
                                     ("buyer", f"/api/v1/balances/buyers/{buyer_id}", buyer_token)):
                files[who] = work / f"{who}.tsv"
                write_requests(files[who], (Request("GET", path, token) for _ in range(READS)))
            have = 0
            for size in sizes:
                started = time.perf_counter()
                _grow(url, accounts, size - have)
                have = size
                seeded = time.perf_counter() - started
                with ombuds_server(url, log=work / f"serve-{size}.log") as (port, proc):
                    results[size] = {who: drive(port, files[who], server_pid=proc.pid, database=name,
                                                seconds=seconds, warmup=2)
                                     for who in ("seller", "buyer")}
                results[size]["seeded_in_s"] = seeded
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def run(ctx: Context) -> list[Row]:
    """The contract of :mod:`bench.run_all`: each size's rate against the 1 k rate of the run."""
    sizes = QUICK_SIZES if ctx.quick else SIZES
    r = measure(seconds=min(ctx.seconds, SECONDS), sizes=sizes)
    out = []
    for who, path in (("seller", "GET /api/v1/balances/sellers/{id}"), ("buyer", "GET /api/v1/balances/buyers/{id}")):
        first = r[sizes[0]][who]["per_second"]
        for size in sizes:
            m = r[size][who]
            out.append(row(path=f"{path} at {size:,} postings", rate=m["per_second"], unit="reads/s",
                           baseline=f"the same read at {sizes[0]:,} postings" if size != sizes[0] else None,
                           baseline_rate=first if size != sizes[0] else None,
                           target=FLAT_TARGET if size != sizes[0] else None,
                           cpu_ms=m["cpu_ms"], rss_mb=m["rss_mb"], notes=latency_notes(m)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=SECONDS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else SIZES
    with time_limit(900, "balances benchmark"):
        r = measure(seconds=args.seconds, sizes=sizes)
    for size in sizes:
        for who in ("seller", "buyer"):
            m = r[size][who]
            cpu = ", ".join(f"{k} {v:.2f}" for k, v in m["cpu_ms"].items())
            print(f"{who} balance at {size:,} postings: {m['per_second']:.0f} reads/s; {latency_notes(m)}; "
                  f"CPU ms/read: {cpu}")
        print(f"  (postings seeded in {r[size]['seeded_in_s']:.0f} s)")


if __name__ == "__main__":
    main()
