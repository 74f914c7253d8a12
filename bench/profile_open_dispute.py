"""Where an open's CPU time goes: py-spy samples ``ombuds serve`` while wrk opens disputes.

Not part of ``make bench``: it needs py-spy (``.venv/bin/pip install py-spy``; not a project
dependency). Prints the share of the server's on-CPU samples by package (the innermost
frame that is not the standard library) and the inclusive share of the hot path's steps.

    .venv/bin/python -m bench.profile_open_dispute [--seconds 20] [--raw stacks.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.load import LUA, read_request, send
from bench.open_dispute import CONNECTIONS, LINES, WORKERS, WRK_THREADS, _seed, reserve, write_bodies
from bench.processes import VENV_BIN, free_port, server, time_limit
from bench.scratch import scratch_database
from bench.seed import server_env

# Inclusive shares: a sample counts for every step on its stack (they nest).
STEPS = {
    "get_caller (token → user)": r"\bget_caller \(",
    "request body → pydantic NewDispute": r"request_body_to_args|_validate_body|body_field|solve_dependencies",
    "open_dispute service (one unit of work)": r"\b_?open_dispute \(.*services/disputes\.py",
    "  ManualClock.now (a query per call)": r"\bnow \(.*store/clock_store\.py",
    "  engine.open_dispute (domain rules)": r"\bopen_dispute \(.*domain/engine\.py",
    "  Repository calls": r"store/repository\.py",
    "  UnitOfWork enter/exit/commit": r"store/uow\.py",
    "_view → dispute_view (response dict)": r"\b_view \(.*routes_disputes\.py",
    "FastAPI response serialisation": r"serialize_response|jsonable_encoder|\brender \(",
    "SQLAlchemy (any frame)": r"\(sqlalchemy/",
    "  statement compile / cache key": r"_compiler|compile \(|_generate_cache_key|_gen_cache_key|cache_key",
    "  result rows / type processing": r"engine/result\.py|engine/cursor\.py|process_result_value|process_bind_param",
    "asyncpg (any frame)": r"\(asyncpg/",
    "pydantic (any frame)": r"\(pydantic",
    "uvicorn + httptools (HTTP parsing/writing)": r"\(uvicorn/protocols/",
}


def _package(frame: str) -> str | None:
    """The package a frame ``function (path:line)`` belongs to; None for the standard library."""
    m = re.search(r"\(([^()]*?):\d+\)$", frame)
    if not m:
        return None
    path = m.group(1)  # py-spy shortens paths to the importable part: "sqlalchemy/engine/base.py"
    top = path.split("/", 1)[0].removesuffix(".py")
    if top == "ombuds":
        return "ombuds." + path.split("/", 1)[1].rsplit(".py", 1)[0].replace("/", ".")
    if top in sys.stdlib_module_names or path.startswith("<"):
        return None
    return top


def summarise(raw: str) -> str:
    self_by_package: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        stack = re.sub(r'^(process \d+:"[^"]*";?)+', "", stack)  # py-spy's per-process root frames
        frames = [f for f in stack.split(";") if f]
        if frames and re.match(r"(Condition\.wait|Event\.wait|Queue\.get) ", frames[-1]):
            continue  # an idle thread-pool worker waiting for work, not CPU
        total += n
        if not frames:
            self_by_package["uvloop (C: polling, callbacks, socket I/O)"] += n
            continue
        owner = next((p for p in map(_package, reversed(frames)) if p), "standard library")
        self_by_package[owner] += n
        for step, pattern in STEPS.items():
            if any(re.search(pattern, f) for f in frames):
                steps[step] += n
    if not total:
        return "no samples"
    out = [f"{total} samples of the server's worker processes (idle thread-pool waits left out)", "",
           "by package (innermost non-stdlib frame):"]
    out += [f"  {n / total:6.1%}  {name}" for name, n in self_by_package.most_common(25)]
    out += ["", "inclusive, by step of the request:"]
    out += [f"  {steps[s] / total:6.1%}  {s}" for s in STEPS]
    return "\n".join(out)


def profile(seconds: int, raw_out: Path | None) -> str:
    spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    work = Path(tempfile.mkdtemp(prefix="ombuds-profile-"))
    try:
        with scratch_database("ombuds_bench_profile") as (_, url):
            market = asyncio.run(_seed(url, LINES))
            bodies = work / "bodies.tsv"
            write_bodies(market, bodies, reserve(market))
            port = free_port()
            with server([str(VENV_BIN / "ombuds"), "serve", "--port", str(port), "--workers", str(WORKERS)],
                        port=port, env=server_env(url), log=work / "ombuds.log") as proc:
                status, answer = send(port, read_request(bodies, 0))
                if status != 201:
                    raise RuntimeError(f"the first request was answered {status}: {answer[:300]!r}")
                load = subprocess.Popen(
                    ["wrk", "-t", str(WRK_THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds + 6}s",
                     "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(bodies), "1", str(WRK_THREADS)],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                try:
                    time.sleep(3)
                    stacks = work / "stacks.txt"
                    subprocess.run([spy, "record", "--pid", str(proc.pid), "--subprocesses", "--nonblocking",
                                    "--rate", "200", "--duration", str(seconds), "--format", "raw",
                                    "--output", str(stacks)], capture_output=True, timeout=seconds + 60,
                                   check=True)
                    load.wait(timeout=seconds + 60)
                finally:
                    if load.poll() is None:
                        load.kill()
                        load.wait()
            raw = stacks.read_text()
            if raw_out:
                raw_out.write_text(raw)
            return summarise(raw)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--raw", type=Path, help="also keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    with time_limit(args.seconds + 600, "open-dispute profile"):
        print(profile(args.seconds, args.raw))


if __name__ == "__main__":
    main()
