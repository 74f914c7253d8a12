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
from typing import Any

from ombuds.domain import arbitration as rules
from ombuds.domain.disputes import Dispute
from ombuds.domain.errors import Forbidden
from ombuds.domain.events import Event
from ombuds.domain.policy import Policy
from ombuds.services import buyer_risk, queries, sellers
from ombuds.services.context import Caller, Ombuds
from ombuds.services.disputes import load_visible
from ombuds.store import arbitration_store as store
from ombuds.store import trust_repository as repo
from ombuds.store.uow import Connection


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
    p = app.policy
    items, n = await store.escalated_queue(
        app.engine, target_cut=rules.target_cut(now, p), near_limit_cut=rules.near_limit_cut(now, p),
        limit_cut=rules.limit_cut(now, p), limit=limit, offset=offset)
    return Queue(items, {"escalated": n.escalated, "past_target": n.past_target,
                         "near_limit": n.near_limit, "past_limit": n.past_limit}, now)


async def case_file(app: Ombuds, *, caller: Caller, dispute_id: int
                    ) -> tuple[Dispute, list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """What an arbitrator reads to decide: the dispute and its timeline, the buyer's risk
    signals (R22) and the seller's rating (R21)."""
    require_staff(caller, "The case file")
    now = await app.now()
    async with app.uow() as uow:
        d = await load_visible(uow.repo, dispute_id, caller)
    timeline = await queries.timeline(app, dispute_id)
    async with app.engine.connect() as conn:
        risk = await buyer_risk.risk_of(conn, d.buyer_id, now, app.policy)
    rating = await sellers.seller_rating(app, caller=caller, seller_id=d.seller_id)
    return d, timeline, risk, rating


async def alert_deadlines(conn: Connection, until: datetime, policy: Policy, batch: int) -> int:
    """Once per escalation: tell the arbitrators a case is near its limit (an outbox event and
    an alert), and record a staff alert for a case past its limit. Returns alerts raised."""
    raised = 0
    for kind, lower, upper in (("near_limit", rules.limit_cut(until, policy), rules.near_limit_cut(until, policy)),
                               ("limit_passed", None, rules.limit_cut(until, policy))):
        for e in await store.unalerted_escalations(conn, kind, after=lower, until=upper, limit=batch):
            deadlines = rules.review_deadlines(e.escalated_at, until, policy)
            details = {"dispute_id": e.dispute_id, "order_id": e.order_id, "buyer_id": e.buyer_id,
                       "seller_id": e.seller_id, "escalated_at": e.escalated_at.isoformat(),
                       "review_target_at": deadlines.target_at.isoformat(),
                       "review_limit_at": deadlines.limit_at.isoformat()}
            if not await repo.add_alert(conn, kind=kind, subject="dispute", subject_id=e.dispute_id,
                                        round_at=e.escalated_at, details=details, now=until):
                continue
            raised += 1
            if kind == "near_limit":  # the limit's own report is the lifecycle's event
                await repo.add_events(conn, [Event("arbitration.near_limit", "arbitration", e.dispute_id,
                                                   details)], e.dispute_id, until)
    return raised


async def alerts(app: Ombuds, *, caller: Caller, kind: str | None, before_id: int | None,
                 limit: int) -> list[dict[str, Any]]:
    require_staff(caller, "Staff alerts")
    rows = await store.alerts_page(app.engine, kind=kind, before_id=before_id, limit=limit)
    return [{"id": r.id, "kind": r.kind, "subject": r.subject, "subject_id": r.subject_id,
             "round_at": r.round_at.isoformat(), "created_at": r.created_at.isoformat(), "details": r.details}
            for r in rows]
