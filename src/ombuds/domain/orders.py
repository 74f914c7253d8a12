"""Orders and their protection window (R1–R3, R6, R26).

States: ``paid`` → ``shipped`` (protection runs, R2) → ``completed`` (buyer confirmed or
protection ended) → ``closed`` (the post-completion dispute window R6 is over);
``paid`` → ``cancelled`` before shipping. A carrier's "delivered" is recorded but does not
complete the order.

The transitions and timers are one table (``TRANSITIONS``, ``TIMERS``) run by the same
engine as disputes and complaints (:mod:`ombuds.domain.engine`); the methods below name its
actions for the services. Orders keep no timeline: their effects emit the outbox events.

Invariants: ``protection_ends_at`` is set exactly when the order has shipped and only
moves later (R3, bounded by the policy); ``deadline`` is the one timer running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from ombuds.domain import engine
from ombuds.domain.disputes import Actor
from ombuds.domain.engine import Timer, Transition
from ombuds.domain.errors import Conflict, DomainError, present
from ombuds.domain.events import Event
from ombuds.domain.policy import DEFAULT_POLICY, Policy


class OrderState(StrEnum):
    paid = "paid"
    shipped = "shipped"
    completed = "completed"
    closed = "closed"
    cancelled = "cancelled"


class OrderAction(StrEnum):
    ship = "ship"
    record_delivery = "record_delivery"
    record_returned_to_sender = "record_returned_to_sender"
    extend_protection = "extend_protection"
    confirm_receipt = "confirm_receipt"
    cancel = "cancel"
    # Done by the system, never by a person.
    end_protection = "end_protection"
    close = "close"


@dataclass(frozen=True, slots=True)
class Ship:
    carrier: str
    tracking_number: str


@dataclass(frozen=True, slots=True)
class Extend:
    days: int


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
        """The one timer running (see ``TIMERS``): protection's end while shipped, the dispute
        window after. Its due time reads only the order, never the policy."""
        running = engine.running_timer(self, DEFAULT_POLICY)
        return (running[0].deadline, running[1]) if running else (None, None)

    def line(self, line_id: int) -> OrderLine:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise DomainError("line_not_found", "This order has no such line.", "line_id")

    def _emit(self, name: str, **data: object) -> None:
        self.new_events.append(Event(f"order.{name}", "order", self.id or 0, {
            "buyer_id": self.buyer_id, "seller_id": self.seller_id, "state": self.state.value, **data}))

    # Commands: each is an action of the table ----------------------------------------

    def ship(self, *, carrier: str, tracking_number: str, now: datetime, policy: Policy) -> None:
        """R2: protection starts when the seller ships."""
        engine.act(self, OrderAction.ship, Actor.seller, None, Ship(carrier, tracking_number), now=now, policy=policy)

    def record_delivery(self, *, now: datetime) -> None:
        """The carrier says delivered: recorded, but the order does not complete (§3)."""
        engine.act(self, OrderAction.record_delivery, Actor.platform, None, now=now, policy=DEFAULT_POLICY)

    def record_returned_to_sender(self, *, now: datetime) -> None:
        """R40: the carrier sent the parcel back; the buyer will not get it (lifts R26's wait)."""
        engine.act(self, OrderAction.record_returned_to_sender, Actor.platform, None, now=now,
                   policy=DEFAULT_POLICY)

    def extend_protection(self, *, days: int, now: datetime, policy: Policy) -> None:
        """R3: the seller extends the buyer's protection, up to the policy's total."""
        engine.act(self, OrderAction.extend_protection, Actor.seller, None, Extend(days), now=now, policy=policy)

    def confirm_receipt(self, *, now: datetime, policy: Policy) -> None:
        """The buyer confirms: the order completes and the R6 window opens."""
        engine.act(self, OrderAction.confirm_receipt, Actor.buyer, None, now=now, policy=policy)

    def end_protection(self, *, now: datetime, policy: Policy) -> None:
        """Timer: protection ran out without confirmation; the order completes (R1)."""
        engine.act(self, OrderAction.end_protection, Actor.system, None, now=self.protection_ends_at or now,
                   policy=policy)

    def close(self, *, now: datetime) -> None:
        """Timer: the R6 window is over; only a complaint remains (R24)."""
        engine.act(self, OrderAction.close, Actor.system, None, now=self.dispute_window_ends_at or now,
                   policy=DEFAULT_POLICY)

    def cancel(self, *, now: datetime) -> None:
        engine.act(self, OrderAction.cancel, Actor.buyer, None, now=now, policy=DEFAULT_POLICY)

    # Questions ----------------------------------------------------------------------

    def check_dispute_allowed(self, *, not_received: bool, now: datetime, policy: Policy) -> None:
        """R6 and R26: may a dispute be opened on this order now? Raises why not."""
        if self.state in (OrderState.paid, OrderState.cancelled):
            raise Conflict("order_not_shipped",
                           "This order has not shipped; cancel it instead of opening a dispute.",
                           "order_id", state=self.state.value)
        window_end = present(self.protection_ends_at if self.state is OrderState.shipped
                             else self.dispute_window_ends_at, "the end of the time to open a dispute")
        if self.state is OrderState.closed or now >= window_end:
            raise Conflict(
                "dispute_window_closed",
                "The time to open a dispute on this order is over "
                f"(it ended {window_end:%Y-%m-%d %H:%M} UTC). You can still file a complaint "
                "about the seller with the platform.",
                "order_id", deadline="dispute_window_ends", passed_at=window_end.isoformat(),
                next_step="complaint")
        if not_received:
            earliest = present(self.shipped_at, "shipped_at") + policy.days("not_received_wait_days")
            fate_known = self.delivered_at is not None or self.returned_to_sender_at is not None  # R40
            if now < earliest and not fate_known:
                raise DomainError(
                    "delivery_time_not_over",
                    "The parcel is still within its promised delivery time. A 'not received' "
                    f"dispute can be opened from {earliest:%Y-%m-%d %H:%M} UTC.",
                    "received", opens_at=earliest.isoformat())


# The table ---------------------------------------------------------------------------------

def _shipped(o: Order, actor: Actor, actor_id: int | None, cmd: Ship, now: datetime, p: Policy) -> None:
    o.carrier, o.tracking_number, o.shipped_at = cmd.carrier, cmd.tracking_number, now
    o.protection_ends_at = now + p.days("protection_days")
    o._emit("shipped", carrier=cmd.carrier, tracking_number=cmd.tracking_number,
            protection_ends_at=o.protection_ends_at.isoformat())


def _delivered(o: Order, actor: Actor, actor_id: int | None, cmd: None, now: datetime, p: Policy) -> None:
    if o.delivered_at is None:
        o.delivered_at = now
        o._emit("delivered")


def _returned_to_sender(o: Order, actor: Actor, actor_id: int | None, cmd: None, now: datetime,
                        p: Policy) -> None:
    if o.returned_to_sender_at is None:
        o.returned_to_sender_at = now
        o._emit("returned_to_sender")


def _extended(o: Order, actor: Actor, actor_id: int | None, cmd: Extend, now: datetime, p: Policy) -> None:
    o.protection_extension_days += cmd.days
    o.protection_ends_at = present(o.protection_ends_at, "protection_ends_at") + timedelta(days=cmd.days)
    o._emit("protection_extended", days=cmd.days, protection_ends_at=o.protection_ends_at.isoformat())


def _completed(by: str) -> engine.Effect:
    def complete(o: Order, actor: Actor, actor_id: int | None, cmd: None, now: datetime, p: Policy) -> None:
        o.completed_at = now
        o.dispute_window_ends_at = now + p.days("dispute_window_after_completion_days")
        o._emit("completed", by=by, dispute_window_ends_at=o.dispute_window_ends_at.isoformat())
    return complete


def _closed(o: Order, actor: Actor, actor_id: int | None, cmd: None, now: datetime, p: Policy) -> None:
    o.closed_at = o.dispute_window_ends_at
    o._emit("closed")


def _cancelled(o: Order, actor: Actor, actor_id: int | None, cmd: None, now: datetime, p: Policy) -> None:
    o.cancelled_at = now
    o._emit("cancelled", refund_amount=o.total)


def _validate(o: Order, action: OrderAction, actor: Actor, cmd: Extend | Ship | None,
              p: Policy) -> Extend | Ship | None:
    if action is OrderAction.extend_protection and isinstance(cmd, Extend):  # its row's command
        if cmd.days <= 0:
            raise DomainError("invalid_extension", "Extend by at least one day.", "days")
        room = p.max_protection_extension_days - o.protection_extension_days
        if cmd.days > room:
            raise DomainError(
                "extension_too_long",
                f"Protection can be extended by at most {p.max_protection_extension_days} days "
                f"in total; {room} days remain.", "days", remaining_days=room)
    return cmd


# The words of the refusal an order has always given: "Cannot ship: the order is …".
DOING = {
    OrderAction.ship: "ship", OrderAction.record_delivery: "record delivery",
    OrderAction.record_returned_to_sender: "record a return to sender",
    OrderAction.extend_protection: "extend protection", OrderAction.confirm_receipt: "confirm receipt",
    OrderAction.cancel: "cancel", OrderAction.end_protection: "end protection", OrderAction.close: "close",
}


def _not_now(o: Order, action: OrderAction, actor: Actor, p: Policy) -> Conflict:
    allowed = " or ".join(dict.fromkeys(t.state.value for t in TRANSITIONS if t.action is action))
    return Conflict("order_state_conflict",
                    f"Cannot {DOING[action]}: the order is {o.state.value}, it must be {allowed}.",
                    None, state=o.state.value)


S, A = OrderState, OrderAction
SELLER, BUYER = frozenset({Actor.seller}), frozenset({Actor.buyer})
CARRIER, SYSTEM = frozenset({Actor.platform}), frozenset({Actor.system})
PARTIES, NOBODY = BUYER | SELLER, frozenset[Actor]()
T = Transition
TRANSITIONS: tuple[Transition, ...] = (
    T(S.paid, A.ship, SELLER, S.shipped, _shipped, command=Ship, tell=BUYER, rule="R2",
      doc="the seller ships: the buyer's protection starts"),
    T(S.paid, A.cancel, BUYER, S.cancelled, _cancelled, tell=SELLER, rule="R1",
      doc="cancelled before shipping: refunded"),
    T(S.shipped, A.record_delivery, CARRIER, S.shipped, _delivered, tell=BUYER, rule="R2",
      doc="the carrier delivered: recorded, protection runs on"),
    T(S.completed, A.record_delivery, CARRIER, S.completed, _delivered, tell=BUYER, rule="R2",
      doc="a late delivery scan: recorded"),
    T(S.shipped, A.record_returned_to_sender, CARRIER, S.shipped, _returned_to_sender, tell=NOBODY, rule="R40",
      doc="the carrier sent the parcel back: the buyer may dispute at once"),
    T(S.completed, A.record_returned_to_sender, CARRIER, S.completed, _returned_to_sender, tell=NOBODY,
      rule="R40", doc="the carrier sent the parcel back after completion: recorded"),
    T(S.shipped, A.extend_protection, SELLER, S.shipped, _extended, command=Extend, tell=BUYER, rule="R3",
      doc="the seller extends protection, up to the policy's total"),
    T(S.shipped, A.confirm_receipt, BUYER, S.completed, _completed("buyer"), tell=PARTIES, rule="R6",
      doc="the buyer confirms receipt: the order completes, the dispute window opens"),
    T(S.shipped, A.end_protection, SYSTEM, S.completed, _completed("protection_ended"), tell=PARTIES, rule="R1",
      doc="protection ran out unconfirmed: the order completes"),
    T(S.completed, A.close, SYSTEM, S.closed, _closed, tell=BUYER, rule="R6",
      doc="the dispute window is over: only a complaint remains (R24)"),
)

def _protection_ends(o: Order, p: Policy) -> datetime | None:
    return o.protection_ends_at


def _window_ends(o: Order, p: Policy) -> datetime | None:
    return o.dispute_window_ends_at


TIMERS: tuple[Timer, ...] = (
    Timer(S.shipped, "protection_ends", A.end_protection, _protection_ends, None, "R2",
          "the buyer's protection ends (protection_days after shipping, plus extensions)"),
    Timer(S.completed, "dispute_window_ends", A.close, _window_ends, None, "R6",
          "the window to dispute after completion ends (dispute_window_after_completion_days)"),
)

ORDERS = engine.Table(
    name="order", aggregate=Order, states=S, actions=A, transitions=TRANSITIONS, timers=TIMERS,
    final=frozenset({S.closed, S.cancelled}), keeps_timeline=False, validate=_validate, not_now=_not_now)
