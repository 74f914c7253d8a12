"""What a dispute's closing sets in motion, in one place: its refunds (R1, R7, R30), the
seller's payout of the line it released (R1) and, for a replacement, the reshipped parcel
as an order of its own (R19).

Disputes close in two ways, and both end here, in the transaction that saved the closing:

- a person's action (:func:`ombuds.services.disputes.act`): one dispute, its order locked;
- the sweeper's batch (:mod:`ombuds.services.sweeper`): every claimed dispute whose timer
  closed it, their orders locked in id order.

Usage, in the caller's unit of work::

    closed = closing.closed_in(disputes)        # before saving: saving empties the event lists
    await repo.save_dispute(...)                # or save_locked_disputes(...)
    await closing.settle(repo, await closing.lock_orders_of(repo, closed), policy)

``settle`` takes orders the caller has already locked, so a batch sweeper that loads and
locks its orders in bulk calls it directly with its own :class:`Closing` list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ombuds.domain.disputes import Dispute, Outcome
from ombuds.domain.events import DisputeClosed
from ombuds.domain.orders import Order, OrderLine
from ombuds.domain.policy import Policy
from ombuds.services import money
from ombuds.store import sweep_store
from ombuds.store.repository import Repository


@dataclass(frozen=True, slots=True)
class Closing:
    """An order, locked by the caller, and the disputes on it that closed in this change."""

    order: Order
    disputes: tuple[Dispute, ...]


def closed_in(disputes: Iterable[Dispute]) -> list[Dispute]:
    """The disputes that closed in the change not saved yet (their :class:`DisputeClosed` event)."""
    return [d for d in disputes if any(isinstance(e, DisputeClosed) for e in d.new_events)]


async def lock_orders_of(repo: Repository, closed: Sequence[Dispute]) -> list[Closing]:
    """Lock the orders of these disputes (in id order, so two workers never deadlock; one query
    for all of them) and pair each with its disputes."""
    if not closed:
        return []
    orders = await sweep_store.load_orders(repo.conn, {d.order_id for d in closed}, lock=repo.locks_rows)
    return [Closing(o, tuple(d for d in closed if d.order_id == o.id)) for o in orders]


async def settle(repo: Repository, closings: Sequence[Closing], policy: Policy) -> None:
    """THE handler of ``dispute.closed``. For each order and the disputes on it that closed:

    - each dispute's refund intents become refunds, issued at the moment it closed (R1, R7);
    - the seller is paid what escrow still holds for every settled line, as of the last close
      (R1: a line released by its dispute is paid when the dispute closed, never earlier);
    - a dispute closed by a reship gets its replacement order, shipped, with its own
      protection window (R19).

    However many closings, the refunds and the payouts are each written with a few set-wide
    statements (:func:`money.issue_refunds`, :func:`money.pay_out_many`)."""
    await money.issue_refunds(repo, [r for c in closings for d in c.disputes
                                     for r in money.dispute_refunds(c.order, d)], policy)
    await money.pay_out_many(repo, [(c.order, _last_closed(c)) for c in closings], policy)
    for closing in closings:
        for d in closing.disputes:
            if d.outcome is Outcome.replaced:
                await _ship_replacement(repo, closing.order, d, policy)


def _last_closed(c: Closing) -> datetime:
    """When the last of the order's disputes in this change closed."""
    closed = [d.closed_at for d in c.disputes]
    assert None not in closed, "a dispute that closed has the moment it closed"
    return max(at for at in closed if at is not None)


async def _ship_replacement(repo: Repository, order: Order, d: Dispute, policy: Policy) -> None:
    """R19: the reshipped parcel is an order of its own, with its own protection window."""
    closed_at, carrier, tracking_number = d.closed_at, d.reship_carrier, d.reship_tracking
    assert closed_at is not None and carrier is not None and tracking_number is not None, \
        "a dispute closed by a reship names its parcel and when it closed"
    line = order.line(d.line_id)
    replacement = Order(id=None, buyer_id=order.buyer_id, seller_id=order.seller_id,
                        currency=order.currency, payment_method=order.payment_method, created_at=closed_at,
                        lines=[OrderLine(None, 1, line.title, line.unit_price, d.quantity)],
                        external_ref=order.external_ref, replacement_for_line_id=line.id)
    replacement.ship(carrier=carrier, tracking_number=tracking_number, now=closed_at, policy=policy)
    await repo.add_order(replacement)
