"""PostgreSQL's own TPC-B rate on this server: the yardstick for opening disputes.

``pgbench -i -s 10`` in a scratch database, then ``pgbench -c 8 -j 2 -T 15``.

    .venv/bin/python -m bench.pgbench_baseline
"""

from __future__ import annotations

import argparse
import re
import shutil

from bench.contract import Context, Row, per_operation, row
from bench.processes import CpuMeter, time_limit
from bench.processes import run as run_command
from bench.scratch import admin_url, backend_pids, libpq_args, scratch_database

SCALE, CLIENTS, THREADS, SECONDS = 10, 8, 2, 15


def measure(*, scale: int = SCALE, clients: int = CLIENTS, threads: int = THREADS,
            seconds: int = SECONDS) -> dict:
    pgbench = shutil.which("pgbench") or "/usr/bin/pgbench"
    conn = libpq_args(admin_url())
    with scratch_database("ombuds_bench_pgbench") as (name, _url):
        run_command([pgbench, *conn, "-i", "-q", "-s", str(scale), name], timeout=300)
        with CpuMeter(None, lambda: backend_pids(name)) as meter:
            out = run_command([pgbench, *conn, "-c", str(clients), "-j", str(threads), "-T", str(seconds), name],
                      timeout=seconds + 120)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    transactions = int(done.group(1)) if done else 0
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    if not tps:
        raise RuntimeError(f"no TPS in pgbench's output:\n{out}")
    return {"tps": float(tps.group(1)), "latency_avg_ms": float(latency.group(1)) if latency else None,
            "transactions": transactions, "cpu_seconds": meter.result,
            # pgbench's backends connect after the first sample: their CPU is counted whole
            "cpu_ms_per_transaction": {k: 1000 * v / max(transactions, 1) for k, v in meter.result.items()},
            "scale": scale, "clients": clients, "threads": threads, "seconds": seconds,
            "command": f"pgbench -c {clients} -j {threads} -T {seconds} (after pgbench -i -s {scale})"}


def run(ctx: Context) -> list[Row]:
    """The contract of :mod:`bench.run_all`: the row every write path is compared with."""
    r = measure(seconds=ctx.seconds if ctx.quick else SECONDS)
    return [row(path="baseline: pgbench TPC-B transaction", rate=r["tps"], unit="TPS",
                cpu_ms=per_operation(r["cpu_seconds"], r["transactions"], keep=("postgres", "load_generator")),
                notes=f"`{r['command']}`; average latency {r['latency_avg_ms']} ms")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=SECONDS)
    args = parser.parse_args()
    with time_limit(args.seconds + 420, "pgbench baseline"):
        result = measure(seconds=args.seconds)
    print(f"pgbench TPC-B: {result['tps']:.0f} TPS ({result['command']}), "
          f"average latency {result['latency_avg_ms']} ms")


if __name__ == "__main__":
    main()
