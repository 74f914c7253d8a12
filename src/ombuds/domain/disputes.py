"""The dispute aggregate: one per order line, ever (R5).

States (DESIGN.md §3): ``awaiting_seller`` → ``negotiating`` → ``escalated`` → ``decided``;
``agreed`` is transient and executes the resolution at once: a refund closes the
dispute, a return moves it to ``awaiting_return`` → ``return_in_transit`` → ``closed``.
The transitions themselves live in :mod:`ombuds.domain.lifecycle` as one table.

Invariants: refund amounts never exceed ``max_amount`` (what was paid for the disputed
units, R7); an open dispute has one running deadline (``deadline``/``deadline_at``),
derived from its state; ``closed`` is terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ombuds.domain.events import Event, TimelineEntry


class DisputeState(StrEnum):
    awaiting_seller = "awaiting_seller"
    negotiating = "negotiating"
    escalated = "escalated"
    decided = "decided"
    agreed = "agreed"
    awaiting_return = "awaiting_return"
    return_in_transit = "return_in_transit"
    closed = "closed"


class Actor(StrEnum):
    buyer = "buyer"
    seller = "seller"
    arbitrator = "arbitrator"
    platform = "platform"  # the marketplace itself, e.g. a carrier event
    system = "system"  # a timer


class Reason(StrEnum):
    not_received = "not_received"
    missing_items = "missing_items"
    wrong_item = "wrong_item"
    not_as_described = "not_as_described"
    damaged = "damaged"
    counterfeit = "counterfeit"
    other = "other"


class Resolution(StrEnum):
    refund_only = "refund_only"
    return_and_refund = "return_and_refund"
    replacement = "replacement"


class Outcome(StrEnum):
    refunded_full = "refunded_full"
    refunded_partial = "refunded_partial"
    replaced = "replaced"
    no_refund = "no_refund"
    withdrawn = "withdrawn"


class ReturnCondition(StrEnum):
    as_sent = "as_sent"
    damaged = "damaged"
    empty_parcel = "empty_parcel"
    different_item = "different_item"


class VerdictReply(StrEnum):
    agree = "agree"
    disagree = "disagree"


@dataclass(slots=True)
class Proposal:
    """A resolution on the table: who proposed it, what, and how much (minor units)."""

    by: Actor
    resolution: Resolution
    amount: int
    message: str
    at: datetime
    id: int = 1  # R34: the proposal's number within its dispute; each new one takes the next


@dataclass(slots=True)
class Verdict:
    refund_amount: int
    return_required: bool
    penalise_seller: bool
    message: str
    at: datetime
    round: int  # 1 for the first verdict, 2 after an appeal


@dataclass(slots=True)
class RefundIntent:
    """Money owed back to the buyer; moving it belongs to the ledger."""

    amount: int
    reason: str


@dataclass(slots=True)
class Dispute:
    id: int | None
    order_id: int
    line_id: int
    buyer_id: int
    seller_id: int
    currency: str
    unit_price: int
    quantity: int  # units in dispute
    received: bool
    reason: Reason
    description: str
    opened_at: datetime
    proposal: Proposal
    refund_to: str = "original_method"  # or "platform_balance" (R31)
    state: DisputeState = DisputeState.awaiting_seller
    state_entered_at: datetime | None = None
    deadline: str | None = None
    deadline_at: datetime | None = None
    reminder_at: datetime | None = None  # R28: when to remind the party the deadline is against
    reminded_deadline_at: datetime | None = None  # the deadline a reminder already went out for
    version: int = 0
    first_seller_response_at: datetime | None = None
    proposal_rejected: bool = False
    agreed_resolution: Resolution | None = None
    agreed_amount: int | None = None
    escalated_at: datetime | None = None
    review_target_passed: bool = False
    review_limit_passed: bool = False
    verdict: Verdict | None = None
    buyer_reply: VerdictReply | None = None
    seller_reply: VerdictReply | None = None
    appeals_used: int = 0
    return_carrier: str | None = None
    return_tracking: str | None = None
    return_shipped_at: datetime | None = None
    return_delivered_at: datetime | None = None
    return_condition: ReturnCondition | None = None
    reship_carrier: str | None = None
    reship_tracking: str | None = None
    outcome: Outcome | None = None
    refunded_amount: int = 0
    closed_at: datetime | None = None
    new_events: list[Event] = field(default_factory=list)
    new_timeline: list[TimelineEntry] = field(default_factory=list)
    new_refunds: list[RefundIntent] = field(default_factory=list)

    @property
    def max_amount(self) -> int:
        """R7: never more than was paid for the units in dispute."""
        return self.unit_price * self.quantity

    @property
    def due_at(self) -> datetime | None:
        """When the sweeper must next look at this dispute: a reminder or a deadline."""
        times = [t for t in (self.deadline_at, self.reminder_at) if t is not None]
        return min(times) if times else None

    @property
    def is_open(self) -> bool:
        return self.state is not DisputeState.closed

    def party(self, user_id: int) -> Actor | None:
        if user_id == self.buyer_id:
            return Actor.buyer
        if user_id == self.seller_id:
            return Actor.seller
        return None
