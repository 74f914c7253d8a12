"""Trust's objects → JSON for one caller: complaints and the arbitrators' deadlines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ombuds.domain import complaints as rules
from ombuds.domain.arbitration import review_deadlines
from ombuds.domain.complaints import Complaint
from ombuds.domain.disputes import Dispute
from ombuds.domain.policy import Policy
from ombuds.services.complaints import actor_for
from ombuds.services.context import Caller


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _left(deadline: datetime | None, now: datetime) -> int | None:
    return None if deadline is None else max(int((deadline - now).total_seconds()), 0)


def review_view(d: Dispute, now: datetime, policy: Policy) -> dict | None:
    """R15: the case's review target and limit, and how urgent it is."""
    if d.escalated_at is None:
        return None
    r = review_deadlines(d.escalated_at, now, policy)
    return {"escalated_at": _iso(r.escalated_at), "review_target_at": _iso(r.target_at),
            "review_limit_at": _iso(r.limit_at), "past_target": r.past_target, "near_limit": r.near_limit,
            "past_limit": r.past_limit, "highlight": r.highlight and r.highlight.value,
            "seconds_to_limit": int((r.limit_at - now).total_seconds())}


def complaint_view(c: Complaint, caller: Caller, policy: Policy, now: datetime, *,
                   penalty: dict | None = None, timeline: list[dict] | None = None) -> dict:
    actor = actor_for(c, caller)
    c = rules.as_of(c, now=now, policy=policy)
    target = rules.answer_target(c, policy)
    view: dict[str, Any] = {
        "id": c.id, "order_id": c.order_id, "line_id": c.line_id, "buyer_id": c.buyer_id,
        "seller_id": c.seller_id, "about": c.about.value, "message": c.message, "state": c.state.value,
        "opened_at": _iso(c.opened_at), "answer_target_at": _iso(target),
        # R24: past the target while still unanswered; reported, never closed unanswered.
        "overdue": c.state is rules.ComplaintState.open and now >= target,
        "deadline": ({"name": c.deadline, "at": _iso(c.deadline_at),
                      "seconds_left": _left(c.deadline_at, now)}
                     if c.deadline else None),
        "your_role": actor.value,
        "allowed_actions": [a.value for a in rules.allowed_actions(c, actor)],
        "answer": ({"at": _iso(c.answered_at), "message": c.answer} if c.answered_at else None),
        "goodwill": ({"amount": c.goodwill_amount, "currency": c.currency, "refund_id": c.goodwill_refund_id}
                     if c.goodwill_amount else None),
        "outcome": c.outcome, "closed_at": _iso(c.closed_at), "version": c.version,
    }
    if caller.is_staff:
        view["overdue_since"] = _iso(c.overdue_since)
        view["answered_by"] = c.answered_by
        view["seller_penalised"] = c.has_penalty
        view["penalty"] = penalty
    if timeline is not None:
        view["timeline"] = timeline
    return view
