"""What every benchmark module hands back to :mod:`bench.run_all`: rows of one table.

The contract itself is written at the top of ``bench/run_all.py``; this module holds the
types and the one helper that fills a row, so that every module computes ``ratio`` and
``met`` the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TypedDict

WRITE_TARGET = 0.5  # DESIGN.md §8: every write path ≥ 0.5 × pgbench TPC-B TPS
SWEEP_TARGET = 0.5  # every sweep ≥ 0.5 × the set-based SQL that writes the same rows
READ_TARGET = 0.5  # a balance read within 2 × a primary-key fetch through the same stack
RSS_TARGET_MB = 200  # server RSS under load, photos included


class Row(TypedDict, total=False):
    path: str  # what is measured, in product words: "POST /api/v1/orders (record a paid order)"
    rate: float | None  # operations per second (or the module's own unit)
    unit: str  # "orders/s", "reads/s", "deadlines/s", …
    baseline: str | None  # what the rate is compared with, measured in the same run
    baseline_rate: float | None
    ratio: float | None  # rate / baseline_rate
    target: float | None  # the least ratio that meets the target; None: shown for reference
    met: bool | None  # ratio >= target; None when there is no target or no ratio
    cpu_ms: dict[str, float]  # CPU milliseconds per operation, by process ("server", "postgres", …)
    notes: str  # latency percentiles, round trips, what else was written, caveats
    rss_mb: dict[str, float]  # optional: peak resident memory by process during the run (MB)


@dataclass
class Context:
    """What ``run_all`` hands every module: the shared baseline and the run's bounds."""

    pgbench_tps: float | None = None  # TPC-B TPS measured at the start of this run (None: failed)
    pgbench_cpu_ms: dict[str, float] = field(default_factory=dict)  # per TPC-B transaction
    seconds: int = 10  # how long each measured load lasts
    quick: bool = False  # smaller data sets: a smoke run of the harness, not figures to publish
    deadline: float = float("inf")  # time.monotonic() by which the module must have returned

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


def row(*, path: str, rate: float | None, unit: str, baseline: str | None = None,
        baseline_rate: float | None = None, target: float | None = None,
        cpu_ms: dict[str, float] | None = None, notes: str = "", **extra: Any) -> Row:
    """A row with ``ratio`` and ``met`` computed; ``extra`` keys (``rss_mb``) are kept."""
    ratio = rate / baseline_rate if rate is not None and baseline_rate else None
    met = None if target is None or ratio is None else ratio >= target
    return Row(path=path, rate=rate, unit=unit, baseline=baseline, baseline_rate=baseline_rate,
               ratio=ratio, target=target, met=met, cpu_ms=dict(cpu_ms or {}), notes=notes, **extra)


def per_operation(cpu_seconds: dict[str, float], operations: int,
                  keep: tuple[str, ...] = ("server", "postgres", "load_generator")) -> dict[str, float]:
    """CPU seconds of one measured run (``CpuMeter.result``) → milliseconds per operation."""
    return {k: 1000 * cpu_seconds[k] / max(operations, 1) for k in keep if k in cpu_seconds}
