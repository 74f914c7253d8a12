"""Read models: lists and timelines, filtered to what the caller may see."""

from __future__ import annotations

from sqlalchemy import and_, false, or_, select

from ombuds.domain.disputes import Dispute, DisputeState
from ombuds.domain.orders import Order
from ombuds.services.context import Caller, Ombuds
from ombuds.store import tables as t
from ombuds.store.ledger_store import LedgerStore
from ombuds.store.mapping import row_to_dispute, row_to_order


def _iso(v):
    return v.isoformat() if v else None


async def timeline(app: Ombuds, dispute_id: int) -> list[dict]:
    async with app.engine.connect() as conn:
        rows = (await conn.execute(select(t.timeline).where(t.timeline.c.dispute_id == dispute_id)
                                   .order_by(t.timeline.c.id))).all()
    return [{"at": _iso(r.at), "actor": r.actor, "actor_id": r.actor_id, "action": r.action,
             "from_state": r.from_state or None, "to_state": r.to_state, "deadline": r.deadline,
             "deadline_at": _iso(r.deadline_at), "details": r.details} for r in rows]


def _mine(table, caller: Caller):
    if caller.is_staff:
        return True
    return or_(table.c.buyer_id == caller.user_id, table.c.seller_id == caller.user_id)


async def list_orders(app: Ombuds, caller: Caller, *, state: str | None, limit: int,
                      after_id: int | None) -> tuple[list[Order], dict[int, int]]:
    q = select(t.orders).where(_mine(t.orders, caller)).order_by(t.orders.c.id.desc()).limit(limit)
    if state:
        q = q.where(t.orders.c.state == state)
    if after_id:
        q = q.where(t.orders.c.id < after_id)
    async with app.engine.connect() as conn:
        rows = (await conn.execute(q)).all()
        ids = [r.id for r in rows]
        lines = (await conn.execute(select(t.order_lines).where(t.order_lines.c.order_id.in_(ids))
                                    .order_by(t.order_lines.c.position))).all() if ids else []
        disputed = dict((await conn.execute(select(t.disputes.c.line_id, t.disputes.c.id)
                                            .where(t.disputes.c.order_id.in_(ids)))).all()) if ids else {}
    by_order: dict[int, list] = {}
    for line in lines:
        by_order.setdefault(line.order_id, []).append(line)
    return [row_to_order(r, by_order.get(r.id, [])) for r in rows], disputed


async def disputed_lines(app: Ombuds, order_id: int) -> dict[int, int]:
    async with app.engine.connect() as conn:
        return dict((await conn.execute(select(t.disputes.c.line_id, t.disputes.c.id)
                                        .where(t.disputes.c.order_id == order_id))).all())


async def list_disputes(app: Ombuds, caller: Caller, *, state: str | None, open_only: bool,
                        limit: int, after_id: int | None) -> list[Dispute]:
    """Open disputes come first, the most urgent deadline first (the seller's inbox)."""
    q = select(t.disputes).where(_mine(t.disputes, caller))
    if state:
        q = q.where(t.disputes.c.state == state)
    if open_only:
        q = q.where(t.disputes.c.state != DisputeState.closed.value)
    if after_id:
        q = q.where(t.disputes.c.id > after_id)
    q = q.order_by(t.disputes.c.deadline_at.is_(None), t.disputes.c.deadline_at, t.disputes.c.id).limit(limit)
    async with app.engine.connect() as conn:
        return [row_to_dispute(r) for r in (await conn.execute(q)).all()]


SETTLED_KINDS = ("refund_settled", "refund_to_balance")


def refund_status(settled_at, provider_ref, next_attempt_at) -> str:
    """Derived, never stored: settled (the ledger says so), submitted, pending, or failed."""
    if settled_at is not None:
        return "settled"
    if provider_ref is not None:
        return "submitted"
    return "pending" if next_attempt_at is not None else "failed"


async def list_refunds(app: Ombuds, caller: Caller, *, order_id: int | None = None,
                       buyer_id: int | None = None, status: str | None = None, limit: int = 100,
                       refund_id: int | None = None) -> list[dict]:
    settled = (select(t.journal_entries.c.refund_id, t.journal_entries.c.created_at.label("settled_at"))
               .where(t.journal_entries.c.kind.in_(SETTLED_KINDS)).subquery())
    q = (select(t.refunds, t.orders.c.seller_id, settled.c.settled_at)
         .join(t.orders, t.orders.c.id == t.refunds.c.order_id)
         .outerjoin(settled, settled.c.refund_id == t.refunds.c.id))
    if not caller.is_staff:
        q = q.where(or_(t.refunds.c.buyer_id == caller.user_id, t.orders.c.seller_id == caller.user_id))
    if order_id:
        q = q.where(t.refunds.c.order_id == order_id)
    if refund_id:
        q = q.where(t.refunds.c.id == refund_id)
    if buyer_id:
        q = q.where(t.refunds.c.buyer_id == buyer_id)
    if status:
        q = q.where(_status_is(status, settled.c.settled_at))
    q = q.order_by(t.refunds.c.id.desc()).limit(limit)
    async with app.engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    return [refund_view(r) for r in rows]


def _status_is(status: str, settled_at):
    """``refund_status`` as SQL, so a filter finds every match, however old."""
    r = t.refunds.c
    unsettled = settled_at.is_(None)
    return {
        "settled": settled_at.is_not(None),
        "submitted": and_(unsettled, r.provider_ref.is_not(None)),
        "pending": and_(unsettled, r.provider_ref.is_(None), r.next_attempt_at.is_not(None)),
        "failed": and_(unsettled, r.provider_ref.is_(None), r.next_attempt_at.is_(None)),
    }.get(status, false())


def refund_view(r) -> dict:
    return {"id": r.id, "dispute_id": r.dispute_id, "order_id": r.order_id, "line_id": r.line_id,
            "buyer_id": r.buyer_id, "amount": r.amount, "currency": r.currency,
            "payment_method": r.payment_method, "destination": r.destination, "reason": r.reason,
            "status": refund_status(r.settled_at, r.provider_ref, r.next_attempt_at),
            "created_at": _iso(r.created_at),
            "expected_earliest": _iso(r.expected_earliest), "expected_latest": _iso(r.expected_latest),
            "settled_at": _iso(r.settled_at), "attempts": r.attempts, "last_error": r.last_error}


async def list_payouts(app: Ombuds, caller: Caller, *, order_id: int | None, limit: int) -> list[dict]:
    q = select(t.payouts).order_by(t.payouts.c.id.desc()).limit(limit)
    if not caller.is_staff:
        q = q.where(t.payouts.c.seller_id == caller.user_id)
    if order_id:
        q = q.where(t.payouts.c.order_id == order_id)
    async with app.engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    return [{"id": r.id, "order_id": r.order_id, "line_id": r.line_id, "seller_id": r.seller_id,
             "amount": r.amount, "currency": r.currency, "created_at": _iso(r.created_at)} for r in rows]


async def balance(app: Ombuds, accounts: list[str]) -> dict[str, dict[str, int]]:
    """Account → currency → balance: the running balances, one row each (``ledger check``
    proves them equal to the postings)."""
    async with app.engine.connect() as conn:
        return await LedgerStore(conn).balances(accounts)
