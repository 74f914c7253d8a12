"""R40: parcels by tracking number and their carrier checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.domain.tracking import Parcel
from ombuds.store import tables as t
from ombuds.store.tables_tracking import parcel_checkpoints as pc


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """A kept checkpoint, as the pages and the case file show it."""

    id: int
    parcel_key: str
    parcel: str
    order_id: int
    dispute_id: int | None
    tracking_number: str
    carrier: str | None
    status: str
    occurred_at: datetime
    location: str | None
    message: str | None
    source: str
    event_id: str
    received_at: datetime


async def parcels_numbered(engine: AsyncEngine, tracking_number: str, order_id: int | None
                           ) -> tuple[list[int], list[tuple[int, int]]]:
    """Orders shipped, and disputes' returns sent, with this tracking number (of that order only
    when ``order_id`` is given): (order ids, (order id, dispute id) of the returns)."""
    async with engine.connect() as conn:
        shipments = (await conn.execute(select(t.orders.c.id).where(
            t.orders.c.tracking_number == tracking_number,
            *([t.orders.c.id == order_id] if order_id else [])))).scalars().all()
        returns = (await conn.execute(select(t.disputes.c.order_id, t.disputes.c.id).where(
            t.disputes.c.return_tracking == tracking_number,
            *([t.disputes.c.order_id == order_id] if order_id else [])))).all()
    return list(shipments), [(o, d) for o, d in returns]


async def event_seen(engine: AsyncEngine, event_id: str) -> bool:
    """Whether a checkpoint of this webhook event was kept already."""
    async with engine.connect() as conn:
        return (await conn.execute(select(pc.c.id).where(pc.c.event_id == event_id).limit(1))).first() is not None


async def moments_seen(conn: AsyncConnection, parcel_key: str) -> set[tuple[datetime, str]]:
    """(occurred at, status) of every checkpoint kept for the parcel."""
    return {(r.occurred_at, r.status) for r in (await conn.execute(
        select(pc.c.occurred_at, pc.c.status).where(pc.c.parcel_key == parcel_key))).all()}


async def add_checkpoints(conn: AsyncConnection, rows: list[dict[str, Any]]) -> bool:
    """Keep the checkpoints; False when another transaction kept one of them first (the same
    event delivered twice at once)."""
    try:
        await conn.execute(pc.insert(), rows)
    except IntegrityError:
        return False
    return True


async def checkpoints_of(engine: AsyncEngine, *, order_id: int, dispute_id: int | None,
                         all_returns: bool) -> list[CheckpointRow]:
    """The order's shipment checkpoints and those of the return of ``dispute_id`` (or of every
    return), oldest first."""
    conditions = [pc.c.parcel == Parcel.shipment.value]
    if dispute_id is not None:
        conditions.append(pc.c.dispute_id == dispute_id)
    elif all_returns:
        conditions.append(pc.c.parcel == Parcel.ret.value)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(pc).where(pc.c.order_id == order_id, or_(*conditions))
                                   .order_by(pc.c.occurred_at, pc.c.id))).all()
    return [CheckpointRow(**r._asdict()) for r in rows]
