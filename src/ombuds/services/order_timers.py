"""Order timers in sets (DESIGN.md §3): protection's end completes a shipped order and pays the
seller per line (R1); the end of the dispute window closes a completed one (R6).

One batch, in the caller's transaction: claim due orders (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, rows set aside left out), load them with their lines in one query, let the domain
apply each order's due timers in memory, each at its own time (:func:`ombuds.domain.engine.fire_next`:
protection's end, then the window's end), then write: the orders with one statement run for all, their events as
one multi-row INSERT, and their payouts through :func:`ombuds.services.money.pay_out_many`.

:func:`ombuds.services.orders.catch_up` is the same for one order a person is acting on.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from ombuds.domain import engine
from ombuds.domain.events import Event
from ombuds.domain.orders import Order
from ombuds.domain.policy import Policy
from ombuds.services import money
from ombuds.store import sweep_store
from ombuds.store.repository import Repository

KIND = "order"


async def claim(repo: Repository, until: datetime, limit: int, *, only: int | None = None) -> list[Order]:
    """Due orders, the earliest deadline first, locked for this transaction."""
    ids = await sweep_store.claim_due_orders(repo.conn, until, limit, KIND, only=only, lock=repo.locks_rows)
    return await sweep_store.load_orders(repo.conn, ids, lock=False)


def fire_due(order: Order, until: datetime, policy: Policy
             ) -> tuple[int, datetime | None, list[tuple[Event, int, datetime]]]:
    """Apply the order's timers due by ``until``, each at its own time. Returns how many fired,
    when the first fired (its payouts are as of then) and its events with their times."""
    fired, first = 0, None
    events: list[tuple[Event, int, datetime]] = []
    order_id = cast(int, order.id)  # a stored order: it has its id
    while (step := engine.fire_next(order, now=until, policy=policy)) is not None:
        at = step[1]
        fired += 1
        first = first or at
        events += [(e, order_id, at) for e in order.new_events]
        order.new_events.clear()
    return fired, first, events


async def apply(repo: Repository, orders: list[Order], until: datetime, policy: Policy
                ) -> tuple[int, dict[int, str]]:
    """Apply the claimed orders' due timers and write the results in a few statements; returns
    (timers fired, orders the domain refused → why: left unwritten, for the caller to set aside)."""
    moved: list[Order] = []
    payouts: list[tuple[Order, datetime]] = []
    events: list[tuple[Event, int, datetime]] = []
    failed: dict[int, str] = {}
    fired = 0
    for order in orders:
        try:
            n, first, order_events = fire_due(order, until, policy)
        except Exception as exc:  # the domain refused this order: set it aside, do the others
            failed[cast(int, order.id)] = f"{type(exc).__name__}: {exc}"
            continue
        if not n or first is None:  # its stored deadline says due, the order says not: a row to look at
            failed[cast(int, order.id)] = (f"due by its stored deadline {order.deadline[1]}, "
                                           "but no timer of the order is due")
            continue
        fired += n
        moved.append(order)
        payouts.append((order, first))
        events += order_events
    await sweep_store.save_locked_orders(repo.conn, moved)
    await sweep_store.add_events(repo.conn, events)
    await money.pay_out_many(repo, payouts, policy)
    return fired, failed
