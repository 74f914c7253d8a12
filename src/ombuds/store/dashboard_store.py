"""What the operator's dashboard reads: disputes and refunds in a window, the escalated
queue, and the sellers whose disputes closed lately. Nothing is stored for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.store import tables as t
from ombuds.store.read_models import SETTLED_KINDS


@dataclass(frozen=True, slots=True)
class DisputeTimes:
    opened_at: datetime
    closed_at: datetime | None
    outcome: str | None
    first_seller_response_at: datetime | None
    verdict_at: datetime | None


async def disputes_since(conn: AsyncConnection, since: datetime) -> list[DisputeTimes]:
    """Disputes opened or closed since ``since``."""
    d = t.disputes
    return [DisputeTimes(r.opened_at, r.closed_at, r.outcome, r.first_seller_response_at, r.verdict_at)
            for r in (await conn.execute(select(d.c.opened_at, d.c.closed_at, d.c.outcome,
                                                d.c.first_seller_response_at, d.c.verdict_at)
                                         .where((d.c.opened_at >= since) | (d.c.closed_at >= since)))).all()]


async def escalated(conn: AsyncConnection) -> list[tuple[int, datetime | None]]:
    """(dispute id, escalated at) of the escalated disputes, the longest escalated first."""
    d = t.disputes
    return [(r.id, r.escalated_at) for r in (await conn.execute(
        select(d.c.id, d.c.escalated_at).where(d.c.state == "escalated").order_by(d.c.escalated_at))).all()]


@dataclass(frozen=True, slots=True)
class RefundTiming:
    payment_method: str
    destination: str
    amount: int
    currency: str
    expected_latest: date | None
    settled_at: datetime | None  # the first settling journal entry; None: not settled


async def refunds_since(conn: AsyncConnection, since: datetime) -> list[RefundTiming]:
    """Refunds created since ``since``, with when the ledger settled them."""
    r, j = t.refunds, t.journal_entries
    settled = (select(j.c.refund_id, func.min(j.c.created_at).label("settled_at"))
               .where(j.c.kind.in_(SETTLED_KINDS), j.c.refund_id.is_not(None)).group_by(j.c.refund_id).subquery())
    rows = (await conn.execute(
        select(r.c.payment_method, r.c.destination, r.c.amount, r.c.currency, r.c.expected_latest,
               settled.c.settled_at).outerjoin(settled, settled.c.refund_id == r.c.id)
        .where(r.c.created_at >= since))).all()
    return [RefundTiming(x.payment_method, x.destination, x.amount, x.currency, x.expected_latest, x.settled_at)
            for x in rows]


async def sellers_with_closings(conn: AsyncConnection, since: datetime, now: datetime) -> list[int]:
    """Sellers with a dispute closed in ``[since, now]``, in id order."""
    d = t.disputes
    return sorted(set((await conn.execute(select(d.c.seller_id).distinct().where(
        d.c.closed_at >= since, d.c.closed_at <= now))).scalars()))


async def user_names(conn: AsyncConnection, user_ids: list[int]) -> dict[int, str]:
    return {r.id: r.name for r in (await conn.execute(
        select(t.users.c.id, t.users.c.name).where(t.users.c.id.in_(user_ids)))).all()}
