"""Rows ↔ domain objects. The domain never imports SQLAlchemy; this module translates."""

from __future__ import annotations

from typing import Any

from ombuds.domain.disputes import (
    Actor,
    Dispute,
    DisputeState,
    Outcome,
    Proposal,
    Reason,
    Resolution,
    ReturnCondition,
    Verdict,
    VerdictReply,
)
from ombuds.domain.orders import Order, OrderLine, OrderState

ORDER_FIELDS = ("buyer_id", "seller_id", "currency", "payment_method", "external_ref", "payment_ref", "carrier",
                "tracking_number", "created_at", "shipped_at", "delivered_at", "returned_to_sender_at", "completed_at",
                "closed_at", "cancelled_at", "protection_ends_at", "protection_extension_days",
                "dispute_window_ends_at", "replacement_for_line_id")

DISPUTE_FIELDS = ("order_id", "line_id", "buyer_id", "seller_id", "currency", "unit_price", "quantity",
                  "received", "description", "opened_at", "refund_to", "state_entered_at", "deadline",
                  "deadline_at", "reminder_at", "reminded_deadline_at", "first_seller_response_at",
                  "proposal_rejected", "agreed_amount",
                  "escalated_at", "review_target_passed", "review_limit_passed", "appeals_used",
                  "return_carrier", "return_tracking", "return_shipped_at", "return_delivered_at",
                  "reship_carrier", "reship_tracking", "refunded_amount", "closed_at")


def _enum(cls, value):
    return None if value is None else cls(value)


def _val(value):
    return None if value is None else value.value


def order_to_row(o: Order) -> dict[str, Any]:
    row = {f: getattr(o, f) for f in ORDER_FIELDS}
    row["state"] = o.state.value
    row["deadline_at"] = o.deadline[1]
    return row


def row_to_order(row, lines) -> Order:
    m = row._mapping
    return Order(id=m["id"], state=OrderState(m["state"]), version=m["version"],
                 lines=[OrderLine(id=line.id, position=line.position, title=line.title,
                                  unit_price=line.unit_price, quantity=line.quantity) for line in lines],
                 **{f: m[f] for f in ORDER_FIELDS})


def dispute_to_row(d: Dispute) -> dict[str, Any]:
    row = {f: getattr(d, f) for f in DISPUTE_FIELDS}
    v = d.verdict
    row.update(
        state=d.state.value, reason=d.reason.value, due_at=d.due_at,
        proposal_by=d.proposal.by.value, proposal_resolution=d.proposal.resolution.value,
        proposal_amount=d.proposal.amount, proposal_message=d.proposal.message,
        proposal_at=d.proposal.at, proposal_id=d.proposal.id, agreed_resolution=_val(d.agreed_resolution),
        verdict_refund_amount=v and v.refund_amount, verdict_return_required=v and v.return_required,
        verdict_penalise_seller=v and v.penalise_seller, verdict_message=v and v.message,
        verdict_at=v and v.at, verdict_round=v and v.round,
        buyer_reply=_val(d.buyer_reply), seller_reply=_val(d.seller_reply),
        return_condition=_val(d.return_condition), outcome=_val(d.outcome),
    )
    return row


def row_to_dispute(row) -> Dispute:
    m = row._mapping
    verdict = None
    if m["verdict_at"] is not None:
        verdict = Verdict(refund_amount=m["verdict_refund_amount"],
                          return_required=m["verdict_return_required"],
                          penalise_seller=m["verdict_penalise_seller"],
                          message=m["verdict_message"], at=m["verdict_at"], round=m["verdict_round"])
    return Dispute(
        id=m["id"], version=m["version"], state=DisputeState(m["state"]), reason=Reason(m["reason"]),
        proposal=Proposal(by=Actor(m["proposal_by"]), resolution=Resolution(m["proposal_resolution"]),
                          amount=m["proposal_amount"], message=m["proposal_message"], at=m["proposal_at"],
                          id=m["proposal_id"]),
        agreed_resolution=_enum(Resolution, m["agreed_resolution"]), verdict=verdict,
        buyer_reply=_enum(VerdictReply, m["buyer_reply"]), seller_reply=_enum(VerdictReply, m["seller_reply"]),
        return_condition=_enum(ReturnCondition, m["return_condition"]), outcome=_enum(Outcome, m["outcome"]),
        **{f: m[f] for f in DISPUTE_FIELDS},
    )
