"""Domain objects → JSON for one caller: what they may do now and the deadline running (R27)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ombuds.domain import engine, lifecycle
from ombuds.domain.disputes import Dispute
from ombuds.domain.lifecycle import TIMERS
from ombuds.domain.orders import Order
from ombuds.domain.policy import Policy
from ombuds.services.context import Caller
from ombuds.services.disputes import actor_for


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _left(deadline: datetime | None, now: datetime) -> int | None:
    return None if deadline is None else max(int((deadline - now).total_seconds()), 0)


def order_view(o: Order, now: datetime, disputed_lines: dict[int, int] | None = None) -> dict:
    name, at = o.deadline
    return {
        "id": o.id, "state": o.state.value, "buyer_id": o.buyer_id, "seller_id": o.seller_id,
        "currency": o.currency, "payment_method": o.payment_method, "external_ref": o.external_ref,
        "payment_ref": o.payment_ref,
        "total": o.total, "created_at": _iso(o.created_at),
        "shipment": {"carrier": o.carrier, "tracking_number": o.tracking_number,
                     "shipped_at": _iso(o.shipped_at), "delivered_at": _iso(o.delivered_at),
                     "returned_to_sender_at": _iso(o.returned_to_sender_at)},  # R40
        "protection": {  # R2: the countdown every order shows
            "ends_at": _iso(o.protection_ends_at),
            "seconds_left": _left(o.protection_ends_at, now) if o.state.value == "shipped" else None,
            "extension_days": o.protection_extension_days,
        },
        "completed_at": _iso(o.completed_at), "dispute_window_ends_at": _iso(o.dispute_window_ends_at),
        "closed_at": _iso(o.closed_at), "cancelled_at": _iso(o.cancelled_at),
        "deadline": {"name": name, "at": _iso(at)} if name else None,
        "replacement_for_line_id": o.replacement_for_line_id,
        "lines": [{"id": ln.id, "position": ln.position, "title": ln.title, "unit_price": ln.unit_price,
                   "quantity": ln.quantity, "total": ln.total,
                   "dispute_id": (disputed_lines or {}).get(ln.id) if ln.id is not None else None}
                  for ln in o.lines],
        "version": o.version,
    }


def deadline_view(d: Dispute, now: datetime) -> dict | None:
    if d.deadline is None:
        return None
    timer = next(t for t in TIMERS if t.state is d.state and t.deadline == d.deadline)
    return {"name": d.deadline, "at": _iso(d.deadline_at), "seconds_left": _left(d.deadline_at, now),
            "passed": d.deadline_at is not None and d.deadline_at <= now,
            "decides_against": timer.against and timer.against.value,
            "rule": timer.rule, "means": timer.doc}


def dispute_view(d: Dispute, caller: Caller, policy: Policy, now: datetime,
                 timeline: list[dict] | None = None) -> dict:
    actor = actor_for(d, caller)
    d = engine.as_of(d, now=now, policy=policy)
    v = d.verdict
    view: dict[str, Any] = {
        "id": d.id, "order_id": d.order_id, "line_id": d.line_id, "buyer_id": d.buyer_id,
        "seller_id": d.seller_id, "state": d.state.value, "state_words": lifecycle.STATE_WORDS[d.state],
        "received": d.received, "reason": d.reason.value, "quantity": d.quantity,
        "currency": d.currency, "max_amount": d.max_amount, "description": d.description,
        "opened_at": _iso(d.opened_at),
        "deadline": deadline_view(d, now),
        "your_role": actor.value,
        "allowed_actions": [a.value for a in engine.allowed_actions(d, actor, policy)],
        "proposal": {"id": d.proposal.id, "by": d.proposal.by.value, "resolution": d.proposal.resolution.value,
                     "amount": d.proposal.amount, "message": d.proposal.message,
                     "at": _iso(d.proposal.at), "rejected": d.proposal_rejected},
        "agreed": ({"resolution": d.agreed_resolution.value, "amount": d.agreed_amount}
                   if d.agreed_resolution else None),
        "escalated_at": _iso(d.escalated_at),
        "verdict": ({"refund_amount": v.refund_amount, "return_required": v.return_required,
                     "penalise_seller": v.penalise_seller, "message": v.message, "at": _iso(v.at),
                     "round": v.round, "final": d.appeals_used >= policy.appeals,
                     "buyer_reply": d.buyer_reply and d.buyer_reply.value,
                     "seller_reply": d.seller_reply and d.seller_reply.value} if v else None),
        "return": ({"carrier": d.return_carrier, "tracking_number": d.return_tracking,
                    "shipped_at": _iso(d.return_shipped_at), "delivered_at": _iso(d.return_delivered_at),
                    "condition": d.return_condition and d.return_condition.value,
                    "reship_tracking": d.reship_tracking} if d.return_shipped_at else None),
        "outcome": d.outcome and d.outcome.value, "refunded_amount": d.refunded_amount,
        "closed_at": _iso(d.closed_at), "version": d.version,
    }
    if timeline is not None:
        view["timeline"] = timeline
    return view
