"""What a buyer's risk signals (R22) read: orders and disputes in the window, and the buyer's
evidence (``store/tables_evidence.py``) on those disputes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.domain.risk import BuyerDispute, ReusedPhoto
from ombuds.store import tables as t
from ombuds.store.tables_evidence import evidence


@dataclass(frozen=True, slots=True)
class RiskFacts:
    orders: int  # created in the window, not cancelled, not replacements
    disputes: list[BuyerDispute]  # opened or closed in the window, with the buyer's file counts
    reused: list[ReusedPhoto]  # the buyer's photos seen before, on disputes opened in the window


async def risk_facts(conn: AsyncConnection, buyer_id: int, since: datetime, now: datetime) -> RiskFacts:
    o, d = t.orders, t.disputes
    orders = (await conn.execute(select(func.count()).select_from(o).where(
        o.c.buyer_id == buyer_id, o.c.created_at >= since, o.c.created_at <= now,
        o.c.state != "cancelled", o.c.replacement_for_line_id.is_(None)))).scalar_one()
    rows = (await conn.execute(select(d.c.id, d.c.order_id, d.c.opened_at, d.c.closed_at, d.c.outcome,
                                      d.c.first_seller_response_at).where(
        d.c.buyer_id == buyer_id, (d.c.opened_at >= since) | (d.c.closed_at >= since)))).all()
    files: dict[int, int] = {}
    reused: list[ReusedPhoto] = []
    if rows:
        ids = [r.id for r in rows]
        files = dict((await conn.execute(select(evidence.c.dispute_id, func.count()).where(
            evidence.c.dispute_id.in_(ids), evidence.c.side == "buyer").group_by(evidence.c.dispute_id))).all())
        opened = [r.id for r in rows if since <= r.opened_at <= now]
        if opened:
            reused = [ReusedPhoto(r.id, r.dispute_id, tuple(r.reuse)) for r in (await conn.execute(
                select(evidence.c.id, evidence.c.dispute_id, evidence.c.reuse).where(
                    evidence.c.dispute_id.in_(opened), evidence.c.side == "buyer")
                .order_by(evidence.c.id))).all() if r.reuse]
    facts = [BuyerDispute(r.id, r.order_id, r.opened_at, r.closed_at, r.outcome, r.first_seller_response_at,
                          files.get(r.id, 0)) for r in rows]
    return RiskFacts(orders, facts, reused)
