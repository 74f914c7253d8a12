"""R39: card chargebacks on an order, read for the payout rule and for staff."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.domain.errors import Forbidden
from ombuds.domain.orders import Order
from ombuds.services.context import Caller, Ombuds
from ombuds.store.tables_stripe import chargebacks as cb


async def held_lines(conn: AsyncConnection, order: Order) -> set[int]:
    """The order's lines whose payout an open chargeback holds (R1 waits for them). Only an
    order paid through a provider (``payment_ref``) can have one, so others cost no query."""
    if order.payment_ref is None:
        return set()
    rows = (await conn.execute(select(cb.c.line_ids).where(cb.c.order_id == order.id,
                                                            cb.c.closed_at.is_(None)))).scalars().all()
    return {int(line_id) for ids in rows for line_id in ids}


async def of_order(app: Ombuds, *, caller: Caller, order_id: int) -> list[dict]:
    """Staff see the chargebacks beside any Ombuds dispute on the order."""
    if not caller.is_staff:
        raise Forbidden("staff_only", "Card chargebacks are shown to the marketplace and its arbitrators.")
    async with app.engine.connect() as conn:
        rows = (await conn.execute(select(cb).where(cb.c.order_id == order_id).order_by(cb.c.id))).all()
    return [view(r) for r in rows]


def view(r) -> dict:
    return {"id": r.id, "provider_ref": r.provider_ref, "order_id": r.order_id, "charge": r.charge_ref,
            "amount": r.amount, "currency": r.currency, "reason": r.reason, "status": r.status,
            "line_ids": list(r.line_ids), "opened_at": r.opened_at.isoformat(),
            "closed_at": r.closed_at.isoformat() if r.closed_at else None, "outcome": r.outcome}
