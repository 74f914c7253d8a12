"""Every benchmark beside its baseline, one run, ONE table (DESIGN.md §8).

    make bench            # = .venv/bin/python -m bench.run_all
    .venv/bin/python -m bench.run_all --only order_paths,sweeper --seconds 5 --quick

The result contract — what a benchmark module must do to appear in the table
---------------------------------------------------------------------------------
A module ``bench/<name>.py`` listed in :data:`MODULES` exposes::

    def run(ctx: bench.contract.Context) -> list[bench.contract.Row]: ...

``ctx`` carries the shared baseline measured at the start of this run (``pgbench_tps``,
``pgbench_cpu_ms``), how long each measured load lasts (``seconds``), ``quick`` (smaller
data: a smoke run of the harness, never figures to publish) and ``deadline``
(``time.monotonic()`` by which it must have returned; ``ctx.remaining()``). It returns one
row per figure, each a dict built with :func:`bench.contract.row`::

    {path, rate, unit, baseline, baseline_rate, ratio, target, met, cpu_ms: {process: ms}, notes}

- ``path``: what was measured, in product words ("POST /api/v1/orders/{id}/ship (ship)");
- ``rate`` in ``unit`` ("orders/s"), against ``baseline`` (what, in words) measured in the
  same run at ``baseline_rate``; ``ratio`` = rate / baseline_rate;
- ``target``: the least ratio that meets DESIGN.md §8 (0.5 for writes against pgbench and
  for sweeps against set-based SQL; 0.5 for a balance read against a primary-key fetch
  through the same stack), or ``None`` for a row shown for reference; ``met`` = ratio ≥ target;
- ``cpu_ms``: CPU milliseconds per operation by process ("server", "worker", "postgres",
  "load_generator"), from :class:`bench.processes.CpuMeter` — robust to other load, unlike
  rates;
- ``notes``: latency, round trips, rows written, anything that qualifies the figure;
- optionally ``rss_mb``: the peak resident memory of the server's processes during the run
  (``CpuMeter.rss_mb``); the table checks it against 200 MB per process.

A module works in scratch databases (:func:`bench.scratch.scratch_database`) and starts
servers through :func:`bench.processes.server` (or :func:`bench.load.ombuds_server`), which
drop and stop them on success, failure, time-out and SIGTERM. HTTP load goes through
:func:`bench.load.drive`. A module that is not in the tree yet is skipped and named; one that
raises is reported with its traceback and the others still run.

``run_all`` prints the table to stdout and writes ``bench/results/latest.md`` and
``latest.json`` (git-ignored); it exits non-zero if any module failed. The whole run is
bounded (:data:`BUDGET_SECONDS`): each module gets at most its own limit and what is left.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.contract import RSS_TARGET_MB, Context, Row
from bench.processes import code_revision, cpu_busy, time_limit, wait_for_quiet
from bench.scratch import admin_url, conninfo

RESULTS = Path(__file__).with_name("results")
BUDGET_SECONDS = 24 * 60  # `make bench` stays under 25 minutes on 2 cores
MODULES = [  # (module under bench/, its time limit in seconds), in the order they run
    ("pgbench_baseline", 180),  # first: every write path is a ratio of its TPS
    ("order_paths", 420),  # record an order, ship, deliver, confirm receipt
    ("stack_floor", 240),  # recording an order: Ombuds beside the same statements with less around them
    ("open_dispute", 240),
    ("balances", 240),  # a seller's and a buyer's balance at 1 k / 100 k / 1 M postings
    ("order_lists", 150),  # the seller's and the buyer's order lists at 100 k orders
    ("protection_end", 240),  # protection ends: completed, payouts per line; 1 and 2 workers
    ("sweeper", 300),  # dispute deadlines with refunds; 1 and 2 workers
    ("photos", 150),  # server memory while 12-megapixel photos are uploaded
]


def _postgres_version() -> str:
    import psycopg
    try:
        with psycopg.connect(conninfo(admin_url()), connect_timeout=10) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error as exc:
        return f"unreachable ({exc.__class__.__name__})"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
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


def _number(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def _ratio(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:.3f}" if v < 0.1 else f"{v:.2f}"


def _met(r: Row) -> str:
    if r.get("target") is None:
        return "reference"
    if r.get("met") is None:
        return "no figure"
    return "**met**" if r["met"] else "not met"


def _cpu(cpu: dict[str, float]) -> str:
    if not cpu:
        return "—"
    parts = [f"{k.replace('load_generator', 'client')} {v:.3f}" for k, v in cpu.items()]
    return " · ".join(parts) + (f" = {sum(cpu.values()):.3f}" if len(cpu) > 1 else "")


def _rss(r: Row) -> str:
    rss = r.get("rss_mb") or {}
    peak = rss.get("server_process")
    if peak is None:
        return "—"
    return f"{peak:.0f} MB" + ("" if peak <= RSS_TARGET_MB else " (over)")


def table(rows: list[Row]) -> list[str]:
    out = ["| path | rate | baseline (same run) | ratio | target | met? "
           "| CPU ms per op, by process | peak RSS | notes |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        baseline = (f"{r['baseline']} {_number(r.get('baseline_rate'))}" if r.get("baseline") else "—")
        target = f"≥ {r['target']}" if r.get("target") is not None else "—"
        out.append(f"| {r['path']} | {_number(r.get('rate'))} {r.get('unit', '')} | {baseline} | "
                   f"{_ratio(r.get('ratio'))} | {target} | {_met(r)} | {_cpu(r.get('cpu_ms') or {})} | "
                   f"{_rss(r)} | {r.get('notes', '')} |")
    return out


def summary(result: dict) -> str:
    env, rows = result["environment"], result["rows"]
    targeted = [r for r in rows if r.get("target") is not None]
    met = sum(1 for r in targeted if r.get("met"))
    rss = [r["rss_mb"]["server_process"] for r in rows if (r.get("rss_mb") or {}).get("server_process")]
    out = [f"# Ombuds benchmarks — {result['started']}", "",
           f"- Command: `{result['command']}`; {result['seconds']:.0f} s in all",
           f"- Code: {env['code']}",
           f"- Machine: {env['cores']} cores ({env['cpu']}), {env['memory_gb']:.0f} GB, shared by PostgreSQL "
           f"{env['postgres']}, the servers and the load generator ({env['wrk']}); Python {env['python']}",
           "- Other load on the machine just before each benchmark (CPU busy): "
           + (", ".join(f"{k} {v:.0%}" for k, v in result["busy_before"].items()) or "—"),
           f"- Targets met: {met} of {len(targeted)}"
           + (f"; server RSS peak {max(rss):.0f} MB (target ≤ {RSS_TARGET_MB} MB per process: "
              f"{'met' if max(rss) <= RSS_TARGET_MB else 'not met'})" if rss else ""),
           ""]
    out += table(rows) + [""]
    if result["skipped"]:
        out += ["Not in the tree yet, skipped: " + ", ".join(f"`bench/{m}.py`" for m in result["skipped"]) + ".", ""]
    for name, error in result["failures"].items():
        out += [f"## {name} FAILED", "", "```", error.strip()[-3000:], "```", ""]
    return "\n".join(out)


def _environment() -> dict:
    return {"code": code_revision(), "cores": os.cpu_count(), "cpu": _cpu_model(),
            "memory_gb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
            "postgres": _postgres_version(), "wrk": _wrk_version(), "python": platform.python_version(),
            "host": platform.node()}


def _terminated(signum, frame):
    raise SystemExit("the benchmarks were terminated")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated module names (default: all of MODULES)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured load")
    parser.add_argument("--quick", action="store_true", help="small data sets: checks the harness, not figures")
    parser.add_argument("--wait-quiet", type=float, default=0,
                        help="wait up to this many seconds for the machine to be idle before each module")
    parser.add_argument("--budget", type=int, default=BUDGET_SECONDS, help="bound on the whole run, seconds")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)  # unwinds: servers stopped, scratch databases dropped
    chosen = args.only.split(",") if args.only else [name for name, _ in MODULES]
    limits = dict(MODULES)
    unknown = [name for name in chosen if name not in limits]
    if unknown:
        parser.error(f"unknown module(s): {', '.join(unknown)}; known: {', '.join(limits)}")
    if "pgbench_baseline" not in chosen:
        chosen.insert(0, "pgbench_baseline")  # every write path needs its baseline from this run
    started, run_until = time.monotonic(), time.monotonic() + args.budget
    result: dict = {"started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                    "command": " ".join(["python -m bench.run_all", *(argv if argv is not None else sys.argv[1:])]),
                    "environment": _environment(), "rows": [], "failures": {}, "skipped": [],
                    "busy_before": {}, "module_seconds": {}}
    ctx = Context(seconds=args.seconds, quick=args.quick)
    for name in chosen:
        if importlib.util.find_spec(f"bench.{name}") is None:
            result["skipped"].append(name)
            continue
        left = run_until - time.monotonic()
        if left < 30:
            result["failures"][name] = f"not run: the run's budget of {args.budget} s was spent"
            continue
        limit = int(min(limits[name], left))
        result["busy_before"][name] = wait_for_quiet(args.wait_quiet) if args.wait_quiet else cpu_busy()
        ctx.deadline = time.monotonic() + limit
        begun = time.monotonic()
        try:
            with time_limit(limit, f"bench.{name}"):
                rows = importlib.import_module(f"bench.{name}").run(ctx)
            result["rows"] += rows
            if name == "pgbench_baseline" and rows:
                ctx.pgbench_tps, ctx.pgbench_cpu_ms = rows[0]["rate"], rows[0]["cpu_ms"]
        except Exception:  # one failure is reported; the other benchmarks still run
            result["failures"][name] = traceback.format_exc()
        result["module_seconds"][name] = time.monotonic() - begun
        print(f"[bench.{name}: {result['module_seconds'][name]:.0f} s]", file=sys.stderr, flush=True)
    result["seconds"] = time.monotonic() - started
    text = summary(result)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(text + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
