"""Every benchmark beside its baseline, one run; a markdown summary to stdout and a file.

    make bench            # or: .venv/bin/python -m bench.run_all [--wait-quiet 120]

Writes ``bench/results/latest.md`` (git-ignored) and ``bench/results/latest.json``. Exits
non-zero if a benchmark failed; the others still run and are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench import open_dispute, pgbench_baseline, sweeper
from bench.processes import code_revision, cpu_busy, time_limit, wait_for_quiet
from bench.scratch import admin_url, conninfo

RESULTS = Path(__file__).with_name("results")
GOAL = 0.5  # DESIGN.md §8's targets: half of pgbench's TPS; half of the set-based rate


def _postgres_version() -> str:
    import psycopg
    with psycopg.connect(conninfo(admin_url())) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _wrk_version() -> str:
    try:
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).splitlines()[0].split(" Copyright")[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "wrk not found"


def _mark(ratio: float) -> str:
    return "met" if ratio >= GOAL else "not met"


def summary(r: dict) -> str:
    env = r["environment"]
    out = [f"# Ombuds benchmarks — {r['started']}", "",
           f"- Code: {env['code']}",
           f"- Machine: {env['cores']} cores ({env['cpu']}), shared by PostgreSQL {env['postgres']}, the "
           f"servers and the load generator ({env['wrk']}); Python {env['python']}",
           "- Other load on the machine just before each benchmark (CPU busy): "
           + ", ".join(f"{k} {v:.0%}" for k, v in r["busy_before"].items()), ""]
    rows = ["| what | ombuds | baseline | ratio | goal |", "|---|---|---|---|---|"]
    pg, od, sw = r.get("pgbench"), r.get("open_dispute"), r.get("sweeper")
    if pg and od:
        rows.append(f"| open a dispute over HTTP | {od['opens_per_second']:.0f} opens/s | pgbench TPC-B "
                    f"{pg['tps']:.0f} TPS | {od['ratio_to_pgbench']:.2f} | ≥ {GOAL} ({_mark(od['ratio_to_pgbench'])}) |")
        rows.append(f"| open a dispute over HTTP | {od['opens_per_second']:.0f} opens/s | bare endpoint "
                    f"{od['bare']['per_second']:.0f} req/s | {od['ratio_to_bare']:.2f} | — |")
    if sw:
        rows.append(f"| sweep due deadlines | {sw['sweep']['rows_per_second']:.0f} rows/s | set-based UPDATE "
                    f"{sw['update']['rows_per_second']:.0f} rows/s | {sw['ratio_to_update']:.3f} | ≥ {GOAL} "
                    f"({_mark(sw['ratio_to_update'])}) |")
        rows.append(f"| sweep due deadlines | {sw['sweep']['rows_per_second']:.0f} rows/s | UPDATE + timeline "
                    f"+ outbox {sw['update_with_trail']['rows_per_second']:.0f} rows/s | "
                    f"{sw['ratio_to_update_with_trail']:.3f} | — |")
    out += rows + [""]
    out += _cpu_table(r)
    if pg:
        out += ["## pgbench", "", f"`{pg['command']}` in a scratch database: {pg['tps']:.0f} TPS, average "
                f"latency {pg['latency_avg_ms']} ms.", ""]
    if od:
        s, o, b = od["settings"], od["ombuds"], od["bare"]
        trips = od["round_trips"]
        out += ["## Opening a dispute", "",
                f"`ombuds serve --workers {s['server_workers']}` (uvicorn, uvloop, httptools), manual clock; "
                f"wrk `-t{s['wrk_threads']} -c{s['connections']} -d{s['seconds']}s` after a "
                f"{s['warmup_seconds']} s warm-up, each request a buyer's token and a fresh order line "
                f"({od['seeded_lines']} seeded). The load generator runs on the same cores.", "",
                "| server | req/s (2xx) | p50 | p90 | p99 | max | non-2xx | socket errors |",
                "|---|---|---|---|---|---|---|---|"]
        for label, x in (("ombuds POST /api/v1/disputes", o), ("bare endpoint (Starlette + asyncpg, 1 INSERT)", b)):
            out.append(f"| {label} | {x['per_second']:.0f} | {x['p50_ms']:.1f} ms | {x['p90_ms']:.1f} ms | "
                       f"{x['p99_ms']:.1f} ms | {x['max_ms']:.0f} ms | {x['errors_status']} | {x['errors_socket']}"
                       f"{' (ran out of lines)' if x['ran_out'] else ''} |")
        out += ["", f"- {od['disputes_opened']} disputes opened; timeline and outbox rows "
                f"{'match one each per dispute' if od['rows_consistent'] else 'DO NOT MATCH the disputes'}.",
                f"- {od['transactions_per_open']:.2f} database transactions per open (pg_stat_database); "
                f"{trips['total']} round trips for one open, counted at the asyncpg level "
                f"({trips['transactions']} BEGIN … COMMIT/ROLLBACK pairs, {trips['statements']} statements, "
                f"{trips['prepares']} prepares):", "", "```", *trips["calls"], "```", ""]
    if sw:
        out += ["## Sweeping due deadlines", "",
                f"{sw['disputes']} disputes awaiting the seller past their deadline (single-line orders), "
                "identical copies (CREATE DATABASE … TEMPLATE):", "",
                "| how | deadlines | seconds | rows/s | other rows written |", "|---|---|---|---|---|"]
        for label, key in (("`sweep()`", "sweep"), ("set-based UPDATE", "update"),
                           ("set-based UPDATE + timeline + outbox", "update_with_trail")):
            x = sw[key]
            wrote = ", ".join(f"{n} {k}" for k, n in x["written"].items()) or "—"
            out.append(f"| {label} | {x['rows']} | {x['seconds']:.2f} | {x['rows_per_second']:.0f} | {wrote} |")
        out += ["", "Every dispute closed in every copy." if sw["all_closed"]
                else "**Not every dispute was closed in every copy: the figures are not comparable.**", ""]
    for name, error in r["failures"].items():
        out += [f"## {name} FAILED", "", "```", error.strip()[-3000:], "```", ""]
    return "\n".join(out)


def _cpu_table(r: dict) -> list[str]:
    """CPU milliseconds per operation, by who spent them: unlike rates, these hardly move when
    other work shares the machine, and 2 cores ÷ the total is the CPU-bound ceiling."""
    rows = []
    pg, od, sw = r.get("pgbench"), r.get("open_dispute"), r.get("sweeper")
    if pg:
        c = pg["cpu_ms_per_transaction"]
        rows.append(("pgbench TPC-B transaction", None, c["postgres"], c["load_generator"]))
    if od:
        for label, x in (("ombuds: open a dispute (HTTP)", od["ombuds"]), ("bare endpoint request", od["bare"])):
            c = x["cpu_ms_per_request"]
            rows.append((label, c["server"], c["postgres"], c["load_generator"]))
    if sw:
        rows.append(("sweep(): one deadline", sw["sweep"]["cpu_ms_per_row"]["python"],
                     sw["sweep"]["cpu_ms_per_row"]["postgres"], None))
        for label, key in (("set-based UPDATE: one deadline", "update"),
                           ("UPDATE + timeline + outbox: one deadline", "update_with_trail")):
            rows.append((label, None, sw[key]["cpu_ms_per_row"]["postgres"], None))
    if not rows:
        return []
    cores = r["environment"]["cores"] or 2

    def ms(v):
        return "—" if v is None else f"{v:.3f}"
    out = ["CPU per operation (ms), by process; the ceiling is what the CPU alone would allow on "
           f"{cores} otherwise idle cores:", "",
           "| operation | Python (server / sweeper) | PostgreSQL backends | load generator | total | ceiling/s |",
           "|---|---|---|---|---|---|"]
    for label, app, pgcpu, client in rows:
        total = sum(v for v in (app, pgcpu, client) if v is not None)
        out.append(f"| {label} | {ms(app)} | {ms(pgcpu)} | {ms(client)} | {total:.3f} | "
                   f"{cores * 1000 / total if total else float('nan'):.0f} |")
    others = [f"{name} {x['cpu_seconds']['other']:.1f} s of {x['cpu_seconds']['machine']:.1f} s" for name, x in
              (("pgbench", pg), ("ombuds", od and od["ombuds"]), ("bare", od and od["bare"])) if x]
    if others:
        out += ["", "CPU spent by the rest of the machine during the measured runs (PostgreSQL's "
                "background processes, this script, and any other work): " + "; ".join(others) + "."]
    return out + [""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait-quiet", type=float, default=0,
                        help="wait up to this many seconds for the machine to be idle before each benchmark")
    parser.add_argument("--seconds", type=int, default=open_dispute.SECONDS)
    parser.add_argument("--disputes", type=int, default=sweeper.DISPUTES)
    args = parser.parse_args()
    r: dict = {"started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "failures": {},
               "busy_before": {},
               "environment": {"code": code_revision(), "cores": os.cpu_count(), "cpu": _cpu_model(),
                               "postgres": _postgres_version(), "wrk": _wrk_version(),
                               "python": platform.python_version()}}

    def step(name: str, limit: int, fn):
        r["busy_before"][name] = (wait_for_quiet(args.wait_quiet) if args.wait_quiet else cpu_busy())
        started = time.perf_counter()
        try:
            with time_limit(limit, name):
                r[name] = fn()
        except Exception:  # one failure is reported; the other benchmarks still run
            r["failures"][name] = traceback.format_exc()
        print(f"[{name}: {time.perf_counter() - started:.0f} s]", file=sys.stderr)

    step("pgbench", 600, pgbench_baseline.measure)
    tps = r.get("pgbench", {}).get("tps")
    if tps:
        step("open_dispute", 900, lambda: open_dispute.measure(seconds=args.seconds, pgbench_tps=tps))
    else:
        r["failures"]["open_dispute"] = "skipped: no pgbench rate to compare with"
    step("sweeper", 900, lambda: sweeper.measure(disputes=args.disputes))

    text = summary(r)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(text + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(r, indent=2, default=str) + "\n")
    return 1 if r["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
