"""The arbitrators' side (R15, R22): the queue in deadline order, the case file, and the
alerts the sweeper raises for staff (a case near its limit, a case past it).

Reaching the review limit is already a timer of the dispute lifecycle: it emits
``dispute.review_limit_passed`` (the operator's report, over webhooks) and leaves the case
escalated. Here it also becomes a staff alert and the queue's ``past_limit`` highlight, so
it is visible where arbitrators work; nothing resolves the case but a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.domain import arbitration as rules
from ombuds.domain.disputes import Dispute, DisputeState
from ombuds.domain.errors import Forbidden
from ombuds.domain.events import Event
from ombuds.domain.policy import Policy
from ombuds.services import buyer_risk, queries, sellers
from ombuds.services.context import Caller, Ombuds
from ombuds.services.disputes import load_visible
from ombuds.store import tables as t
from ombuds.store import trust_repository as repo
from ombuds.store.mapping import row_to_dispute
from ombuds.store.tables_trust import staff_alerts

ESCALATED = DisputeState.escalated.value


def require_staff(caller: Caller, what: str = "The arbitration queue") -> None:
    if not caller.is_staff:
        raise Forbidden("arbitrators_only", f"{what} is for the platform's arbitrators.")


@dataclass(frozen=True, slots=True)
class Queue:
    items: list[Dispute]
    summary: dict[str, int]
    now: datetime


async def queue(app: Ombuds, *, caller: Caller, limit: int, offset: int) -> Queue:
    """R15: escalated disputes, nearest limit first (so past-limit, then near-limit cases lead)."""
    require_staff(caller)
    now = await app.now()
    d, p = t.disputes, app.policy
    q = (select(d).where(d.c.state == ESCALATED).order_by(d.c.escalated_at, d.c.id).limit(limit).offset(offset))
    counts = select(
        func.count(),
        func.coalesce(func.sum(case((d.c.escalated_at <= rules.target_cut(now, p), 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(d.c.escalated_at <= rules.near_limit_cut(now, p),
                                          d.c.escalated_at > rules.limit_cut(now, p)), 1), else_=0)), 0),
        func.coalesce(func.sum(case((d.c.escalated_at <= rules.limit_cut(now, p), 1), else_=0)), 0),
    ).where(d.c.state == ESCALATED)
    async with app.engine.connect() as conn:
        items = [row_to_dispute(r) for r in (await conn.execute(q)).all()]
        total, past_target, near_limit, past_limit = (await conn.execute(counts)).one()
    return Queue(items, {"escalated": int(total), "past_target": int(past_target),
                         "near_limit": int(near_limit), "past_limit": int(past_limit)}, now)


async def case_file(app: Ombuds, *, caller: Caller, dispute_id: int) -> tuple[Dispute, list[dict], dict, dict]:
    """What an arbitrator reads to decide: the dispute and its timeline, the buyer's risk
    signals (R22) and the seller's rating (R21)."""
    require_staff(caller, "The case file")
    now = await app.now()
    async with app.uow() as uow:
        d = await load_visible(uow.repo, dispute_id, caller)
    timeline = await queries.timeline(app, d.id)
    async with app.engine.connect() as conn:
        risk = await buyer_risk.risk_of(conn, d.buyer_id, now, app.policy)
    rating = await sellers.seller_rating(app, caller=caller, seller_id=d.seller_id)
    return d, timeline, risk, rating


async def alert_deadlines(conn: AsyncConnection, until: datetime, policy: Policy, batch: int) -> int:
    """Once per escalation: tell the arbitrators a case is near its limit (an outbox event and
    an alert), and record a staff alert for a case past its limit. Returns alerts raised."""
    d, a = t.disputes, staff_alerts
    raised = 0
    for kind, lower, upper in (("near_limit", rules.limit_cut(until, policy), rules.near_limit_cut(until, policy)),
                               ("limit_passed", None, rules.limit_cut(until, policy))):
        seen = and_(a.c.kind == kind, a.c.subject_id == d.c.id, a.c.round_at == d.c.escalated_at)
        q = (select(d.c.id, d.c.escalated_at, d.c.order_id, d.c.buyer_id, d.c.seller_id)
             .select_from(d.outerjoin(a, seen))
             .where(d.c.state == ESCALATED, d.c.escalated_at <= upper, a.c.id.is_(None))
             .order_by(d.c.escalated_at).limit(batch))
        if lower is not None:
            q = q.where(d.c.escalated_at > lower)
        for r in (await conn.execute(q)).all():
            deadlines = rules.review_deadlines(r.escalated_at, until, policy)
            details = {"dispute_id": r.id, "order_id": r.order_id, "buyer_id": r.buyer_id,
                       "seller_id": r.seller_id, "escalated_at": r.escalated_at.isoformat(),
                       "review_target_at": deadlines.target_at.isoformat(),
                       "review_limit_at": deadlines.limit_at.isoformat()}
            if not await repo.add_alert(conn, kind=kind, subject="dispute", subject_id=r.id,
                                        round_at=r.escalated_at, details=details, now=until):
                continue
            raised += 1
            if kind == "near_limit":  # the limit's own report is the lifecycle's event
                await repo.add_events(conn, [Event("arbitration.near_limit", "arbitration", r.id, details)],
                                      r.id, until)
    return raised


async def alerts(app: Ombuds, *, caller: Caller, kind: str | None, before_id: int | None,
                 limit: int) -> list[dict]:
    require_staff(caller, "Staff alerts")
    q = select(staff_alerts).order_by(staff_alerts.c.id.desc()).limit(limit)
    if kind:
        q = q.where(staff_alerts.c.kind == kind)
    if before_id:
        q = q.where(staff_alerts.c.id < before_id)
    async with app.engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    return [{"id": r.id, "kind": r.kind, "subject": r.subject, "subject_id": r.subject_id,
             "round_at": r.round_at.isoformat(), "created_at": r.created_at.isoformat(), "details": r.details}
            for r in rows]
