"""Every background loop of Ombuds, configured by whoever starts it.

One loop, two jobs: apply due deadlines (:func:`ombuds.services.sweeper.sweep`) and
dispatch the outbox (:func:`ombuds.services.dispatch.dispatch`: fan-out, e-mail, webhooks).
Its callers decide which jobs it runs, from their own settings:

- ``ombuds worker`` (:func:`for_worker`): both jobs, with either clock. Run as many as you
  like on PostgreSQL; due rows are claimed with ``FOR UPDATE SKIP LOCKED``.
- ``ombuds serve`` (:func:`for_serve`, started by :func:`in_background` from the app's
  lifespan): with the wall clock both jobs; with a manual clock (the demo) dispatch only, so
  the mailbox fills while deadlines wait for ``clock advance``; nothing at all when
  ``OMBUDS_WORKER_IN_PROCESS=false``.

A loop never sleeps while there is work: a pass that did something is followed by another.
When idle, on SQLite it looks again every ``poll_interval``. On PostgreSQL it sleeps until a
trigger wakes it (:mod:`ombuds.store.notify`: an outbox row written, a row due within a
minute, the manual clock moved), the next deadline it knows of falls due, a delivery's lease
held by a dead dispatcher runs out, or ``safety_interval`` passes — whichever comes first. If
its listening connection is down it polls every ``poll_interval`` until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import structlog

from ombuds.adapters import metrics
from ombuds.adapters.clock import wall_now
from ombuds.services.context import Ombuds
from ombuds.services.dispatch import DispatchConfig, dispatch
from ombuds.services.sweeper import sweep
from ombuds.settings import Settings
from ombuds.store.notify import Wakeups, listener_dsn, outlook

log = structlog.get_logger("ombuds.worker")


@dataclass(frozen=True, slots=True)
class Loops:
    """What one background loop does and how it waits."""

    sweep: bool  # apply due deadlines, move refunds along, the trust step
    dispatch: DispatchConfig | None  # fan out the outbox and send; None: leave it to others
    poll_interval: float = 1.0  # SQLite, or no listening connection: how often an idle loop looks
    safety_interval: float = 30.0  # PostgreSQL with wake-ups: the longest an idle loop sleeps anyway
    wakeups: bool = True  # LISTEN/NOTIFY on PostgreSQL (off behind a transaction-pooling proxy)
    name: str = "ombuds-worker"  # the listening connection's application_name


def for_worker(settings: Settings, *, interval: float | None = None,
               safety_interval: float | None = None) -> Loops:
    """``ombuds worker``: sweeps and dispatch, with either clock."""
    return Loops(sweep=True, dispatch=DispatchConfig.from_settings(settings),
                 poll_interval=interval if interval is not None else settings.sweep_interval_seconds,
                 safety_interval=safety_interval if safety_interval is not None
                 else settings.wakeup_safety_seconds,
                 wakeups=settings.wakeups, name="ombuds-worker")


def for_serve(settings: Settings) -> Loops | None:
    """``ombuds serve``'s in-process loop: sweeps only with the wall clock (a manual clock moves
    when someone advances it, and the advance sweeps); dispatch with either."""
    if not settings.worker_in_process:
        return None
    return Loops(sweep=settings.clock == "wall", dispatch=DispatchConfig.from_settings(settings),
                 poll_interval=settings.sweep_interval_seconds, safety_interval=settings.wakeup_safety_seconds,
                 wakeups=settings.wakeups, name="ombuds-serve")


@contextlib.asynccontextmanager
async def in_background(app: Ombuds, loops: Loops | None) -> AsyncIterator[None]:
    """Run ``loops`` as a task for the duration (an app's lifespan); nothing when None."""
    if loops is None:
        yield
        return
    task = asyncio.create_task(run_forever(app, loops), name=loops.name)
    try:
        yield
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:  # it has stopped either way; say why
            log.exception("background_loop_failed")


async def run_forever(app: Ombuds, loops: Loops, *, wakeups: Wakeups | None = None) -> None:
    """Work while there is work; when idle, wait as the module docstring says. Never returns."""
    if wakeups is None and loops.wakeups and app.engine.dialect.name == "postgresql":
        wakeups = Wakeups(listener_dsn(app.engine.url), name=loops.name)
    if wakeups is not None:
        await wakeups.start()
    try:
        while True:
            busy, failed = await one_pass(app, loops)
            if busy:
                continue
            if failed or wakeups is None or not wakeups.connected:
                await asyncio.sleep(loops.poll_interval)  # SQLite, no listener, or a failure to retry
                continue
            await _wait_for_work(app, loops, wakeups)
    finally:
        if wakeups is not None:
            await wakeups.close()


async def one_pass(app: Ombuds, loops: Loops) -> tuple[bool, bool]:
    """Sweep, then dispatch; returns (did something, something failed)."""
    busy = failed = False
    if loops.sweep:
        try:
            fired = await sweep(app)
            if fired:
                busy = True
                metrics.DEADLINES.inc(fired)
                log.info("deadlines_applied", count=fired)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep going; the failed batch rolled back and will be retried
            failed = True
            metrics.FAILURES.labels("sweep").inc()
            log.exception("sweep_failed")
    if loops.dispatch is not None:
        try:
            report = await dispatch(app, loops.dispatch)
            busy = busy or not report.idle
            for kind in ("events", "mails", "webhooks"):
                metrics.DISPATCHED.labels(kind).inc(getattr(report, kind))
        except asyncio.CancelledError:
            raise
        except Exception:  # the failed batch rolled back (or its lease runs out): retried later
            failed = True
            metrics.FAILURES.labels("dispatch").inc()
            log.exception("dispatch_failed")
    return busy, failed


async def _wait_for_work(app: Ombuds, loops: Loops, wakeups: Wakeups) -> None:
    """Raise the flag, look once (closing the window since the last pass), sleep, lower it."""
    wakeups.clear()
    if not await wakeups.waiting(loops.safety_interval + 5):
        await asyncio.sleep(loops.poll_interval)
        return
    try:
        timeout = await _sleep_for(app, loops)
        reason = await wakeups.wait(timeout)
        log.debug("worker_woken", reason=reason or "timer", slept_up_to=timeout)
    finally:
        await wakeups.waiting(None)


async def _sleep_for(app: Ombuds, loops: Loops) -> float:
    """Seconds until the first thing this loop knows will need it, at most ``safety_interval``.

    Something ready already (rows another worker holds, or a row committed since the last
    pass) waits ``poll_interval``: another pass right away could find the same rows locked.
    """
    async with app.engine.connect() as conn:
        seen = await outlook(conn, sweeps=loops.sweep, dispatches=loops.dispatch is not None)
    now, wall = await app.now(), wall_now()
    waits = [loops.safety_interval]
    if seen.outbox_waiting:
        waits.append(0)
    for due in (seen.sweep_due, seen.send_due):
        # A manual clock stands still: what is not due now waits for an advance (a wake-up).
        if due is not None and (not app.clock.manual or due <= now):
            waits.append(_seconds(due, now))
    if seen.lease_ends is not None:
        waits.append(_seconds(seen.lease_ends, wall))
    sleep = min(waits)
    return loops.poll_interval if sleep <= 0 else sleep


def _seconds(at: datetime, now: datetime) -> float:
    return (at - now).total_seconds()
