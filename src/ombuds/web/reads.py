"""Small reads the pages need beside the services' own: names, line titles, an order's
disputes. Read-only, one short query each; visibility is checked by the services first."""

from __future__ import annotations

from sqlalchemy import func, select

from ombuds.domain.disputes import Dispute
from ombuds.services.context import Ombuds
from ombuds.store import tables as t
from ombuds.store.mapping import row_to_dispute


async def people(app: Ombuds, ids) -> dict[int, dict]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    async with app.engine.connect() as conn:
        rows = (await conn.execute(select(t.users.c.id, t.users.c.name, t.users.c.country, t.users.c.role)
                                   .where(t.users.c.id.in_(ids)))).all()
    return {r.id: {"name": r.name, "country": r.country, "role": r.role} for r in rows}


async def lines(app: Ombuds, line_ids) -> dict[int, dict]:
    line_ids = {i for i in line_ids if i is not None}
    if not line_ids:
        return {}
    async with app.engine.connect() as conn:
        rows = (await conn.execute(select(t.order_lines.c.id, t.order_lines.c.title, t.order_lines.c.order_id,
                                          t.order_lines.c.unit_price, t.order_lines.c.quantity)
                                   .where(t.order_lines.c.id.in_(line_ids)))).all()
    return {r.id: {"title": r.title, "order_id": r.order_id, "unit_price": r.unit_price,
                   "quantity": r.quantity} for r in rows}


async def disputes_of_order(app: Ombuds, order_id: int) -> list[Dispute]:
    async with app.engine.connect() as conn:
        rows = (await conn.execute(select(t.disputes).where(t.disputes.c.order_id == order_id)
                                   .order_by(t.disputes.c.id))).all()
    return [row_to_dispute(r) for r in rows]


async def buyer_history(app: Ombuds, buyer_id: int) -> dict:
    """For the arbitrator (R22): how often this buyer disputes, and how those ended."""
    async with app.engine.connect() as conn:
        orders = (await conn.execute(select(func.count()).select_from(t.orders)
                                     .where(t.orders.c.buyer_id == buyer_id))).scalar_one()
        outcomes: dict[str | None, int] = dict((await conn.execute(
            select(t.disputes.c.outcome, func.count()).where(t.disputes.c.buyer_id == buyer_id)
            .group_by(t.disputes.c.outcome))).all())
        silence = (await conn.execute(
            select(func.count()).select_from(t.timeline).join(t.disputes, t.disputes.c.id == t.timeline.c.dispute_id)
            .where(t.disputes.c.buyer_id == buyer_id, t.timeline.c.action == "seller_silence"))).scalar_one()
    return {"orders": orders, "disputes": sum(outcomes.values()), "won_by_silence": silence,
            "withdrawn": outcomes.get("withdrawn", 0)}


async def seller_history(app: Ombuds, seller_id: int) -> dict:
    async with app.engine.connect() as conn:
        orders = (await conn.execute(select(func.count()).select_from(t.orders)
                                     .where(t.orders.c.seller_id == seller_id))).scalar_one()
        outcomes: dict[str | None, int] = dict((await conn.execute(
            select(t.disputes.c.outcome, func.count()).where(t.disputes.c.seller_id == seller_id)
            .group_by(t.disputes.c.outcome))).all())
    refunded = outcomes.get("refunded_full", 0) + outcomes.get("refunded_partial", 0)
    return {"orders": orders, "disputes": sum(outcomes.values()), "refunded": refunded}


async def unanswered_messages(app: Ombuds, user_id: int, role: str, limit: int = 50) -> list[dict]:
    """R4: orders of this buyer or seller whose last message came from the other party —
    the messages waiting for their answer, the oldest wait first."""
    from ombuds.store.tables_evidence import order_messages as m
    mine = t.orders.c.seller_id if role == "seller" else t.orders.c.buyer_id
    other = "buyer" if role == "seller" else "seller"
    last = (select(m.c.order_id, func.max(m.c.id).label("id")).join(t.orders, t.orders.c.id == m.c.order_id)
            .where(mine == user_id).group_by(m.c.order_id).subquery())
    q = (select(m.c.order_id, m.c.body, m.c.created_at, m.c.author_id).join(last, last.c.id == m.c.id)
         .where(m.c.author_role == other).order_by(m.c.created_at).limit(limit))
    async with app.engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    return [{"order_id": r.order_id, "body": r.body, "at": r.created_at, "author_id": r.author_id} for r in rows]
