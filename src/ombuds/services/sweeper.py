"""Applies every due deadline (DESIGN.md §3), one kind of timer at a time, in sets.

Each kind has its own transactions, so one failing row cannot hold back the others:

============== ===================================================================== ===========
kind            what a batch does                                                     transaction
============== ===================================================================== ===========
``dispute``     reminders and timers of disputes (R28, §3); what their closing sets     one per batch
                in motion: refunds, payouts, replacements (:mod:`.closing`)
``order``       protection's end and the dispute window's end, payouts per line (R1)    one per batch
``refund_submit`` refunds sent to the payment provider (R20)                            claim, then
                                                                                        record: the
                                                                                        provider is
                                                                                        called between
``refund_settle`` settlements that fell due (the simulator's)                           one per batch
``complaint``   complaints' reminders and answer targets (R24); then, in a             one per batch;
                transaction of their own, arbitration alerts (R15) and seller flags     one
                (R21)
============== ===================================================================== ===========

A batch claims up to ``batch`` due rows in deadline order (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so any number of workers share the work and each timer is applied once), lets the
domain decide every row in memory, and writes the results with a few set-wide statements. Its
claim reads the batch in order from a (deadline, id) index, and on PostgreSQL its statements are
planned afresh for each batch (:func:`ombuds.store.sweep_store.replan`), so a batch costs the same
however many rows are due and however much one sweep has grown the tables it writes.
Deadlines are derived from state, so a timer whose state has moved on is no longer due and
sweeping is idempotent.

**A failing row is set aside, not retried forever.** A row the domain refuses is left out of
its batch's writes and recorded in ``sweep_set_aside`` with its error, in the batch's
transaction. A batch whose *writes* fail rolls back and is run again one row at a time; the row
that still fails is set aside. Either way the row is logged (``sweep_row_set_aside``), counted
(``ombuds_sweep_set_aside_total{kind}`` on ``/metrics``) and skipped by later claims until an
operator releases it (``ombuds sweeps set-aside``, ``ombuds sweeps release KIND ID``).
Failures that are not the row's — the database unreachable, a lost connection — set nothing
aside: the pass fails and the worker tries again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import structlog

from ombuds.adapters import metrics
from ombuds.domain import engine
from ombuds.domain.disputes import Dispute
from ombuds.services import closing, money, order_timers, payout_transfers
from ombuds.services.context import Ombuds
from ombuds.services.trust_sweep import sweep_alerts_and_flags, sweep_complaints
from ombuds.store import sweep_store
from ombuds.store.repository import MovedOn
from ombuds.store.uow import UnitOfWork

log = structlog.get_logger("ombuds.sweeper")
BATCH = 200


@dataclass
class Batch:
    """What one batch of one kind did: the rows it claimed (filled as soon as they are known,
    so a batch that fails can be retried row by row), how many timers it applied, and the rows
    the domain refused (→ why)."""

    claimed: list[int]
    moved: int = 0
    failed: dict[int, str] | None = None


# Each kind's batch: (app, until, batch size, only this row or None, the Batch to fill).
Step = Callable[[Ombuds, datetime, int, "int | None", Batch], Awaitable[None]]


async def _disputes(app: Ombuds, until: datetime, limit: int, only: int | None, out: Batch) -> None:
    async with app.uow() as uow:
        await sweep_store.replan(uow.conn)
        due = await uow.repo.due_disputes(until, limit, only=only)
        out.claimed = [cast(int, d.id) for d in due]  # stored disputes: each has its id
        fired: list[Dispute] = []
        failed: dict[int, str] = {}
        for d in due:
            try:
                engine.fire_due(d, now=until, policy=app.policy)
            except Exception as exc:  # the lifecycle refused this dispute: set it aside
                failed[cast(int, d.id)] = f"{type(exc).__name__}: {exc}"
                continue
            fired.append(d)
        closed = closing.closed_in(fired)
        await uow.repo.save_locked_disputes(fired, until)
        await closing.settle(uow.repo, await closing.lock_orders_of(uow.repo, closed), app.policy)
        await _set_aside(uow, "dispute", failed, until)
        await uow.commit()
    out.moved, out.failed = len(fired), failed  # every claimed row moved on (a deadline or a reminder)


async def _orders(app: Ombuds, until: datetime, limit: int, only: int | None, out: Batch) -> None:
    async with app.uow() as uow:
        await sweep_store.replan(uow.conn)
        orders = await order_timers.claim(uow.repo, until, limit, only=only)
        out.claimed = [cast(int, o.id) for o in orders]  # stored orders: each has its id
        fired, failed = await order_timers.apply(uow.repo, orders, until, app.policy)
        await _set_aside(uow, order_timers.KIND, failed, until)
        await uow.commit()
    out.moved, out.failed = fired, failed


async def _refunds_to_submit(app: Ombuds, until: datetime, limit: int, only: int | None, out: Batch) -> None:
    done = await money.submit_due_refunds(app, until, limit, only=only)
    out.claimed, out.moved, out.failed = done.claimed, done.moved - len(done.failed), done.failed
    if done.failed:
        async with app.uow() as uow:
            await _set_aside(uow, money.SUBMIT, done.failed, until)
            await uow.commit()


async def _refunds_to_settle(app: Ombuds, until: datetime, limit: int, only: int | None, out: Batch) -> None:
    async with app.uow() as uow:
        await sweep_store.replan(uow.conn)
        out.claimed = await money.settle_due_refunds(uow.repo, until, limit, only=only)
        await uow.commit()
    out.moved = len(out.claimed)


async def _complaints(app: Ombuds, until: datetime, limit: int, only: int | None, out: Batch) -> None:
    async with app.uow() as uow:
        await sweep_store.replan(uow.conn)
        out.claimed, failed = await sweep_complaints(uow, until, limit, app.policy, only=only)
        await _set_aside(uow, "complaint", failed, until)
        await uow.commit()
    out.moved, out.failed = len(out.claimed) - len(failed), failed


KINDS: tuple[tuple[str, Step], ...] = (  # in this order: a closing's refunds are submitted in the same sweep
    ("dispute", _disputes),
    ("order", _orders),
    (money.SUBMIT, _refunds_to_submit),
    (money.SETTLE, _refunds_to_settle),
    ("complaint", _complaints),
)


async def sweep(app: Ombuds, *, until: datetime | None = None, batch: int = BATCH) -> int:
    """Apply all timers due by ``until`` (default: now), kind by kind; returns how many fired."""
    until = until or await app.now()
    fired = 0
    due = await _due_kinds(app, until)
    for kind, step in KINDS:
        if kind in due:
            n = await sweep_kind(app, kind, step, until, batch)
            if n:  # what it did may make rows of the next kinds due (a closing's refunds)
                fired += n
                due = await _due_kinds(app, until)
    fired += await sweep_alerts_and_flags(app, until, batch)  # R15, R21
    # R39: payouts sent on to sellers' connected accounts, outside any transaction (Stripe only)
    return fired + await payout_transfers.sweep(app, until)


async def _due_kinds(app: Ombuds, until: datetime) -> set[str]:
    """Which kinds have a row due, in one read (no write transaction for an idle kind)."""
    due = await sweep_store.due_timers(app.engine, until)
    kinds = {"dispute": due.disputes, "order": due.orders, money.SUBMIT: due.refunds_to_submit,
             money.SETTLE: due.refunds_to_settle, "complaint": due.complaints}
    return {kind for kind, is_due in kinds.items() if is_due}


async def sweep_kind(app: Ombuds, kind: str, step: Step, until: datetime, batch: int) -> int:
    """Batches of one kind until none is left; returns how many timers fired."""
    fired = 0
    while True:
        done = await run_batch(app, kind, step, until, batch)
        fired += done.moved
        if not done.claimed or (done.moved == 0 and not done.failed):  # nothing due, or nothing moves
            return fired


async def run_batch(app: Ombuds, kind: str, step: Step, until: datetime, batch: int) -> Batch:
    """One batch; if its writes fail, its rows one at a time, setting aside the one that fails."""
    out = Batch(claimed=[])
    try:
        await step(app, until, batch, None, out)
    except Exception as exc:
        if not out.claimed or not _the_rows_fault(exc):
            raise
        log.warning("sweep_batch_failed", kind=kind, rows=len(out.claimed), error=str(exc)[:500])
        out.moved, out.failed = 0, {}
        for row_id in out.claimed:
            one = Batch(claimed=[])
            try:
                await step(app, until, 1, row_id, one)
            except Exception as exc:
                if not _the_rows_fault(exc):
                    raise
                out.failed[row_id] = f"{type(exc).__name__}: {exc}"
                async with app.uow() as uow:
                    await _set_aside(uow, kind, {row_id: out.failed[row_id]}, until)
                    await uow.commit()
                continue
            out.moved += one.moved
    return out


def _the_rows_fault(exc: Exception) -> bool:
    """Whether a failure may be the row's own. Not: the database unreachable or the connection
    lost, or someone changing the row first — those are retried, never set aside."""
    if isinstance(exc, (MovedOn, OSError, TimeoutError)):
        return False
    return not sweep_store.is_connection_failure(exc)


async def _set_aside(uow: UnitOfWork, kind: str, failed: dict[int, str] | None, until: datetime) -> None:
    if not failed:
        return
    await sweep_store.set_aside(uow.conn, kind, failed, until)
    for row_id, error in failed.items():
        metrics.SET_ASIDE.labels(kind).inc()
        log.error("sweep_row_set_aside", kind=kind, row_id=row_id, error=error[:500])
