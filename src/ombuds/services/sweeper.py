"""Applies every due deadline (DESIGN.md §3): dispute timers and order timers.

Due rows are claimed in deadline order, in batches, one transaction per batch; on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so any number of workers share the work and
each timer is applied once. A timer whose state has moved on is simply no longer due:
deadlines are derived from state, so sweeping is idempotent.
"""

from __future__ import annotations

from datetime import datetime

from ombuds.domain import engine
from ombuds.services.context import Ombuds
from ombuds.services import closing, money, payout_transfers
from ombuds.services.orders import catch_up
from ombuds.services.trust_sweep import sweep_complaints

BATCH = 200


async def sweep(app: Ombuds, *, until: datetime | None = None, batch: int = BATCH) -> int:
    """Apply all timers due by ``until`` (default: now); returns how many fired."""
    until = until or await app.now()
    fired = 0
    while True:
        n = await sweep_batch(app, until=until, batch=batch)
        fired += n
        if n == 0:
            break
    # R39: payouts sent on to sellers' connected accounts, outside any transaction (Stripe only)
    return fired + await payout_transfers.sweep(app, until)


async def sweep_batch(app: Ombuds, *, until: datetime, batch: int = BATCH) -> int:
    """One transaction: claim up to ``batch`` due disputes and orders, apply their timers."""
    fired = 0
    async with app.uow() as uow:
        due = await uow.repo.due_disputes(until, batch)
        for d in due:
            engine.fire_due(d, now=until, policy=app.policy)
        fired += len(due)  # every claimed row moved on (a deadline or a reminder)
        closed = closing.closed_in(due)
        await uow.repo.save_locked_disputes(due, until)
        await closing.settle(uow.repo, await closing.lock_orders_of(uow.repo, closed), app.policy)
        for order in await uow.repo.due_orders(until, batch):
            fired += await catch_up(uow.repo, order, until, app.policy)
        fired += await money.submit_due_refunds(uow.repo, app.payments, app.policy, until, batch)
        fired += await money.settle_due_refunds(uow.repo, until, batch)
        fired += await sweep_complaints(uow, until, batch, app.policy)  # R15, R21, R24
        await uow.commit()
    return fired
