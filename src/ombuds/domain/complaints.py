"""Complaints to the platform (R24): the buyer's last word once a line can no longer be disputed.

States: ``open`` → ``answered`` → ``closed``. The transitions and timers are one table
run by the same engine as the dispute's (:mod:`ombuds.domain.engine`); the API's
``allowed_actions``, the docs and the tests read it. An arbitrator answers, may grant a goodwill refund (the
platform's money, never the seller's) and may penalise the seller; the buyer may withdraw
an open complaint or close an answered one.

Deadlines are data: the platform aims to answer within ``complaint_answer_days`` (policy,
15). The arbitrators are reminded ``reminder_lead_hours`` before; when the target passes
the complaint stays open and is reported as overdue — it is never closed unanswered. An
answered complaint the buyer leaves alone closes after ``CLOSE_AFTER_ANSWER``.

Invariants: at most one goodwill refund and one penalty per complaint; a goodwill refund
never exceeds what the buyer paid for the order less what was refunded on it already.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from ombuds.domain import engine
from ombuds.domain.disputes import Actor
from ombuds.domain.engine import Timer, Transition
from ombuds.domain.errors import Conflict, DomainError, present
from ombuds.domain.events import Event, TimelineEntry
from ombuds.domain.identity import saved_id
from ombuds.domain.orders import Order, OrderState
from ombuds.domain.penalties import PenaltyKind, Standing, check_penalty
from ombuds.domain.policy import DEFAULT_POLICY, Policy
from ombuds.domain.text import written

# Would be a policy field; policy.py belongs to the rules' owner (see docs/trust.md).
CLOSE_AFTER_ANSWER = timedelta(days=14)
MAX_TEXT = 5000


class ComplaintState(StrEnum):
    open = "open"
    answered = "answered"
    closed = "closed"


class About(StrEnum):
    order = "order"
    seller = "seller"


class ComplaintAction(StrEnum):
    answer = "answer"
    grant_goodwill = "grant_goodwill"
    penalise_seller = "penalise_seller"
    close = "close"
    withdraw = "withdraw"
    # Done by the system, never by a person.
    answer_overdue = "answer_overdue"
    close_after_answer = "close_after_answer"


@dataclass(frozen=True, slots=True)
class Say:
    message: str


@dataclass(frozen=True, slots=True)
class Goodwill:
    amount: int  # minor units, in the order's currency
    message: str
    refund_to: str = "original_method"  # or "platform_balance" (R31)


@dataclass(frozen=True, slots=True)
class Penalise:
    kind: str  # warning | suspension
    reason: str


@dataclass(frozen=True, slots=True)
class GoodwillIntent:
    amount: int
    refund_to: str


@dataclass(frozen=True, slots=True)
class PenaltyIntent:
    kind: PenaltyKind
    reason: str


@dataclass(slots=True)
class Complaint:
    id: int | None
    buyer_id: int
    seller_id: int
    order_id: int
    line_id: int | None
    about: About
    message: str
    currency: str
    opened_at: datetime
    state: ComplaintState = ComplaintState.open
    state_entered_at: datetime | None = None
    deadline: str | None = None
    deadline_at: datetime | None = None
    reminder_at: datetime | None = None
    reminded_deadline_at: datetime | None = None
    overdue_since: datetime | None = None
    answered_at: datetime | None = None
    answered_by: int | None = None
    answer: str | None = None
    goodwill_amount: int | None = None
    goodwill_refund_id: int | None = None
    outcome: str | None = None
    closed_at: datetime | None = None
    version: int = 0
    # Read for the action at hand, never stored: set by the service before acting.
    refundable: int = 0  # what the order may still refund (goodwill cap)
    seller_standing: Standing = field(default_factory=lambda: Standing(False))
    has_penalty: bool = False
    new_events: list[Event] = field(default_factory=list)
    new_timeline: list[TimelineEntry] = field(default_factory=list)
    new_goodwill: GoodwillIntent | None = None
    new_penalty: PenaltyIntent | None = None

    @property
    def due_at(self) -> datetime | None:
        times = [t for t in (self.deadline_at, self.reminder_at) if t is not None]
        return min(times) if times else None


# Effects --------------------------------------------------------------------------------

def _first_answer(c: Complaint, actor_id: int | None, text: str, now: datetime) -> None:
    if c.answered_at is None:
        c.answered_at, c.answered_by, c.answer = now, actor_id, text


def _answer(c: Complaint, actor: Actor, actor_id: int | None, cmd: Say, now: datetime, p: Policy) -> None:
    _first_answer(c, actor_id, cmd.message, now)


def _goodwill(c: Complaint, actor: Actor, actor_id: int | None, cmd: Goodwill, now: datetime,
              p: Policy) -> None:
    _first_answer(c, actor_id, cmd.message, now)
    c.goodwill_amount = cmd.amount
    c.new_goodwill = GoodwillIntent(cmd.amount, cmd.refund_to)


def _penalise(c: Complaint, actor: Actor, actor_id: int | None, cmd: Penalise, now: datetime,
              p: Policy) -> None:
    _first_answer(c, actor_id, cmd.reason, now)
    c.has_penalty = True
    c.new_penalty = PenaltyIntent(PenaltyKind(cmd.kind), cmd.reason)


def _overdue(c: Complaint, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
    c.overdue_since = now


def _close(outcome: str) -> engine.Effect:
    def close(c: Complaint, actor: Actor, actor_id: int | None, cmd, now: datetime, p: Policy) -> None:
        c.outcome, c.closed_at = outcome, now
    return close


# Guards ---------------------------------------------------------------------------------

def _no_goodwill_yet(c: Complaint, actor: Actor, p: Policy) -> str | None:
    return "A goodwill refund was already granted for this complaint." if c.goodwill_amount else None


def _no_penalty_yet(c: Complaint, actor: Actor, p: Policy) -> str | None:
    return "The seller was already penalised for this complaint." if c.has_penalty else None


STAFF = frozenset({Actor.arbitrator, Actor.platform})
BUYER = frozenset({Actor.buyer})
SYSTEM = frozenset({Actor.system})
S, A = ComplaintState, ComplaintAction
NOBODY: frozenset[Actor] = frozenset()  # a withdrawn complaint: the buyer knows, staff see the queue
ARBITERS = frozenset({Actor.arbitrator})  # every arbitrator of the platform is told

T = Transition
TRANSITIONS: tuple[Transition, ...] = (
    T(S.open, A.answer, STAFF, S.answered, _answer, command=Say, tell=BUYER, rule="R24", doc="an arbitrator answers"),
    T(S.open, A.grant_goodwill, STAFF, S.answered, _goodwill, _no_goodwill_yet, command=Goodwill,
      tell=BUYER, rule="R24", doc="an arbitrator answers with a goodwill refund paid by the platform"),
    T(S.answered, A.grant_goodwill, STAFF, S.answered, _goodwill, _no_goodwill_yet, command=Goodwill,
      tell=BUYER, rule="R24", doc="an arbitrator adds a goodwill refund to the answer"),
    T(S.open, A.penalise_seller, STAFF, S.answered, _penalise, _no_penalty_yet, command=Penalise,
      tell=BUYER, rule="R24", doc="an arbitrator answers by warning or suspending the seller"),
    T(S.answered, A.penalise_seller, STAFF, S.answered, _penalise, _no_penalty_yet, command=Penalise,
      tell=BUYER, rule="R24", doc="an arbitrator adds a penalty to the answer"),
    T(S.open, A.withdraw, BUYER, S.closed, _close("withdrawn"), tell=NOBODY, rule="R24", doc="the buyer withdraws"),
    T(S.answered, A.close, BUYER | STAFF, S.closed, _close("answered"), tell=BUYER, rule="R24",
      doc="the buyer (or an arbitrator) closes the answered complaint"),
    T(S.open, A.answer_overdue, SYSTEM, S.open, _overdue, tell=ARBITERS, rule="R24",
      doc="the answer target passed: reported to the operator, still open"),
    T(S.answered, A.close_after_answer, SYSTEM, S.closed, _close("answered"), tell=BUYER, rule="R24",
      doc="nobody acted on the answer: the complaint closes"),
)


def answer_target(c: Complaint, p: Policy) -> datetime:
    """R24: when the platform aims to have answered."""
    return c.opened_at + p.days("complaint_answer_days")


def _answer_by(c: Complaint, p: Policy) -> datetime | None:
    return None if c.overdue_since else answer_target(c, p)


def _close_by(c: Complaint, p: Policy) -> datetime | None:
    return present(c.state_entered_at, "state_entered_at") + CLOSE_AFTER_ANSWER


TIMERS: tuple[Timer, ...] = (
    Timer(S.open, "answer_by", A.answer_overdue, _answer_by, None, "R24",
          "the platform's target for answering (complaint_answer_days)", reminds="arbitrators"),
    Timer(S.answered, "close_by", A.close_after_answer, _close_by, None, "R24",
          "an answered complaint nobody acts on closes"),
)


# Filing and acting ------------------------------------------------------------------------

def may_complain(order: Order, line_id: int | None, line_disputes: dict[int, bool], *,
                 now: datetime, policy: Policy) -> None:
    """R24: only once the line (or, without a line, the order) can no longer be disputed.

    ``line_disputes`` maps each disputed line to whether its dispute is still open."""
    if line_id is not None:
        order.line(line_id)  # raises for a line of another order
        if line_id in line_disputes:
            if line_disputes[line_id]:
                raise Conflict("dispute_open", "This line's dispute is still open: add to it instead "
                               "of complaining.", "line_id", next_step="dispute")
            return
    elif order.lines and all(line.id in line_disputes and not line_disputes[line.id] for line in order.lines):
        return
    if order.state is OrderState.cancelled:
        return
    try:
        order.check_dispute_allowed(not_received=False, now=now, policy=policy)
    except Conflict as exc:
        if exc.code == "dispute_window_closed":
            return
        raise
    window_end = present(order.protection_ends_at if order.state is OrderState.shipped
                         else order.dispute_window_ends_at, "the end of the time to open a dispute")
    raise Conflict("dispute_still_possible",
                   f"This order can still be disputed until {window_end:%Y-%m-%d %H:%M} UTC: open a "
                   "dispute on the line instead. A complaint is for when a dispute is no longer possible.",
                   "line_id" if line_id is not None else "order_id", next_step="dispute",
                   dispute_window_ends_at=window_end.isoformat())


def file(order: Order, *, line_id: int | None, about: str, message: str, now: datetime,
         policy: Policy) -> Complaint:
    if about not in [a.value for a in About]:
        raise DomainError("invalid_about", "A complaint is about the 'order' or the 'seller'.", "about")
    message = _text(message, "message")
    c = Complaint(id=None, buyer_id=order.buyer_id, seller_id=order.seller_id, order_id=saved_id(order),
                  line_id=line_id, about=About(about), message=message, currency=order.currency,
                  opened_at=now)
    engine.enter(c, S.open, now, policy)
    c.new_timeline.append(TimelineEntry(now, Actor.buyer, order.buyer_id, "file", "", c.state,
                                        None, None, {"about": about, "line_id": line_id}))
    c.new_events.append(Event("complaint.opened", "complaint", 0, _event_data(c, "file")))
    return c


def _text(value: str, field_name: str) -> str:
    value = written(value)
    if not value:
        raise DomainError("message_required", "Say what happened, in a few words.", field_name)
    if len(value) > MAX_TEXT:
        raise DomainError("message_too_long", f"Keep it under {MAX_TEXT} characters.", field_name)
    return value


def _validate(c: Complaint, action: ComplaintAction, actor: Actor, cmd, p: Policy):
    if action is A.grant_goodwill:
        if c.refundable <= 0:
            raise Conflict("nothing_to_refund", "Everything paid for this order has been refunded "
                           "already.", "amount", max_amount=0)
        if not isinstance(cmd.amount, int) or not 0 < cmd.amount <= c.refundable:
            raise DomainError("amount_out_of_range", f"A goodwill refund is between 1 and {c.refundable} "
                              "(minor units): what was paid for the order, less refunds already made.",
                              "amount", max_amount=c.refundable)
        if cmd.refund_to not in ("original_method", "platform_balance"):
            raise DomainError("refund_destination_unavailable",
                              "Refunds go to the original payment method or the platform balance.", "refund_to")
        return Goodwill(cmd.amount, _text(cmd.message, "message"), cmd.refund_to)
    if action is A.penalise_seller:
        kind, reason = check_penalty(cmd.kind, cmd.reason, c.seller_standing, allow_reinstatement=False)
        return Penalise(kind.value, reason)
    if action is A.answer:
        return Say(_text(cmd.message, "message"))
    return cmd


def check_may_ever(action: ComplaintAction, actor: Actor) -> None:
    """Permissions before state: 403 for an actor no row lets take this action, in any state."""
    engine.check_may_ever(action, actor)


def act(c: Complaint, action: ComplaintAction, actor: Actor, actor_id: int | None, cmd=None, *,
        now: datetime, policy: Policy) -> None:
    engine.act(c, action, actor, actor_id, cmd, now=now, policy=policy)


def allowed_actions(c: Complaint, actor: Actor, policy: Policy = DEFAULT_POLICY) -> list[ComplaintAction]:
    return [ComplaintAction(a) for a in engine.allowed_actions(c, actor, policy)]


fire_due, as_of, running_timer = engine.fire_due, engine.as_of, engine.running_timer


def _event_data(c: Complaint, what: str, **extra: object) -> dict:
    return {"complaint_id": c.id, "order_id": c.order_id, "line_id": c.line_id, "buyer_id": c.buyer_id,
            "seller_id": c.seller_id, "about": c.about.value, "state": c.state.value, "action": what,
            "deadline": c.deadline, "deadline_at": c.deadline_at.isoformat() if c.deadline_at else None,
            "overdue_since": c.overdue_since.isoformat() if c.overdue_since else None, **extra}


COMPLAINTS = engine.Table(
    name="complaint", aggregate=Complaint, states=S, actions=A, transitions=TRANSITIONS, timers=TIMERS,
    final=frozenset({S.closed}), keeps_timeline=True, stamp_events=False, reminder_event="answer_reminder",
    validate=_validate, event_data=_event_data)
