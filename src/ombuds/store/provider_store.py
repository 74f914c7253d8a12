"""R39: what the payment provider's side keeps — the events received, card chargebacks and the
transfers of payouts to sellers' connected accounts.

Every function works in the caller's connection and transaction, except the read models that
take the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.store import tables as t
from ombuds.store.tables_stripe import chargebacks as cb
from ombuds.store.tables_stripe import payout_transfers as pt
from ombuds.store.tables_stripe import provider_events

ChargebackRow = Row[*tuple[Any, ...]]
TransferRow = Row[*tuple[Any, ...]]
"""A ``payout_transfers`` row; a claim's also has the order's ``payment_ref``."""
PayoutToTransfer = Row[*tuple[Any, ...]]
"""A payout with no transfer yet: ``id``, ``line_id``, ``order_id``, ``seller_id``, ``currency``
and the seller's ``payout_account``."""


# Events received ------------------------------------------------------------------------------

async def record_event(conn: AsyncConnection, *, event_id: str, type: str, object_id: str | None,
                       received_at: datetime) -> bool:
    """Keep the event's id; False if it was received before (nothing was written, and the
    transaction is to be rolled back)."""
    try:
        await conn.execute(insert(provider_events).values(id=event_id, type=type, object_id=object_id,
                                                          received_at=received_at))
    except IntegrityError:
        return False
    return True


async def order_of_payment(conn: AsyncConnection, payment_refs: Sequence[str]) -> int | None:
    """The first order paid with one of ``payment_refs`` (a charge or a payment intent)."""
    return (await conn.execute(select(t.orders.c.id).where(t.orders.c.payment_ref.in_(payment_refs))
                               .order_by(t.orders.c.id).limit(1))).scalar()


# Chargebacks ----------------------------------------------------------------------------------

async def chargebacks_of_order(engine: AsyncEngine, order_id: int) -> list[ChargebackRow]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(cb).where(cb.c.order_id == order_id).order_by(cb.c.id))).all())


async def chargeback(conn: AsyncConnection, provider_ref: str) -> ChargebackRow | None:
    return (await conn.execute(select(cb).where(cb.c.provider_ref == provider_ref))).first()


async def add_chargeback(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(cb).values(**values))


async def update_chargeback(conn: AsyncConnection, chargeback_id: int, **values: Any) -> None:
    await conn.execute(update(cb).where(cb.c.id == chargeback_id).values(**values))


# Transfers of payouts -------------------------------------------------------------------------

async def last_transferred_payout(conn: AsyncConnection) -> int:
    """The highest payout id that has a transfer (0 if none)."""
    return (await conn.execute(select(func.max(pt.c.payout_id)))).scalar() or 0


async def payouts_to_transfer(conn: AsyncConnection, *, after: int, limit: int) -> list[PayoutToTransfer]:
    """Payouts after id ``after`` to sellers with a connected account that have no transfer yet,
    in id order (an index read)."""
    p, u = t.payouts, t.users
    return list((await conn.execute(
        select(p.c.id, p.c.line_id, p.c.order_id, p.c.seller_id, p.c.currency, u.c.payout_account)
        .join(u, u.c.id == p.c.seller_id).outerjoin(pt, pt.c.line_id == p.c.line_id)
        .where(p.c.id > after, pt.c.id.is_(None), u.c.payout_account.is_not(None))
        .order_by(p.c.id).limit(limit))).all())


async def add_transfers(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Transfer rows, one multi-row INSERT."""
    await conn.execute(pt.insert(), list(rows))


async def claim_due_transfers(conn: AsyncConnection, *, now: datetime, wall: datetime, limit: int,
                              lock: bool) -> list[TransferRow]:
    """Transfers due by ``now`` that no live claim holds (its lease ends after ``wall``), oldest
    first, with the order's payment; ``lock``: lock them, skipping those another claim holds."""
    q = (select(pt, t.orders.c.payment_ref).join(t.orders, t.orders.c.id == pt.c.order_id)
         .where(pt.c.next_attempt_at <= now,
                (pt.c.claimed_until.is_(None)) | (pt.c.claimed_until < wall))
         .order_by(pt.c.next_attempt_at, pt.c.id).limit(limit))
    if lock:
        q = q.with_for_update(of=pt, skip_locked=True)
    return list((await conn.execute(q)).all())


async def lease_transfers(conn: AsyncConnection, ids: Sequence[int], *, until: datetime) -> None:
    await conn.execute(update(pt).where(pt.c.id.in_(ids)).values(claimed_until=until))


async def update_transfer(conn: AsyncConnection, transfer_id: int, **values: Any) -> None:
    await conn.execute(update(pt).where(pt.c.id == transfer_id).values(**values))


async def transfer(conn: AsyncConnection, transfer_id: int) -> TransferRow | None:
    return (await conn.execute(select(pt).where(pt.c.id == transfer_id))).first()


async def transfer_of_provider(conn: AsyncConnection, provider_ref: str) -> TransferRow | None:
    return (await conn.execute(select(pt).where(pt.c.provider_ref == provider_ref))).first()


async def transfers_of_order(engine: AsyncEngine, order_id: int) -> list[TransferRow]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(pt).where(pt.c.order_id == order_id).order_by(pt.c.line_id))).all())
