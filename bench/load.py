"""HTTP load on a server: prepared requests, each sent once by wrk, with CPU and memory measured.

A write path is measured by writing its requests to a file (one per line: method, path,
bearer token, JSON body — :func:`write_requests`), serving the scratch database
(:func:`ombuds_server`), and calling :func:`drive`: one request as a smoke test (it must
succeed), a warm-up, then the measured run under :class:`~bench.processes.CpuMeter`. Each
request is sent once while the file lasts (an order is shipped once, a line disputed once);
a run that runs out says so (``ran_out``) and its repeats are counted as refused.

    with ombuds_server(url, workers=2, log=work / "serve.log") as (port, proc):
        result = drive(port, requests_file, server_pid=proc.pid, database=name, seconds=10)
    result["per_second"], result["cpu_ms"], result["rss_mb"], result["next"]
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.contract import per_operation
from bench.processes import VENV_BIN, CpuMeter, free_port, run, server
from bench.scratch import backend_pids
from bench.seed import server_env

LUA = Path(__file__).with_name("requests.lua")
WARMUP_SECONDS, CONNECTIONS, THREADS, WORKERS = 3, 32, 2, 2


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # "/api/v1/orders/17/ship"
    token: str  # bearer token (the marketplace key or a user's token)
    body: str = ""  # JSON, on one line; empty for none


def write_requests(path: Path, requests: Iterable[Request]) -> int:
    """One request a line, in the order they are to be sent; returns how many."""
    count = 0
    with open(path, "w") as f:
        for r in requests:
            if "\t" in r.body or "\n" in r.body:
                raise ValueError("a request body must be one line without tabs (json.dumps does that)")
            f.write(f"{r.method}\t{r.path}\t{r.token}\t{r.body}\n")
            count += 1
    return count


def read_request(path: Path, index: int) -> Request:
    with open(path) as f:
        for i, line in enumerate(f):
            if i == index:
                return Request(*line.rstrip("\n").split("\t", 3))
    raise IndexError(f"{path} has no request {index}")


def send(port: int, r: Request, timeout: float = 30) -> tuple[int, bytes]:
    """One request (a smoke test, a check): its status and body."""
    headers = {"Authorization": f"Bearer {r.token}"}
    if r.body:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{r.path}", method=r.method, headers=headers,
                                     data=r.body.encode() if r.body else None)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wrk(port: int, requests_file: Path, *, first: int, seconds: float, connections: int = CONNECTIONS,
        threads: int = THREADS) -> dict:
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk).")
    out = run([binary, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
               "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(requests_file), str(first), str(threads)],
              timeout=seconds + 60)
    found = dict(line.split()[1:3] for line in out.splitlines() if line.startswith("bench "))
    r = {k: int(v) for k, v in found.items()}
    ok = r["requests"] - r["errors_status"]
    return {"requests": r["requests"], "ok": ok, "errors_status": r["errors_status"],
            "errors_socket": r["errors_socket"], "seconds": r["duration_us"] / 1e6,
            "per_second": ok / (r["duration_us"] / 1e6),
            "p50_ms": r["p50_us"] / 1000, "p90_ms": r["p90_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
            "mean_ms": r["mean_us"] / 1000, "max_ms": r["max_us"] / 1000,
            "used": r["most_sent_by_a_thread"] * threads, "ran_out": r["threads_out_of_bodies"] > 0}


def drive(port: int, requests_file: Path, *, server_pid: int, database: str, seconds: float,
          first: int = 0, warmup: float = WARMUP_SECONDS, connections: int = CONNECTIONS,
          threads: int = THREADS) -> dict:
    """Smoke-test request ``first``, warm up, then measure from the next unused request.

    Returns wrk's figures for the measured run plus ``cpu_seconds`` and ``cpu_ms`` (per
    request, by process: server, postgres, load_generator), ``rss_mb`` (the server's peak
    resident memory), ``warmup`` (wrk's figures for the warm-up) and ``next``: the first
    request not yet sent, for a following run on the same file.
    """
    smoke = read_request(requests_file, first)
    status, answer = send(port, smoke)
    if not 200 <= status < 300:
        raise RuntimeError(f"{smoke.method} {smoke.path} was answered {status}: {answer[:500]!r}")
    at = first + 1
    warm = None
    if warmup:
        warm = wrk(port, requests_file, first=at, seconds=warmup, connections=connections, threads=threads)
        at += warm["used"]
    with CpuMeter(server_pid, lambda: backend_pids(database)) as meter:
        measured = wrk(port, requests_file, first=at, seconds=seconds, connections=connections,
                       threads=threads)
    measured.update(cpu_seconds=meter.result, cpu_ms=per_operation(meter.result, measured["requests"]),
                    rss_mb=meter.rss_mb, warmup=warm, next=at + measured["used"])
    return measured


@contextlib.contextmanager
def ombuds_server(url: str, *, workers: int = WORKERS, log: Path, env: dict[str, str] | None = None
                  ) -> Iterator[tuple[int, subprocess.Popen]]:
    """``ombuds serve`` on a free port over ``url`` (manual clock, no in-process worker);
    always stopped on the way out."""
    port = free_port()
    with server([str(VENV_BIN / "ombuds"), "serve", "--port", str(port), "--workers", str(workers)],
                port=port, env={**server_env(url), **(env or {})}, log=log) as proc:
        yield port, proc


def latency_notes(r: dict) -> str:
    """p50/p99 and anything refused, for a row's notes."""
    out = f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
    if r["errors_status"] or r["errors_socket"]:
        out += f"; {r['errors_status']} refused, {r['errors_socket']} socket errors"
    if r["ran_out"]:
        out += "; RAN OUT of prepared requests"
    return out
