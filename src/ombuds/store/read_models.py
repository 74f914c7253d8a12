"""Read models: what the lists, timelines and case files show, each read on a connection of
its own from the engine, in as few queries as the page needs. Callers filter by party:
``party_id`` None reads everyone's (staff).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from ombuds.domain.disputes import Dispute, DisputeState
from ombuds.domain.events import TimelineEntry  # re-exported: the read models speak of the same entries
from ombuds.domain.orders import Order
from ombuds.store import tables as t
from ombuds.store.mapping import row_to_dispute, row_to_order

# Journal entry kinds that settle a refund: the ledger, not a flag, says a refund is settled.
SETTLED_KINDS = ("refund_settled", "refund_to_balance")


async def people(engine: AsyncEngine, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    """User id → id, name, email, country and role."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.users.c.id, t.users.c.name, t.users.c.email, t.users.c.country,
                                          t.users.c.role).where(t.users.c.id.in_(user_ids)))).all()
    return {r.id: r._asdict() for r in rows}


# Timelines -----------------------------------------------------------------------------------

def timeline_entry(r: Row[Any]) -> TimelineEntry:
    return TimelineEntry(r.at, r.actor, r.actor_id, r.action, r.from_state, r.to_state, r.deadline,
                         r.deadline_at, r.details)


async def timeline(engine: AsyncEngine, dispute_id: int) -> list[TimelineEntry]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.timeline).where(t.timeline.c.dispute_id == dispute_id)
                                   .order_by(t.timeline.c.id))).all()
    return [timeline_entry(r) for r in rows]


# Orders and disputes -------------------------------------------------------------------------

def _mine(table: Any, party_id: int | None) -> ColumnElement[bool]:
    if party_id is None:
        return true()
    return or_(table.c.buyer_id == party_id, table.c.seller_id == party_id)


async def orders_page(engine: AsyncEngine, *, party_id: int | None, state: str | None, limit: int,
                      after_id: int | None) -> tuple[list[Order], dict[int, int]]:
    """Orders newest first, with their lines, and their disputed lines (line id → dispute id)."""
    q = select(t.orders).where(_mine(t.orders, party_id)).order_by(t.orders.c.id.desc()).limit(limit)
    if state:
        q = q.where(t.orders.c.state == state)
    if after_id:
        q = q.where(t.orders.c.id < after_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(q)).all()
        ids = [r.id for r in rows]
        lines = (await conn.execute(select(t.order_lines).where(t.order_lines.c.order_id.in_(ids))
                                    .order_by(t.order_lines.c.position))).all() if ids else []
        disputed: dict[int, int] = dict(
            (await conn.execute(select(t.disputes.c.line_id, t.disputes.c.id)
                                .where(t.disputes.c.order_id.in_(ids)))).all()) if ids else {}
    by_order: dict[int, list[Row[Any]]] = {}
    for line in lines:
        by_order.setdefault(line.order_id, []).append(line)
    return [row_to_order(r, by_order.get(r.id, [])) for r in rows], disputed


async def disputed_lines(engine: AsyncEngine, order_id: int) -> dict[int, int]:
    """Line id → dispute id, for the order's disputed lines."""
    async with engine.connect() as conn:
        return dict((await conn.execute(select(t.disputes.c.line_id, t.disputes.c.id)
                                        .where(t.disputes.c.order_id == order_id))).all())


async def disputes_page(engine: AsyncEngine, *, party_id: int | None, state: str | None, open_only: bool,
                        limit: int, after_id: int | None) -> list[Dispute]:
    """Open disputes first, the most urgent deadline first (the seller's inbox)."""
    q = select(t.disputes).where(_mine(t.disputes, party_id))
    if state:
        q = q.where(t.disputes.c.state == state)
    if open_only:
        q = q.where(t.disputes.c.state != DisputeState.closed.value)
    if after_id:
        q = q.where(t.disputes.c.id > after_id)
    q = q.order_by(t.disputes.c.deadline_at.is_(None), t.disputes.c.deadline_at, t.disputes.c.id).limit(limit)
    async with engine.connect() as conn:
        return [row_to_dispute(r) for r in (await conn.execute(q)).all()]


# Money ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RefundRow:
    """A refund with its order's seller and when the ledger settled it (None: not yet)."""

    id: int
    dispute_id: int | None
    order_id: int
    line_id: int | None
    buyer_id: int
    seller_id: int
    amount: int
    currency: str
    payment_method: str
    destination: str
    reason: str
    created_at: datetime
    expected_earliest: date | None
    expected_latest: date | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    provider_ref: str | None
    settled_at: datetime | None


async def refunds(engine: AsyncEngine, *, party_id: int | None, order_id: int | None, buyer_id: int | None,
                  status: str | None, limit: int, refund_id: int | None) -> list[RefundRow]:
    """Refunds newest first; ``party_id``: the refund's buyer or its order's seller."""
    settled = (select(t.journal_entries.c.refund_id, t.journal_entries.c.created_at.label("settled_at"))
               .where(t.journal_entries.c.kind.in_(SETTLED_KINDS)).subquery())
    q = (select(t.refunds, t.orders.c.seller_id, settled.c.settled_at)
         .join(t.orders, t.orders.c.id == t.refunds.c.order_id)
         .outerjoin(settled, settled.c.refund_id == t.refunds.c.id))
    if party_id is not None:
        q = q.where(or_(t.refunds.c.buyer_id == party_id, t.orders.c.seller_id == party_id))
    if order_id:
        q = q.where(t.refunds.c.order_id == order_id)
    if refund_id:
        q = q.where(t.refunds.c.id == refund_id)
    if buyer_id:
        q = q.where(t.refunds.c.buyer_id == buyer_id)
    if status:
        q = q.where(_status_is(status, settled.c.settled_at))
    q = q.order_by(t.refunds.c.id.desc()).limit(limit)
    async with engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    return [RefundRow(r.id, r.dispute_id, r.order_id, r.line_id, r.buyer_id, r.seller_id, r.amount, r.currency,
                      r.payment_method, r.destination, r.reason, r.created_at, r.expected_earliest,
                      r.expected_latest, r.attempts, r.last_error, r.next_attempt_at, r.provider_ref,
                      r.settled_at) for r in rows]


def _status_is(status: str, settled_at: Any) -> ColumnElement[bool]:
    """``services.queries.refund_status`` as SQL, so a filter finds every match, however old."""
    r = t.refunds.c
    unsettled = settled_at.is_(None)
    return {
        "settled": settled_at.is_not(None),
        "submitted": and_(unsettled, r.provider_ref.is_not(None)),
        "pending": and_(unsettled, r.provider_ref.is_(None), r.next_attempt_at.is_not(None)),
        "failed": and_(unsettled, r.provider_ref.is_(None), r.next_attempt_at.is_(None)),
    }.get(status, false())


@dataclass(frozen=True, slots=True)
class PayoutRow:
    id: int
    order_id: int
    line_id: int
    seller_id: int
    amount: int
    currency: str
    created_at: datetime


async def payouts(engine: AsyncEngine, *, seller_id: int | None, order_id: int | None, limit: int
                  ) -> list[PayoutRow]:
    """Payouts newest first; ``seller_id`` None: every seller's (staff)."""
    q = select(t.payouts).order_by(t.payouts.c.id.desc()).limit(limit)
    if seller_id is not None:
        q = q.where(t.payouts.c.seller_id == seller_id)
    if order_id:
        q = q.where(t.payouts.c.order_id == order_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    return [PayoutRow(r.id, r.order_id, r.line_id, r.seller_id, r.amount, r.currency, r.created_at) for r in rows]
