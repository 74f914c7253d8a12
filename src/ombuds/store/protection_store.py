"""R38: the buyer's requests for more protection, and the outbox events that tell of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.domain.events import Event
from ombuds.domain.orders import OrderState
from ombuds.domain.protection_requests import ProtectionRequest, RequestState
from ombuds.store import tables as t
from ombuds.store.tables_protection import protection_requests as pr


def _from_row(r: Any) -> ProtectionRequest:
    return ProtectionRequest(id=r.id, order_id=r.order_id, buyer_id=r.buyer_id, seller_id=r.seller_id,
                             reason=r.reason, days_wanted=r.days_wanted, state=RequestState(r.state),
                             granted_days=r.granted_days, answer=r.answer, created_at=r.created_at,
                             answered_at=r.answered_at)


async def open_request(conn: AsyncConnection, order_id: int) -> ProtectionRequest | None:
    """The order's open request, if there is one (at most one is, R38)."""
    row = (await conn.execute(select(pr).where(pr.c.order_id == order_id, pr.c.state == "open"))).first()
    return None if row is None else _from_row(row)


async def add_request(conn: AsyncConnection, request: ProtectionRequest, now: datetime) -> int | None:
    """Write a new request; its id, or None when another open request of the order won the race."""
    try:
        return (await conn.execute(insert(pr).values(
            order_id=request.order_id, buyer_id=request.buyer_id, seller_id=request.seller_id,
            reason=request.reason, days_wanted=request.days_wanted, state=request.state.value,
            created_at=now).returning(pr.c.id))).scalar_one()
    except IntegrityError:
        return None


async def request_on_order(conn: AsyncConnection, request_id: int, order_id: int) -> ProtectionRequest | None:
    row = (await conn.execute(select(pr).where(pr.c.id == request_id, pr.c.order_id == order_id))).first()
    return None if row is None else _from_row(row)


async def record_answer(conn: AsyncConnection, request: ProtectionRequest) -> bool:
    """Write the seller's answer if the request is still open; False when it was answered meanwhile."""
    answered = await conn.execute(
        update(pr).where(pr.c.id == request.id, pr.c.state == "open")
        .values(state=request.state.value, granted_days=request.granted_days, answer=request.answer,
                answered_at=request.answered_at))
    return answered.rowcount == 1


async def add_events(conn: AsyncConnection, events: Sequence[Event], now: datetime) -> None:
    """Write the events to the outbox (stamped ``now`` unless they carry their own moment)."""
    if events:
        await conn.execute(insert(t.outbox), [
            {"type": e.type, "aggregate": e.aggregate, "aggregate_id": e.aggregate_id, "payload": e.data,
             "created_at": e.at or now} for e in events])


async def requests_of_order(conn: AsyncConnection, order_id: int) -> list[ProtectionRequest]:
    """The order's requests, oldest first."""
    rows = (await conn.execute(select(pr).where(pr.c.order_id == order_id).order_by(pr.c.id))).all()
    return [_from_row(r) for r in rows]


async def open_for_seller(engine: AsyncEngine, seller_id: int, now: datetime) -> list[dict[str, Any]]:
    """Open requests on the seller's shipped orders whose protection still runs at ``now``, the
    soonest ending first, with the order's end of protection and the days it was extended."""
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(pr, t.orders.c.protection_ends_at, t.orders.c.protection_extension_days)
            .join(t.orders, t.orders.c.id == pr.c.order_id)
            .where(and_(pr.c.seller_id == seller_id, pr.c.state == "open",
                        t.orders.c.state == OrderState.shipped.value, t.orders.c.protection_ends_at > now))
            .order_by(t.orders.c.protection_ends_at))).all()
    return [r._asdict() for r in rows]
