"""Where a deadline sweep's time goes, statement by statement and batch by batch.

Not part of ``make bench``: it seeds the same data as :mod:`bench.sweeper` (N disputes
awaiting the seller past their deadline), runs :func:`ombuds.services.sweeper.sweep` on a copy
and times every statement the sweeper sends (wall time from the sweeper, PostgreSQL's time
included), grouped by statement. For each it prints the calls, the total, and the mean time of
the first and the last tenth of its calls: a statement whose cost grows with the number of rows
already swept shows a last tenth much slower than its first.

    .venv/bin/python -m bench.sweep_statements --disputes 20000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import event

from bench.scratch import admin_url, conninfo, scratch_database
from bench.seed import settings_for
from bench.sweeper import _seed, _vacuum
from ombuds.bootstrap import build_ombuds
from ombuds.services.sweeper import sweep

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int | None) -> float:
    """A PostgreSQL backend's CPU seconds so far (user + system), in clock ticks' resolution."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _key(statement: str) -> str:
    return re.sub(r"\s+", " ", statement)[:110]


class _Backends:
    """Every quarter second, the CPU so far of each server process on the database, by kind
    (``client backend``, ``autovacuum worker``, …): what the sweep's connections spent and what
    autovacuum spent beside it."""

    def __init__(self, dbname: str):
        self.dbname = dbname
        self.last: dict[int, tuple[str, float, float]] = {}  # pid → (kind, CPU seconds first seen, last seen)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _read(self) -> None:
        with psycopg.connect(conninfo(admin_url()), autocommit=True) as conn:
            rows = conn.execute("SELECT pid, backend_type FROM pg_stat_activity WHERE datname = %s "
                                "AND pid <> pg_backend_pid()", (self.dbname,)).fetchall()
        for pid, kind in rows:
            try:
                cpu = _cpu(pid)
            except OSError:
                continue
            first = self.last.get(pid, (kind, cpu, cpu))[1]
            self.last[pid] = (kind, first, cpu)

    def _poll(self) -> None:
        while not self._stop.wait(0.25):
            self._read()

    def __enter__(self) -> _Backends:
        self._read()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()

    def by_kind(self) -> dict[str, float]:
        found: dict[str, float] = defaultdict(float)
        for kind, first, last in self.last.values():
            found[kind] += last - first
        return dict(found)


async def _timed_sweep(url: str, until: datetime, custom_plans: bool
                       ) -> tuple[float, dict[str, list[tuple[float, float]]]]:
    app = build_ombuds(settings_for(url))
    times: dict[str, list[tuple[float, float]]] = defaultdict(list)
    started_at: dict[int, tuple[float, float]] = {}

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        record.info["backend_pid"] = cursor.fetchone()[0]
        if custom_plans:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
        cursor.close()

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        started_at[id(cursor)] = (time.perf_counter(), _cpu(conn.connection.info.get("backend_pid")))

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        wall, cpu = started_at.pop(id(cursor))
        times[_key(statement)].append((time.perf_counter() - wall,
                                       _cpu(conn.connection.info.get("backend_pid")) - cpu))

    event.listen(app.engine.sync_engine, "connect", on_connect)
    event.listen(app.engine.sync_engine, "before_cursor_execute", before)
    event.listen(app.engine.sync_engine, "after_cursor_execute", after)
    try:
        await app.now()
        started = time.perf_counter()
        await sweep(app, until=until)
        return time.perf_counter() - started, times
    finally:
        await app.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disputes", type=int, default=20_000)
    parser.add_argument("--custom-plans", action="store_true",
                        help="plan_cache_mode = force_custom_plan on the sweep's connections")
    args = parser.parse_args()
    with scratch_database("ombuds_bench_sweepst_seed") as (seed_name, seed_url):
        deadline = asyncio.run(_seed(seed_url, args.disputes))
        _vacuum(seed_url)
        with scratch_database("ombuds_bench_sweepst", template=seed_name) as (name, url), \
                _Backends(name) as backends:
            seconds, times = asyncio.run(_timed_sweep(url, deadline + timedelta(hours=1), args.custom_plans))
    wall = sum(w for v in times.values() for w, _ in v)
    cpu = sum(c for v in times.values() for _, c in v)
    print(f"sweep of {args.disputes} deadlines: {seconds:.2f} s; in statements {wall:.2f} s, "
          f"of which PostgreSQL CPU {cpu:.2f} s")
    print("PostgreSQL CPU s by process kind (the sweep's connections, and autovacuum on its database): "
          + ", ".join(f"{k} {v:.2f}" for k, v in backends.by_kind().items()))
    print("per statement: calls, wall s, PostgreSQL CPU s, then PostgreSQL CPU ms per call in each tenth "
          "of its calls (first to last)")
    for key, v in sorted(times.items(), key=lambda kv: -sum(c for _, c in kv[1])):
        n = len(v)
        tenths = [v[n * i // 10:n * (i + 1) // 10] for i in range(10)] if n >= 10 else [v]
        trend = " ".join(f"{1000 * sum(c for _, c in part) / len(part):.0f}" for part in tenths if part)
        print(f"{n:>5} {sum(w for w, _ in v):>7.2f} {sum(c for _, c in v):>6.2f}  [{trend}]  {key[:80]}")


if __name__ == "__main__":
    main()
