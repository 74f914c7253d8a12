"""The buyer asks the seller for more protection (R38); the seller grants days (R3) or declines.

States: ``open`` → ``granted`` (the seller extended protection by ``granted_days``) or
``declined`` (with the seller's reason, if they gave one). A request is answered once.

Invariants: an order has at most one ``open`` request at a time; a request is made and
answered only while the order's protection runs (shipped, before ``protection_ends_at``) and
while the policy leaves room to extend (R3). An open request whose order's protection ended
before the seller answered is *lapsed*: it can no longer be answered, and is shown so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ombuds.domain.errors import Conflict, DomainError, present
from ombuds.domain.events import Event
from ombuds.domain.identity import saved_id
from ombuds.domain.orders import Order, OrderState
from ombuds.domain.policy import Policy
from ombuds.domain.text import written

MAX_REASON = 2000


class RequestState(StrEnum):
    open = "open"
    granted = "granted"
    declined = "declined"


@dataclass(slots=True)
class ProtectionRequest:
    id: int | None
    order_id: int
    buyer_id: int
    seller_id: int
    reason: str
    created_at: datetime
    days_wanted: int | None = None  # what the buyer suggested; the seller decides
    state: RequestState = RequestState.open
    granted_days: int | None = None
    answer: str | None = None  # the seller's reason for declining, if given
    answered_at: datetime | None = None
    new_events: list[Event] = field(default_factory=list)

    def lapsed(self, order: Order, now: datetime) -> bool:
        """Still open, but the order's protection is over: nobody can answer it any more."""
        return self.state is RequestState.open and not protection_runs(order, now)

    def _emit(self, name: str, order: Order, now: datetime, **data: object) -> None:
        self.new_events.append(Event(f"order.{name}", "order", self.order_id, {
            "order_id": self.order_id, "buyer_id": self.buyer_id, "seller_id": self.seller_id,
            "request_id": self.id, "state": order.state.value, **data}, at=now))

    # Commands -----------------------------------------------------------------------

    def grant(self, order: Order, *, days: int, now: datetime, policy: Policy) -> None:
        """The seller extends protection by ``days`` (R3's bounds hold) and answers the request."""
        self._require_open(order, now, doing="grant")
        order.extend_protection(days=days, now=now, policy=policy)
        self.state, self.granted_days, self.answered_at = RequestState.granted, days, now
        self._emit("protection_request_granted", order, now, days=days, reason=self.reason,
                   protection_ends_at=_protection_end(order).isoformat())

    def decline(self, order: Order, *, answer: str | None, now: datetime) -> None:
        """The seller says no, optionally saying why; protection keeps its end date."""
        self._require_open(order, now, doing="decline")
        self.state, self.answer, self.answered_at = RequestState.declined, answer or None, now
        self._emit("protection_request_declined", order, now, answer=self.answer, reason=self.reason,
                   protection_ends_at=_protection_end(order).isoformat())

    def _require_open(self, order: Order, now: datetime, doing: str) -> None:
        if self.state is not RequestState.open:
            raise Conflict("request_answered", f"Cannot {doing}: the seller already answered this request "
                           f"({self.state.value}).", None, state=self.state.value)
        if not protection_runs(order, now):
            raise Conflict("protection_not_running", f"Cannot {doing}: the order's protection is over, so "
                           "it can no longer be extended.", None, state="lapsed")


def protection_runs(order: Order, now: datetime) -> bool:
    return order.state is OrderState.shipped and now < _protection_end(order)


def _protection_end(order: Order) -> datetime:
    """A shipped order's protection end, which shipping set."""
    return present(order.protection_ends_at, "protection_ends_at")


def room(order: Order, policy: Policy) -> int:
    """How many more days the seller may still add (R3)."""
    return policy.max_protection_extension_days - order.protection_extension_days


def ask(order: Order, *, reason: str, days_wanted: int | None, open_request: ProtectionRequest | None,
        now: datetime, policy: Policy) -> ProtectionRequest:
    """R38: the buyer asks for more protection, with a reason, while it runs and may still grow."""
    reason = written(reason)
    if not protection_runs(order, now):
        raise Conflict("protection_not_running",
                       "Protection is not running on this order (it has not shipped, or it is over), "
                       "so there is nothing to extend.", "order_id", state=order.state.value)
    if open_request is not None:
        raise Conflict("request_already_open", "You already asked for more protection on this order; "
                       "wait for the seller's answer.", None, request_id=open_request.id)
    left = room(order, policy)
    if left <= 0:
        raise Conflict("extension_limit_reached",
                       f"Protection was already extended by the most the rules allow "
                       f"({policy.max_protection_extension_days} days).", None, remaining_days=0)
    if not reason:
        raise DomainError("reason_required", "Say why you need more time.", "reason")
    if len(reason) > MAX_REASON:
        raise DomainError("reason_too_long", f"A reason may be at most {MAX_REASON} characters.", "reason")
    if days_wanted is not None and not 1 <= days_wanted <= left:
        raise DomainError("extension_too_long", f"Ask for between 1 and {left} days.", "days",
                          remaining_days=left)
    request = ProtectionRequest(id=None, order_id=saved_id(order), buyer_id=order.buyer_id,
                                seller_id=order.seller_id, reason=reason, days_wanted=days_wanted, created_at=now)
    return request


def announce(request: ProtectionRequest, order: Order, now: datetime) -> None:
    """Once the request has its id: the seller is told (R38)."""
    request._emit("protection_requested", order, now, reason=request.reason, days_wanted=request.days_wanted,
                  protection_ends_at=_protection_end(order).isoformat())
