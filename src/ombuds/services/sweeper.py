"""Applies every due deadline (DESIGN.md §3): dispute timers and order timers.

Due rows are claimed in deadline order, in batches, one transaction per batch; on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so any number of workers share the work and
each timer is applied once. A timer whose state has moved on is simply no longer due:
deadlines are derived from state, so sweeping is idempotent.
"""

from __future__ import annotations

from datetime import datetime

from ombuds.domain import engine
from ombuds.domain.orders import OrderState
from ombuds.services.context import Ombuds
from ombuds.services import money

BATCH = 200


async def sweep(app: Ombuds, *, until: datetime | None = None, batch: int = BATCH) -> int:
    """Apply all timers due by ``until`` (default: now); returns how many fired."""
    until = until or await app.now()
    fired = 0
    while True:
        n = await sweep_batch(app, until=until, batch=batch)
        fired += n
        if n == 0:
            return fired


async def sweep_batch(app: Ombuds, *, until: datetime, batch: int = BATCH) -> int:
    """One transaction: claim up to ``batch`` due disputes and orders, apply their timers."""
    fired = 0
    async with app.uow() as uow:
        due = await uow.repo.due_disputes(until, batch)
        for d in due:
            fired += len(engine.fire_due(d, now=until, policy=app.policy))
        closed = [d for d in due if any(e.type == "dispute.closed" for e in d.new_events)]
        await uow.repo.save_locked_disputes(due, until)
        for order in await uow.repo.lock_orders({d.order_id for d in closed}):
            for d in closed:
                if d.order_id == order.id:
                    await money.refund_dispute(uow.repo, order, d, d.closed_at, app.policy)
            await money.pay_out(uow.repo, order, until, app.policy)  # R1: the line is released
        for order in await uow.repo.due_orders(until, batch):
            while order.deadline[1] is not None and order.deadline[1] <= until:
                at = order.deadline[1]
                if order.state is OrderState.shipped:
                    order.end_protection(now=at, policy=app.policy)
                else:
                    order.close(now=at)
                fired += 1
                await uow.repo.save_order(order, at)
                await money.pay_out(uow.repo, order, at, app.policy)
        fired += await money.submit_due_refunds(uow.repo, app.payments, until, batch)
        fired += await money.settle_due_refunds(uow.repo, until, batch)
        await uow.commit()
    return fired
