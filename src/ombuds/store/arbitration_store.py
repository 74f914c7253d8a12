"""The arbitrators' reads (R15): the escalated queue with its counts, the cases the sweeper
has not yet alerted staff about, and the staff alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.domain.disputes import Dispute, DisputeState
from ombuds.store import tables as t
from ombuds.store.mapping import row_to_dispute
from ombuds.store.tables_trust import staff_alerts

ESCALATED = DisputeState.escalated.value


@dataclass(frozen=True, slots=True)
class QueueCounts:
    escalated: int
    past_target: int
    near_limit: int
    past_limit: int


async def escalated_queue(engine: AsyncEngine, *, target_cut: datetime, near_limit_cut: datetime,
                          limit_cut: datetime, limit: int, offset: int) -> tuple[list[Dispute], QueueCounts]:
    """Escalated disputes, the longest escalated first, and how many were escalated at or
    before each cut (near the limit: after ``limit_cut``, at or before ``near_limit_cut``)."""
    d = t.disputes
    q = (select(d).where(d.c.state == ESCALATED).order_by(d.c.escalated_at, d.c.id).limit(limit).offset(offset))
    counts = select(
        func.count(),
        func.coalesce(func.sum(case((d.c.escalated_at <= target_cut, 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(d.c.escalated_at <= near_limit_cut,
                                          d.c.escalated_at > limit_cut), 1), else_=0)), 0),
        func.coalesce(func.sum(case((d.c.escalated_at <= limit_cut, 1), else_=0)), 0),
    ).where(d.c.state == ESCALATED)
    async with engine.connect() as conn:
        items = [row_to_dispute(r) for r in (await conn.execute(q)).all()]
        total, past_target, near_limit, past_limit = (await conn.execute(counts)).one()
    return items, QueueCounts(int(total), int(past_target), int(near_limit), int(past_limit))


@dataclass(frozen=True, slots=True)
class Escalation:
    dispute_id: int
    escalated_at: datetime
    order_id: int
    buyer_id: int
    seller_id: int


async def unalerted_escalations(conn: AsyncConnection, kind: str, *, after: datetime | None, until: datetime,
                                limit: int) -> list[Escalation]:
    """Escalated disputes escalated in ``(after, until]`` with no ``kind`` alert for this
    escalation yet, the longest escalated first."""
    d, a = t.disputes, staff_alerts
    seen = and_(a.c.kind == kind, a.c.subject_id == d.c.id, a.c.round_at == d.c.escalated_at)
    q = (select(d.c.id, d.c.escalated_at, d.c.order_id, d.c.buyer_id, d.c.seller_id)
         .select_from(d.outerjoin(a, seen))
         .where(d.c.state == ESCALATED, d.c.escalated_at <= until, a.c.id.is_(None))
         .order_by(d.c.escalated_at).limit(limit))
    if after is not None:
        q = q.where(d.c.escalated_at > after)
    return [Escalation(r.id, r.escalated_at, r.order_id, r.buyer_id, r.seller_id)
            for r in (await conn.execute(q)).all()]


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    kind: str
    subject: str
    subject_id: int
    round_at: datetime
    created_at: datetime
    details: dict[str, Any]


async def alerts_page(engine: AsyncEngine, *, kind: str | None, before_id: int | None, limit: int) -> list[Alert]:
    """Staff alerts, newest first."""
    q = select(staff_alerts).order_by(staff_alerts.c.id.desc()).limit(limit)
    if kind:
        q = q.where(staff_alerts.c.kind == kind)
    if before_id:
        q = q.where(staff_alerts.c.id < before_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    return [Alert(r.id, r.kind, r.subject, r.subject_id, r.round_at, r.created_at, r.details) for r in rows]
