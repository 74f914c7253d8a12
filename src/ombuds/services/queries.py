"""Read models: lists and timelines, filtered to what the caller may see."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ombuds.domain.disputes import Dispute
from ombuds.domain.errors import NotFound
from ombuds.domain.orders import Order
from ombuds.services.context import Caller, Ombuds
from ombuds.store import read_models
from ombuds.store.ledger_store import LedgerStore
from ombuds.store.read_models import SETTLED_KINDS, RefundRow, TimelineEntry

__all__ = ["SETTLED_KINDS"]  # journal entry kinds that settle a refund, read by the money services


def _iso(v: date | datetime | None) -> str | None:
    return v.isoformat() if v else None


def _party(caller: Caller) -> int | None:
    """Whose rows the caller reads: a party their own, staff everyone's (None)."""
    if caller.is_staff:
        return None
    if caller.user_id is None:  # no party is built so; refuse rather than read everyone's
        raise NotFound("user")
    return caller.user_id


def timeline_item(e: TimelineEntry) -> dict[str, Any]:
    return {"at": _iso(e.at), "actor": e.actor, "actor_id": e.actor_id, "action": e.action,
            "from_state": e.from_state or None, "to_state": e.to_state, "deadline": e.deadline,
            "deadline_at": _iso(e.deadline_at), "details": e.details}


async def timeline(app: Ombuds, dispute_id: int) -> list[dict[str, Any]]:
    return [timeline_item(e) for e in await read_models.timeline(app.engine, dispute_id)]


async def list_orders(app: Ombuds, caller: Caller, *, state: str | None, limit: int,
                      after_id: int | None) -> tuple[list[Order], dict[int, int]]:
    return await read_models.orders_page(app.engine, party_id=_party(caller), state=state, limit=limit,
                                         after_id=after_id)


async def disputed_lines(app: Ombuds, order_id: int) -> dict[int, int]:
    return await read_models.disputed_lines(app.engine, order_id)


async def list_disputes(app: Ombuds, caller: Caller, *, state: str | None, open_only: bool,
                        limit: int, after_id: int | None) -> list[Dispute]:
    """Open disputes come first, the most urgent deadline first (the seller's inbox)."""
    return await read_models.disputes_page(app.engine, party_id=_party(caller), state=state,
                                           open_only=open_only, limit=limit, after_id=after_id)


def refund_status(settled_at: datetime | None, provider_ref: str | None, next_attempt_at: datetime | None) -> str:
    """Derived, never stored: settled (the ledger says so), submitted, pending, or failed."""
    if settled_at is not None:
        return "settled"
    if provider_ref is not None:
        return "submitted"
    return "pending" if next_attempt_at is not None else "failed"


async def list_refunds(app: Ombuds, caller: Caller, *, order_id: int | None = None,
                       buyer_id: int | None = None, status: str | None = None, limit: int = 100,
                       refund_id: int | None = None) -> list[dict[str, Any]]:
    rows = await read_models.refunds(app.engine, party_id=_party(caller), order_id=order_id, buyer_id=buyer_id,
                                     status=status, limit=limit, refund_id=refund_id)
    return [refund_view(r) for r in rows]


def refund_view(r: RefundRow) -> dict[str, Any]:
    return {"id": r.id, "dispute_id": r.dispute_id, "order_id": r.order_id, "line_id": r.line_id,
            "buyer_id": r.buyer_id, "amount": r.amount, "currency": r.currency,
            "payment_method": r.payment_method, "destination": r.destination, "reason": r.reason,
            "status": refund_status(r.settled_at, r.provider_ref, r.next_attempt_at),
            "created_at": _iso(r.created_at),
            "expected_earliest": _iso(r.expected_earliest), "expected_latest": _iso(r.expected_latest),
            "settled_at": _iso(r.settled_at), "attempts": r.attempts, "last_error": r.last_error}


async def list_payouts(app: Ombuds, caller: Caller, *, order_id: int | None, limit: int) -> list[dict[str, Any]]:
    rows = await read_models.payouts(app.engine, seller_id=_party(caller), order_id=order_id, limit=limit)
    return [{"id": r.id, "order_id": r.order_id, "line_id": r.line_id, "seller_id": r.seller_id,
             "amount": r.amount, "currency": r.currency, "created_at": _iso(r.created_at)} for r in rows]


async def balance(app: Ombuds, accounts: list[str]) -> dict[str, dict[str, int]]:
    """Account → currency → balance: the running balances, one row each (``ledger check``
    proves them equal to the postings)."""
    async with app.engine.connect() as conn:
        return await LedgerStore(conn).balances(accounts)
