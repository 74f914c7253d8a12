"""The worker: sweeps due deadlines (and, later, dispatches the outbox) in a loop."""

from __future__ import annotations

import asyncio

import structlog

from ombuds.services.context import Ombuds
from ombuds.services.sweeper import sweep

log = structlog.get_logger("ombuds.worker")


async def run_forever(app: Ombuds, interval: float = 1.0) -> None:
    """Sweep, sleep, repeat. Safe to run in many processes at once on PostgreSQL."""
    while True:
        try:
            fired = await sweep(app)
            if fired:
                log.info("deadlines_applied", count=fired)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep sweeping; the failed batch rolled back and will be retried
            log.exception("sweep_failed")
        await asyncio.sleep(interval)
