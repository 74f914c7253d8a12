"""The dispute lifecycle as one declarative table (DESIGN.md §3).

Each row is ``(state, action, actors) → to``, with an optional ``guard`` (may this actor
do it now? — shown through ``allowed_actions``, R27) and an optional ``when`` (which row
applies, given the command). Timers are rows too: a timer belongs to a state and is due
at a time derived from the dispute, so it is cancelled by the state moving on, never by
hand. The API, the docs' state table and the tests all read these tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ombuds.domain import effects as fx
from ombuds.domain.commands import Command
from ombuds.domain.disputes import Actor, Dispute, DisputeState as S, ReturnCondition, Resolution
from ombuds.domain.errors import Conflict
from ombuds.domain.policy import Policy


class Action(StrEnum):
    amend = "amend"
    propose = "propose"
    accept = "accept"
    reject = "reject"
    withdraw = "withdraw"
    escalate = "escalate"
    argue = "argue"
    decide = "decide"
    agree_verdict = "agree_verdict"
    disagree_verdict = "disagree_verdict"
    ship_return = "ship_return"
    return_delivered = "return_delivered"
    confirm_return = "confirm_return"
    reship = "reship"
    # Done by the system, never by a person.
    execute = "execute"
    seller_silence = "seller_silence"
    negotiation_over = "negotiation_over"
    review_target_passed = "review_target_passed"
    review_limit_passed = "review_limit_passed"
    reply_window_over = "reply_window_over"
    return_not_shipped = "return_not_shipped"
    return_not_confirmed = "return_not_confirmed"


# Returns why not (a message, or the error itself when it has a code of its own), or None.
Guard = Callable[[Dispute, Actor, Policy], "str | Conflict | None"]
When = Callable[[Dispute, Actor, Command, Policy], bool]
Effect = Callable[[Dispute, Actor, Command, datetime, Policy], None]


@dataclass(frozen=True, slots=True)
class Transition:
    state: S
    action: Action
    actors: frozenset[Actor]
    to: S
    effect: Effect = fx.nothing
    guard: Guard | None = None
    when: When | None = None
    rule: str = ""
    doc: str = ""


@dataclass(frozen=True, slots=True)
class Timer:
    state: S
    deadline: str  # the name people see: "respond_by"
    action: Action
    due: Callable[[Dispute, Policy], datetime | None]
    against: Actor | None  # whom it decides against (reminders, R28)
    rule: str
    doc: str


BUYER = frozenset({Actor.buyer})
SELLER = frozenset({Actor.seller})
PARTIES = frozenset({Actor.buyer, Actor.seller})
ARBITER = frozenset({Actor.arbitrator, Actor.platform})
SYSTEM = frozenset({Actor.system})
CARRIER = frozenset({Actor.platform})
OPEN_STATES = (S.awaiting_seller, S.negotiating, S.escalated, S.decided, S.awaiting_return,
               S.return_in_transit)


# Guards -----------------------------------------------------------------------------

def _other_party_proposed(d: Dispute, actor: Actor, p: Policy) -> str | None:
    if d.proposal.by is actor:
        return "You made the proposal on the table; the other party must answer it."
    if d.proposal_rejected:
        return "The proposal on the table was rejected; make a new one."
    return None


def _manual_escalation_on(d: Dispute, actor: Actor, p: Policy) -> str | None:
    return None if p.manual_escalation else "The platform escalates by itself when negotiation time ends."


def _not_replied(d: Dispute, actor: Actor, p: Policy) -> str | None:
    replied = d.buyer_reply if actor is Actor.buyer else d.seller_reply
    return "You have already replied to this verdict." if replied else None


def _appeal_possible(d: Dispute, actor: Actor, p: Policy) -> str | Conflict | None:
    """R16, R42: only a verdict with an appeal left can be disagreed with; a final one cannot."""
    if d.appeals_used >= p.appeals:
        return Conflict("verdict_final", "This verdict is final: it can no longer be disagreed with. "
                        "Agree to it, or let the reply window pass, and it executes.", None,
                        state=d.state.value)
    return _not_replied(d, actor, p)


def _is_replacement(d: Dispute, actor: Actor, p: Policy) -> str | None:
    return None if d.agreed_resolution is Resolution.replacement else "Only a replacement is reshipped."


# Row selectors ------------------------------------------------------------------------

def _other_replied(d: Dispute, actor: Actor, cmd: Command, p: Policy) -> bool:
    return (d.seller_reply if actor is Actor.buyer else d.buyer_reply) is not None


def _needs_return(d: Dispute, actor: Actor, cmd: Command, p: Policy) -> bool:
    return d.agreed_resolution in (Resolution.return_and_refund, Resolution.replacement)


def _arrived_as_sent(d: Dispute, actor: Actor, cmd: Command, p: Policy) -> bool:
    return cmd.condition is ReturnCondition.as_sent and d.agreed_resolution is not Resolution.replacement


def _arrived_not_as_sent(d: Dispute, actor: Actor, cmd: Command, p: Policy) -> bool:
    return cmd.condition is not ReturnCondition.as_sent


def _always(d: Dispute, actor: Actor, cmd: Command, p: Policy) -> bool:
    return True


T = Transition
TRANSITIONS: tuple[Transition, ...] = (
    # awaiting_seller: the seller's move (R12)
    T(S.awaiting_seller, Action.accept, SELLER, S.agreed, fx.adopt_proposal, rule="R12",
      doc="seller accepts the buyer's proposal"),
    T(S.awaiting_seller, Action.reject, SELLER, S.negotiating, fx.reject_proposal, rule="R12",
      doc="seller rejects, with reasons"),
    T(S.awaiting_seller, Action.propose, SELLER, S.negotiating, fx.put_proposal, rule="R12",
      doc="seller counter-proposes"),
    T(S.awaiting_seller, Action.amend, BUYER, S.awaiting_seller, fx.put_proposal, rule="R13",
      doc="buyer changes what she asks for"),
    # negotiating (R13, R14)
    T(S.negotiating, Action.propose, PARTIES, S.negotiating, fx.put_proposal, rule="R13",
      doc="either party makes a new proposal"),
    T(S.negotiating, Action.accept, PARTIES, S.agreed, fx.adopt_proposal, guard=_other_party_proposed,
      rule="R13", doc="the other party accepts the proposal on the table"),
    T(S.negotiating, Action.reject, PARTIES, S.negotiating, fx.reject_proposal,
      guard=_other_party_proposed, rule="R13", doc="the other party rejects the proposal"),
    T(S.negotiating, Action.escalate, PARTIES, S.escalated, fx.start_arbitration,
      guard=_manual_escalation_on, rule="R14", doc="a party escalates (only if the policy allows)"),
    # escalated (R15)
    T(S.escalated, Action.argue, PARTIES, S.escalated, fx.record_message, rule="R15",
      doc="a party adds an argument"),
    T(S.escalated, Action.decide, ARBITER, S.decided, fx.record_verdict, rule="R15",
      doc="the arbitrator issues a verdict"),
    # decided (R16)
    T(S.decided, Action.agree_verdict, PARTIES, S.agreed, fx.agree_and_adopt_verdict, guard=_not_replied,
      when=_other_replied, rule="R16", doc="both parties agree: the verdict executes"),
    T(S.decided, Action.agree_verdict, PARTIES, S.decided, fx.agree_to_verdict, guard=_not_replied,
      when=_always, rule="R16", doc="one party agrees; waiting for the other"),
    T(S.decided, Action.disagree_verdict, PARTIES, S.escalated, fx.appeal, guard=_appeal_possible,
      rule="R16", doc="a disagreement sends the first verdict back (appeal); a final one offers none (R42)"),
    # agreed: transient, executes at once
    T(S.agreed, Action.execute, SYSTEM, S.awaiting_return, fx.nothing, when=_needs_return, rule="R18",
      doc="a return is needed: the buyer ships it back"),
    T(S.agreed, Action.execute, SYSTEM, S.closed, fx.refund_agreed, when=_always, rule="R1",
      doc="refund only: the refund is issued and the dispute closes"),
    # return (R18, R19, R29)
    T(S.awaiting_return, Action.ship_return, BUYER, S.return_in_transit, fx.record_return_shipment,
      rule="R18", doc="buyer enters the return's tracking"),
    T(S.return_in_transit, Action.return_delivered, CARRIER, S.return_in_transit,
      fx.record_return_delivery, rule="R18", doc="the carrier delivered the return"),
    T(S.return_in_transit, Action.confirm_return, SELLER, S.escalated, fx.dispute_condition,
      when=_arrived_not_as_sent, rule="R29", doc="the return arrived not as sent: arbitration"),
    T(S.return_in_transit, Action.confirm_return, SELLER, S.closed, fx.refund_returned,
      when=_arrived_as_sent, rule="R29", doc="the return arrived as sent: refund"),
    T(S.return_in_transit, Action.reship, SELLER, S.closed, fx.reship, guard=_is_replacement,
      rule="R19", doc="the seller reships the replacement"),
    # R17: the buyer may withdraw at any time before the dispute closes
    *(T(state, Action.withdraw, BUYER, S.closed, fx.withdraw, rule="R17", doc="buyer withdraws")
      for state in OPEN_STATES),
    # Timers fire these (see TIMERS)
    T(S.awaiting_seller, Action.seller_silence, SYSTEM, S.agreed, fx.silence_refunds_buyer, rule="R12",
      doc="the seller stayed silent: refund without return"),
    T(S.negotiating, Action.negotiation_over, SYSTEM, S.escalated, fx.start_arbitration, rule="R14",
      doc="no agreement in time: the platform escalates"),
    T(S.escalated, Action.review_target_passed, SYSTEM, S.escalated, fx.flag_review_target, rule="R15",
      doc="the review target passed: arbitrators are told"),
    T(S.escalated, Action.review_limit_passed, SYSTEM, S.escalated, fx.flag_review_limit, rule="R15",
      doc="the review limit passed: the operator is told"),
    T(S.decided, Action.reply_window_over, SYSTEM, S.agreed, fx.adopt_verdict, rule="R16",
      doc="the reply window passed: the verdict executes"),
    T(S.awaiting_return, Action.return_not_shipped, SYSTEM, S.closed, fx.close_without_refund,
      rule="R18", doc="no return shipped in time: closed without refund"),
    T(S.return_in_transit, Action.return_not_confirmed, SYSTEM, S.closed, fx.refund_returned,
      rule="R18", doc="the seller did not confirm in time: refund"),
)


def _after(start: str, days: str) -> Callable[[Dispute, Policy], datetime | None]:
    def due(d: Dispute, p: Policy) -> datetime | None:
        at = getattr(d, start)
        return None if at is None else at + p.days(days)
    return due


def _unless(flag: str, due: Callable[[Dispute, Policy], datetime | None]):
    return lambda d, p: None if getattr(d, flag) else due(d, p)


def _confirm_return_by(d: Dispute, p: Policy) -> datetime | None:
    by_shipping = d.return_shipped_at + p.days("return_confirm_after_shipping_days")
    if d.return_delivered_at is None:
        return by_shipping
    return min(by_shipping, d.return_delivered_at + p.days("return_confirm_after_delivery_days"))


TIMERS: tuple[Timer, ...] = (
    Timer(S.awaiting_seller, "respond_by", Action.seller_silence,
          _after("state_entered_at", "seller_response_days"), Actor.seller, "R12",
          "the seller's deadline to respond"),
    Timer(S.negotiating, "negotiate_by", Action.negotiation_over,
          _after("first_seller_response_at", "negotiation_days"), None, "R14",
          "negotiation ends; escalation follows"),
    Timer(S.escalated, "review_target", Action.review_target_passed,
          _unless("review_target_passed", _after("escalated_at", "arbitration_review_target_days")),
          None, "R15", "the arbitrators' target for a verdict"),
    Timer(S.escalated, "review_limit", Action.review_limit_passed,
          _unless("review_limit_passed", _after("escalated_at", "arbitration_limit_days")),
          None, "R15", "the arbitrators' limit for a verdict"),
    Timer(S.decided, "reply_by", Action.reply_window_over,
          _after("state_entered_at", "verdict_reply_days"), None, "R16",
          "the parties' window to reply to the verdict"),
    Timer(S.awaiting_return, "ship_return_by", Action.return_not_shipped,
          _after("state_entered_at", "return_ship_days"), Actor.buyer, "R18",
          "the buyer's deadline to ship the return"),
    Timer(S.return_in_transit, "confirm_return_by", Action.return_not_confirmed,
          _confirm_return_by, Actor.seller, "R18", "the seller's deadline to confirm the return"),
)

PERSON_ACTIONS = tuple(a for a in Action if not any(a is t.action and Actor.system in t.actors
                                                    for t in TRANSITIONS))


def running_timer(d: Dispute, p: Policy) -> tuple[Timer, datetime] | None:
    """The one deadline running for this dispute now: the earliest due timer of its state."""
    best: tuple[Timer, datetime] | None = None
    for timer in TIMERS:
        if timer.state is d.state:
            due = timer.due(d, p)
            if due is not None and (best is None or due < best[1]):
                best = (timer, due)
    return best
