"""What each transition of the lifecycle table does to a dispute, besides changing state.

Each effect takes ``(dispute, actor, actor_id, command, now, policy)``; commands were validated
before the effect runs. Money leaves only as ``RefundIntent`` rows (R1, R7 caps).
"""

from __future__ import annotations

from datetime import datetime

from ombuds.domain.disputes import (
    Actor,
    Dispute,
    Outcome,
    Proposal,
    RefundIntent,
    Resolution,
    Verdict,
    VerdictReply,
)
from ombuds.domain.errors import present
from ombuds.domain.policy import Policy


def nothing(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    return None


def _seller_responded(d: Dispute, actor: Actor, now: datetime) -> None:
    if actor is Actor.seller and d.first_seller_response_at is None:
        d.first_seller_response_at = now


def put_proposal(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    _seller_responded(d, actor, now)
    d.proposal = Proposal(by=actor, resolution=cmd.resolution, amount=cmd.amount,
                          message=cmd.message, at=now, id=d.proposal.id + 1)
    d.proposal_rejected = False


def reject_proposal(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    _seller_responded(d, actor, now)
    d.proposal_rejected = True


def adopt_proposal(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    _seller_responded(d, actor, now)
    d.agreed_resolution, d.agreed_amount = d.proposal.resolution, d.proposal.amount


def silence_refunds_buyer(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    """R12: on the buyer's proposal, but without a return; a buyer who asked for a
    replacement gets the units' full price back instead."""
    amount = d.proposal.amount
    if d.proposal.resolution is Resolution.replacement or amount == 0:
        amount = d.max_amount
    d.agreed_resolution, d.agreed_amount = Resolution.refund_only, amount


def start_arbitration(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    d.escalated_at = now
    d.review_target_passed = d.review_limit_passed = False


def record_message(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    return None  # the message itself is kept in the timeline entry


def record_verdict(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    d.verdict = Verdict(refund_amount=cmd.refund_amount, return_required=cmd.return_required,
                        penalise_seller=cmd.penalise_seller, message=cmd.message, at=now,
                        round=d.appeals_used + 1)
    d.buyer_reply = d.seller_reply = None


def _reply(d: Dispute, actor: Actor, reply: VerdictReply) -> None:
    if actor is Actor.buyer:
        d.buyer_reply = reply
    else:
        d.seller_reply = reply


def agree_to_verdict(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    _reply(d, actor, VerdictReply.agree)


def disagree_with_verdict(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    _reply(d, actor, VerdictReply.disagree)


def adopt_verdict(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    v = present(d.verdict, "verdict")
    # R8: nothing to send back when nothing arrived; a return already made is not made twice.
    return_pending = (v.return_required and v.refund_amount > 0 and d.received
                      and d.return_shipped_at is None)
    d.agreed_resolution = Resolution.return_and_refund if return_pending else Resolution.refund_only
    d.agreed_amount = v.refund_amount


def agree_and_adopt_verdict(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    _reply(d, actor, VerdictReply.agree)
    adopt_verdict(d, actor, actor_id, cmd, now, p)


def disagree_and_adopt_verdict(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    _reply(d, actor, VerdictReply.disagree)
    adopt_verdict(d, actor, actor_id, cmd, now, p)


def appeal(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    _reply(d, actor, VerdictReply.disagree)
    d.appeals_used += 1
    start_arbitration(d, actor, actor_id, cmd, now, p)


def _issue_refund(d: Dispute, amount: int, reason: str, now: datetime) -> None:
    amount = min(amount, d.max_amount - d.refunded_amount)  # R7 cap, whatever the path
    if amount > 0:
        d.new_refunds.append(RefundIntent(amount=amount, reason=reason))
        d.refunded_amount += amount
    if d.refunded_amount == 0:
        d.outcome = Outcome.no_refund
    elif d.refunded_amount >= d.max_amount:
        d.outcome = Outcome.refunded_full
    else:
        d.outcome = Outcome.refunded_partial


def _close(d: Dispute, now: datetime) -> None:
    d.closed_at = now


def refund_agreed(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    _issue_refund(d, d.agreed_amount or 0, "agreed", now)
    _close(d, now)


def refund_returned(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    if cmd is not None:
        d.return_condition = cmd.condition
    _issue_refund(d, d.agreed_amount or 0, "return", now)
    _close(d, now)


def record_return_shipment(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    d.return_carrier, d.return_tracking, d.return_shipped_at = cmd.carrier, cmd.tracking_number, now


def record_return_delivery(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    d.return_delivered_at = d.return_delivered_at or now


def dispute_condition(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    """R29: anything but 'as sent' goes to arbitration."""
    d.return_condition = cmd.condition
    start_arbitration(d, actor, actor_id, cmd, now, p)


def reship(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    d.reship_carrier, d.reship_tracking = cmd.carrier, cmd.tracking_number
    d.outcome = Outcome.replaced
    _close(d, now)


def withdraw(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    d.outcome = Outcome.withdrawn
    _close(d, now)


def close_without_refund(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    d.outcome = Outcome.no_refund
    _close(d, now)


def flag_review_target(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    d.review_target_passed = True


def flag_review_limit(d: Dispute, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    d.review_limit_passed = True

