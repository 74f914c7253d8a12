"""Orders and their protection window (R1–R3, R6, R26).

States: ``paid`` → ``shipped`` (protection runs, R2) → ``completed`` (buyer confirmed or
protection ended) → ``closed`` (the post-completion dispute window R6 is over);
``paid`` → ``cancelled`` before shipping. A carrier's "delivered" is recorded but does not
complete the order.

Invariants: ``protection_ends_at`` is set exactly when the order has shipped and only
moves later (R3, bounded by the policy); ``deadline_at`` is the one timer running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from ombuds.domain.errors import Conflict, DomainError
from ombuds.domain.events import Event
from ombuds.domain.policy import Policy


class OrderState(StrEnum):
    paid = "paid"
    shipped = "shipped"
    completed = "completed"
    closed = "closed"
    cancelled = "cancelled"


@dataclass(slots=True)
class OrderLine:
    id: int | None
    position: int
    title: str
    unit_price: int  # minor units
    quantity: int

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(slots=True)
class Order:
    id: int | None
    buyer_id: int
    seller_id: int
    currency: str
    payment_method: str
    created_at: datetime
    lines: list[OrderLine]
    state: OrderState = OrderState.paid
    external_ref: str | None = None
    payment_ref: str | None = None  # R39: the charge or PaymentIntent at the payment provider
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    returned_to_sender_at: datetime | None = None  # R40: the carrier sent the parcel back
    completed_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    protection_ends_at: datetime | None = None
    protection_extension_days: int = 0
    dispute_window_ends_at: datetime | None = None
    replacement_for_line_id: int | None = None
    version: int = 0
    new_events: list[Event] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)

    @property
    def deadline(self) -> tuple[str, datetime] | tuple[None, None]:
        """The one timer running: protection's end while shipped, the dispute window after."""
        if self.state is OrderState.shipped:
            return "protection_ends", self.protection_ends_at
        if self.state is OrderState.completed:
            return "dispute_window_ends", self.dispute_window_ends_at
        return None, None

    def line(self, line_id: int) -> OrderLine:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise DomainError("line_not_found", "This order has no such line.", "line_id")

    def _emit(self, name: str, **data: object) -> None:
        self.new_events.append(Event(f"order.{name}", "order", self.id or 0, {
            "buyer_id": self.buyer_id, "seller_id": self.seller_id, "state": self.state.value, **data}))

    def _require(self, *states: OrderState, doing: str) -> None:
        if self.state not in states:
            allowed = " or ".join(s.value for s in states)
            raise Conflict("order_state_conflict",
                           f"Cannot {doing}: the order is {self.state.value}, it must be {allowed}.",
                           None, state=self.state.value)

    # Commands -----------------------------------------------------------------------

    def ship(self, *, carrier: str, tracking_number: str, now: datetime, policy: Policy) -> None:
        """R2: protection starts when the seller ships."""
        self._require(OrderState.paid, doing="ship")
        self.state = OrderState.shipped
        self.carrier, self.tracking_number, self.shipped_at = carrier, tracking_number, now
        self.protection_ends_at = now + policy.days("protection_days")
        self._emit("shipped", carrier=carrier, tracking_number=tracking_number,
                   protection_ends_at=self.protection_ends_at.isoformat())

    def record_delivery(self, *, now: datetime) -> None:
        """The carrier says delivered: recorded, but the order does not complete (§3)."""
        self._require(OrderState.shipped, OrderState.completed, doing="record delivery")
        if self.delivered_at is None:
            self.delivered_at = now
            self._emit("delivered")

    def record_returned_to_sender(self, *, now: datetime) -> None:
        """R40: the carrier sent the parcel back; the buyer will not get it (lifts R26's wait)."""
        self._require(OrderState.shipped, OrderState.completed, doing="record a return to sender")
        if self.returned_to_sender_at is None:
            self.returned_to_sender_at = now
            self._emit("returned_to_sender")

    def extend_protection(self, *, days: int, now: datetime, policy: Policy) -> None:
        """R3: the seller extends the buyer's protection, up to the policy's total."""
        self._require(OrderState.shipped, doing="extend protection")
        if days <= 0:
            raise DomainError("invalid_extension", "Extend by at least one day.", "days")
        room = policy.max_protection_extension_days - self.protection_extension_days
        if days > room:
            raise DomainError(
                "extension_too_long",
                f"Protection can be extended by at most {policy.max_protection_extension_days} days "
                f"in total; {room} days remain.", "days", remaining_days=room)
        self.protection_extension_days += days
        self.protection_ends_at = self.protection_ends_at + timedelta(days=days)
        self._emit("protection_extended", days=days,
                   protection_ends_at=self.protection_ends_at.isoformat())

    def confirm_receipt(self, *, now: datetime, policy: Policy) -> None:
        """The buyer confirms: the order completes and the R6 window opens."""
        self._require(OrderState.shipped, doing="confirm receipt")
        self._complete(now, policy, by="buyer")

    def end_protection(self, *, now: datetime, policy: Policy) -> None:
        """Timer: protection ran out without confirmation; the order completes (R1)."""
        self._require(OrderState.shipped, doing="end protection")
        self._complete(self.protection_ends_at, policy, by="protection_ended")

    def _complete(self, at: datetime, policy: Policy, by: str) -> None:
        self.state = OrderState.completed
        self.completed_at = at
        self.dispute_window_ends_at = at + policy.days("dispute_window_after_completion_days")
        self._emit("completed", by=by, dispute_window_ends_at=self.dispute_window_ends_at.isoformat())

    def close(self, *, now: datetime) -> None:
        """Timer: the R6 window is over; only a complaint remains (R24)."""
        self._require(OrderState.completed, doing="close")
        self.state = OrderState.closed
        self.closed_at = self.dispute_window_ends_at
        self._emit("closed")

    def cancel(self, *, now: datetime) -> None:
        self._require(OrderState.paid, doing="cancel")
        self.state = OrderState.cancelled
        self.cancelled_at = now
        self._emit("cancelled", refund_amount=self.total)

    # Questions ----------------------------------------------------------------------

    def check_dispute_allowed(self, *, not_received: bool, now: datetime, policy: Policy) -> None:
        """R6 and R26: may a dispute be opened on this order now? Raises why not."""
        if self.state in (OrderState.paid, OrderState.cancelled):
            raise Conflict("order_not_shipped",
                           "This order has not shipped; cancel it instead of opening a dispute.",
                           "order_id", state=self.state.value)
        window_end = self.protection_ends_at if self.state is OrderState.shipped else self.dispute_window_ends_at
        if self.state is OrderState.closed or now >= window_end:
            raise Conflict(
                "dispute_window_closed",
                "The time to open a dispute on this order is over "
                f"(it ended {window_end:%Y-%m-%d %H:%M} UTC). You can still file a complaint "
                "about the seller with the platform.",
                "order_id", deadline="dispute_window_ends", passed_at=window_end.isoformat(),
                next_step="complaint")
        if not_received:
            earliest = self.shipped_at + policy.days("not_received_wait_days")
            fate_known = self.delivered_at is not None or self.returned_to_sender_at is not None  # R40
            if now < earliest and not fate_known:
                raise DomainError(
                    "delivery_time_not_over",
                    "The parcel is still within its promised delivery time. A 'not received' "
                    f"dispute can be opened from {earliest:%Y-%m-%d %H:%M} UTC.",
                    "received", opens_at=earliest.isoformat())
