"""The worker: sweeps due deadlines and dispatches the outbox (e-mail, webhooks) in a loop."""

from __future__ import annotations

import asyncio

import structlog

from ombuds.adapters import metrics
from ombuds.services.context import Ombuds
from ombuds.services.dispatch import DispatchConfig, dispatch
from ombuds.services.sweeper import sweep
from ombuds.settings import Settings

log = structlog.get_logger("ombuds.worker")


async def run_forever(app: Ombuds, interval: float = 1.0, *,
                      dispatch_config: DispatchConfig | None = None) -> None:
    """Sweep, dispatch, sleep, repeat. Safe to run in many processes at once on PostgreSQL.

    Sleeps only when a pass found nothing to dispatch, so a backlog drains at full speed.
    """
    config = dispatch_config or DispatchConfig.from_settings(Settings())
    while True:
        try:
            fired = await sweep(app)
            if fired:
                metrics.DEADLINES.inc(fired)
                log.info("deadlines_applied", count=fired)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep sweeping; the failed batch rolled back and will be retried
            metrics.FAILURES.labels("sweep").inc()
            log.exception("sweep_failed")
        busy = False
        try:
            report = await dispatch(app, config)
            busy = not report.idle
            for kind in ("events", "mails", "webhooks"):
                metrics.DISPATCHED.labels(kind).inc(getattr(report, kind))
        except asyncio.CancelledError:
            raise
        except Exception:  # the failed batch rolled back (or its lease runs out): retried later
            metrics.FAILURES.labels("dispatch").inc()
            log.exception("dispatch_failed")
        if not busy:
            await asyncio.sleep(interval)
