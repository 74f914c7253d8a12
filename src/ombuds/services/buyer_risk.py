"""Buyer risk signals (R22) for arbitrators only: read, never stored, never shown to parties.

Evidence counts come from the evidence table (``store/tables_evidence.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.domain.errors import Forbidden, NotFound
from ombuds.domain.policy import Policy
from ombuds.domain.rating import window_start
from ombuds.domain.risk import BuyerDispute, ReusedPhoto, signals
from ombuds.services.context import Caller, Ombuds
from ombuds.store import tables as t
from ombuds.store.tables_evidence import evidence

NOTE = ("Signals inform the arbitrator; they never decide a dispute alone (R22). Parties never "
        "see them.")


def require_staff(caller: Caller) -> None:
    if not caller.is_staff:
        raise Forbidden("arbitrators_only", "Risk signals are for the platform's arbitrators only.")


async def buyer_risk(app: Ombuds, *, caller: Caller, buyer_id: int) -> dict:
    require_staff(caller)
    now = await app.now()
    async with app.engine.connect() as conn:
        role = (await conn.execute(select(t.users.c.role).where(t.users.c.id == buyer_id))).scalar()
        if role != "buyer":
            raise NotFound("buyer")
        return await risk_of(conn, buyer_id, now, app.policy)


async def risk_of(conn: AsyncConnection, buyer_id: int, now: datetime, policy: Policy) -> dict:
    since = window_start(now, policy)
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
    found = signals(orders=orders, disputes=facts, reused=reused, since=since, now=now,
                    evidence_available=True)
    return {
        "buyer_id": buyer_id, "as_of": now.isoformat(), "since": since.isoformat(),
        "window_days": policy.rating_window_days, "orders": orders,
        "disputes": sum(1 for f in facts if since <= f.opened_at <= now),
        "raised": [s.code for s in found if s.raised],
        "signals": [{"code": s.code, "meaning": s.meaning, "raised": s.raised, "count": s.count,
                     "of": s.of, "share": s.share, "dispute_ids": list(s.dispute_ids), **s.details}
                    for s in found],
        "note": NOTE,
    }
