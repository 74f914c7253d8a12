"""The dispute lifecycle as one declarative table (DESIGN.md §3), run by :mod:`ombuds.domain.engine`.

Each row is ``(state, action, actors) → to``, with an optional ``guard`` (may this actor
do it now? — shown through ``allowed_actions``, R27), an optional ``when`` (which row
applies, given the command), the command it takes and who is told. Timers are rows too: a
timer belongs to a state and is due at a time derived from the dispute, so it is cancelled
by the state moving on, never by hand. The API, the docs' state table and the tests all
read these tables. Opening a dispute (R5–R8, R26) and checking an action's details are here
too: they are the dispute's, not the engine's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from ombuds.domain import commands as c
from ombuds.domain import effects as fx
from ombuds.domain import engine
from ombuds.domain.commands import Command
from ombuds.domain.disputes import Actor, Dispute, Proposal, Reason, Resolution, ReturnCondition
from ombuds.domain.disputes import DisputeState as S
from ombuds.domain.engine import Timer, Transition
from ombuds.domain.errors import Conflict, DeadlinePassed, DomainError, present
from ombuds.domain.events import DisputeClosed, Event, TimelineEntry
from ombuds.domain.identity import saved_id
from ombuds.domain.orders import Order, OrderLine
from ombuds.domain.policy import Policy
from ombuds.domain.text import written


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


BUYER = frozenset({Actor.buyer})
SELLER = frozenset({Actor.seller})
PARTIES = frozenset({Actor.buyer, Actor.seller})
ARBITER = frozenset({Actor.arbitrator, Actor.platform})
SYSTEM = frozenset({Actor.system})
CARRIER = frozenset({Actor.platform})
NOBODY: frozenset[Actor] = frozenset()  # told to nobody: staff matters (R15), seen in the queue
PARTIES_AND_ARBITERS = PARTIES | {Actor.arbitrator}  # the case reaches the arbitrators (R36)
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


def _arrived_as_sent(d: Dispute, actor: Actor, cmd: c.ConfirmReturn, p: Policy) -> bool:
    return cmd.condition is ReturnCondition.as_sent and d.agreed_resolution is not Resolution.replacement


def _arrived_not_as_sent(d: Dispute, actor: Actor, cmd: c.ConfirmReturn, p: Policy) -> bool:
    return cmd.condition is not ReturnCondition.as_sent


def _always(d: Dispute, actor: Actor, cmd: Command, p: Policy) -> bool:
    return True


T = Transition
TRANSITIONS: tuple[Transition, ...] = (
    # awaiting_seller: the seller's move (R12)
    T(S.awaiting_seller, Action.accept, SELLER, S.agreed, fx.adopt_proposal,
      command=c.Accept, details_optional=True, tell=PARTIES,
      rule="R12", doc="seller accepts the buyer's proposal"),
    T(S.awaiting_seller, Action.reject, SELLER, S.negotiating, fx.reject_proposal,
      command=c.Say, details_optional=True, tell=PARTIES,
      rule="R12", doc="seller rejects, with reasons"),
    T(S.awaiting_seller, Action.propose, SELLER, S.negotiating, fx.put_proposal,
      command=c.Propose, tell=PARTIES,
      rule="R12", doc="seller counter-proposes"),
    T(S.awaiting_seller, Action.amend, BUYER, S.awaiting_seller, fx.put_proposal,
      command=c.Propose, tell=PARTIES,
      rule="R13", doc="buyer changes what she asks for"),
    # negotiating (R13, R14)
    T(S.negotiating, Action.propose, PARTIES, S.negotiating, fx.put_proposal,
      command=c.Propose, tell=PARTIES,
      rule="R13", doc="either party makes a new proposal"),
    T(S.negotiating, Action.accept, PARTIES, S.agreed, fx.adopt_proposal, guard=_other_party_proposed,
      command=c.Accept, details_optional=True, tell=PARTIES,
      rule="R13", doc="the other party accepts the proposal on the table"),
    T(S.negotiating, Action.reject, PARTIES, S.negotiating, fx.reject_proposal, guard=_other_party_proposed,
      command=c.Say, details_optional=True, tell=PARTIES,
      rule="R13", doc="the other party rejects the proposal"),
    T(S.negotiating, Action.escalate, PARTIES, S.escalated, fx.start_arbitration, guard=_manual_escalation_on,
      tell=PARTIES_AND_ARBITERS,
      rule="R14", doc="a party escalates (only if the policy allows)"),
    # escalated (R15)
    T(S.escalated, Action.argue, PARTIES, S.escalated, fx.record_message,
      command=c.Say, details_optional=True, tell=PARTIES,
      rule="R15", doc="a party adds an argument"),
    T(S.escalated, Action.decide, ARBITER, S.decided, fx.record_verdict,
      command=c.Decide, tell=PARTIES,
      rule="R15", doc="the arbitrator issues a verdict"),
    # decided (R16)
    T(S.decided, Action.agree_verdict, PARTIES, S.agreed, fx.agree_and_adopt_verdict, guard=_not_replied,
      when=_other_replied, command=c.Say, details_optional=True, tell=PARTIES,
      rule="R16", doc="both parties agree: the verdict executes"),
    T(S.decided, Action.agree_verdict, PARTIES, S.decided, fx.agree_to_verdict, guard=_not_replied,
      when=_always, command=c.Say, details_optional=True, tell=PARTIES,
      rule="R16", doc="one party agrees; waiting for the other"),
    T(S.decided, Action.disagree_verdict, PARTIES, S.escalated, fx.appeal, guard=_appeal_possible,
      command=c.Say, details_optional=True, tell=PARTIES_AND_ARBITERS,
      rule="R16", doc="a disagreement sends the first verdict back (appeal); a final one offers none (R42)"),
    # agreed: transient, executes at once
    T(S.agreed, Action.execute, SYSTEM, S.awaiting_return, fx.nothing, when=_needs_return, tell=PARTIES,
      rule="R18", doc="a return is needed: the buyer ships it back"),
    T(S.agreed, Action.execute, SYSTEM, S.closed, fx.refund_agreed, when=_always, tell=PARTIES,
      rule="R1", doc="refund only: the refund is issued and the dispute closes"),
    # return (R18, R19, R29)
    T(S.awaiting_return, Action.ship_return, BUYER, S.return_in_transit, fx.record_return_shipment,
      command=c.Ship, tell=PARTIES,
      rule="R18", doc="buyer enters the return's tracking"),
    T(S.return_in_transit, Action.return_delivered, CARRIER, S.return_in_transit, fx.record_return_delivery,
      tell=PARTIES,
      rule="R18", doc="the carrier delivered the return"),
    T(S.return_in_transit, Action.confirm_return, SELLER, S.escalated, fx.dispute_condition,
      when=_arrived_not_as_sent, command=c.ConfirmReturn, tell=PARTIES_AND_ARBITERS,
      rule="R29", doc="the return arrived not as sent: arbitration"),
    T(S.return_in_transit, Action.confirm_return, SELLER, S.closed, fx.refund_returned,
      when=_arrived_as_sent, command=c.ConfirmReturn, tell=PARTIES,
      rule="R29", doc="the return arrived as sent: refund"),
    T(S.return_in_transit, Action.reship, SELLER, S.closed, fx.reship, guard=_is_replacement,
      command=c.Ship, tell=PARTIES,
      rule="R19", doc="the seller reships the replacement"),
    # R17: the buyer may withdraw at any time before the dispute closes
    *(T(state, Action.withdraw, BUYER, S.closed, fx.withdraw, tell=PARTIES, rule="R17", doc="buyer withdraws")
      for state in OPEN_STATES),
    # Timers fire these (see TIMERS)
    T(S.awaiting_seller, Action.seller_silence, SYSTEM, S.agreed, fx.silence_refunds_buyer, tell=PARTIES,
      rule="R12", doc="the seller stayed silent: refund without return"),
    T(S.negotiating, Action.negotiation_over, SYSTEM, S.escalated, fx.start_arbitration, tell=PARTIES_AND_ARBITERS,
      rule="R14", doc="no agreement in time: the platform escalates"),
    T(S.escalated, Action.review_target_passed, SYSTEM, S.escalated, fx.flag_review_target, tell=NOBODY,
      rule="R15", doc="the review target passed: arbitrators are told"),
    T(S.escalated, Action.review_limit_passed, SYSTEM, S.escalated, fx.flag_review_limit, tell=NOBODY,
      rule="R15", doc="the review limit passed: the operator is told"),
    T(S.decided, Action.reply_window_over, SYSTEM, S.agreed, fx.adopt_verdict, tell=PARTIES,
      rule="R16", doc="the reply window passed: the verdict executes"),
    T(S.awaiting_return, Action.return_not_shipped, SYSTEM, S.closed, fx.close_without_refund, tell=PARTIES,
      rule="R18", doc="no return shipped in time: closed without refund"),
    T(S.return_in_transit, Action.return_not_confirmed, SYSTEM, S.closed, fx.refund_returned, tell=PARTIES,
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
    by_shipping = present(d.return_shipped_at, "return_shipped_at") + p.days("return_confirm_after_shipping_days")
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

STATE_WORDS = {
    S.awaiting_seller: "waiting for the seller's answer",
    S.negotiating: "in negotiation",
    S.escalated: "with the platform's arbitrators",
    S.decided: "decided, waiting for the parties' replies",
    S.agreed: "agreed",
    S.awaiting_return: "waiting for the buyer to ship the return",
    S.return_in_transit: "waiting for the return to reach the seller",
    S.closed: "closed",
}


def validate_proposal(d: Dispute, actor: Actor, cmd: c.Propose) -> int:
    """R7, R8: a resolution the claim allows and an amount within what was paid."""
    if not d.received and cmd.resolution is not Resolution.refund_only:
        raise DomainError("return_impossible_not_received",
                          "The parcel was not received, so nothing can be returned: a full refund "
                          "without return is offered instead.", "resolution")
    amount = d.max_amount if cmd.amount is None else cmd.amount
    if not isinstance(amount, int) or amount < 0 or amount > d.max_amount:
        raise DomainError("amount_out_of_range",
                          f"The amount must be between 0 and {d.max_amount} (minor units), what was "
                          "paid for the units in dispute.", "amount", max_amount=d.max_amount)
    if amount == 0 and actor is Actor.buyer and cmd.resolution is not Resolution.replacement:
        raise DomainError("amount_out_of_range", "Ask for more than nothing.", "amount",
                          max_amount=d.max_amount)
    return amount


def _validate(d: Dispute, action: Action, actor: Actor, cmd: Command, p: Policy) -> Command:
    """The details of an action, checked once its row's command type matched."""
    if isinstance(cmd, (c.Propose, c.Say, c.Decide, c.ConfirmReturn)):  # a message of blanks is none
        cmd = dataclasses.replace(cmd, message=written(cmd.message))
    # Each action's row names its command type, and the engine matched it: the isinstance
    # checks below only tell the type checker what the row already guarantees.
    if action in (Action.propose, Action.amend) and isinstance(cmd, c.Propose):
        return c.Propose(cmd.resolution, validate_proposal(d, actor, cmd), cmd.message)
    if action is Action.accept and isinstance(cmd, c.Accept) and cmd.proposal_id != d.proposal.id:
        raise Conflict("proposal_changed", "The proposal you answered was replaced: read the one on "
                       "the table now and accept it by its id, if you agree to it.", "proposal_id",
                       proposal={**_proposal_details(d.proposal), "id": d.proposal.id}, version=d.version)
    if action in (Action.reject, Action.argue) and not (isinstance(cmd, c.Say) and cmd.message):
        raise DomainError("message_required", "Say why, in a few words.", "message")
    if action is Action.decide and isinstance(cmd, c.Decide) and not 0 <= cmd.refund_amount <= d.max_amount:
        raise DomainError("amount_out_of_range",
                          f"The refund must be between 0 and {d.max_amount} (minor units).",
                          "refund_amount", max_amount=d.max_amount)
    if action is Action.decide and isinstance(cmd, c.Decide) and cmd.return_required and not d.received:
        raise DomainError("return_impossible_not_received",
                          "The parcel was not received, so there is nothing to return.", "return_required")
    if (action in (Action.ship_return, Action.reship) and isinstance(cmd, c.Ship)
            and not (cmd.tracking_number or "").strip()):
        raise DomainError("tracking_required", "Enter the parcel's tracking number.", "tracking_number")
    return cmd


def _no_row_hint(d: Dispute, action: Action) -> str:
    if action is Action.confirm_return:
        return "This is a replacement: confirm by reshipping it with tracking."
    return f"'{action.value}' does not apply to this dispute now."


def _proposal_details(p: Proposal) -> dict:
    return {"by": p.by.value, "resolution": p.resolution.value, "amount": p.amount, "message": p.message}


def _details(d: Dispute, row: Transition, cmd: Command) -> dict:
    if row.action in (Action.propose, Action.amend):
        return _proposal_details(d.proposal)
    return engine.command_details(cmd)


def _event_data(d: Dispute, what: str, **extra: object) -> dict:
    return {"dispute_id": d.id, "order_id": d.order_id, "line_id": d.line_id,
            "buyer_id": d.buyer_id, "seller_id": d.seller_id, "state": d.state.value,
            "action": what, "outcome": d.outcome.value if d.outcome else None,
            "currency": d.currency, "max_amount": d.max_amount, "refunded_amount": d.refunded_amount,
            "proposal": {"by": d.proposal.by.value, "resolution": d.proposal.resolution.value,
                         "amount": d.proposal.amount},
            "deadline": d.deadline, "deadline_at": d.deadline_at.isoformat() if d.deadline_at else None,
            **extra}


def _reminder_data(d: Dispute, timer: Timer) -> dict:
    return _event_data(d, "reminder", remind=timer.reminded)


def _closed(d: Dispute, now: datetime) -> list[Event]:
    """The one typed event its settlement (refunds, payout, replacement) follows."""
    return [DisputeClosed.of(d.id or 0, _event_data(d, "closed"), now)]


DISPUTES = engine.Table(
    name="dispute", aggregate=Dispute, states=S, actions=Action, transitions=TRANSITIONS, timers=TIMERS,
    final=frozenset({S.closed}), state_words=STATE_WORDS.__getitem__, at_once={S.agreed: Action.execute},
    validate=_validate, details=_details, event_data=_event_data, reminder_data=_reminder_data,
    closing_events=_closed, no_row=_no_row_hint)

PERSON_ACTIONS = DISPUTES.person_actions
running_timer = engine.running_timer


def open_dispute(order: Order, line: OrderLine, cmd: c.OpenDispute, *, now: datetime,
                 policy: Policy, line_has_dispute: bool) -> Dispute:
    """R5–R8, R26: check the claim and open it, one dispute per line, ever."""
    if line_has_dispute:
        raise Conflict("line_already_disputed",
                       "This order line already has a dispute. A line can have only one dispute, "
                       "even after it was closed or withdrawn; you can file a complaint instead.",
                       "line_id", next_step="complaint")
    not_received = not cmd.received
    if not_received != (cmd.reason is Reason.not_received):
        raise DomainError("reason_contradicts_received",
                          "Choose 'not received' as the reason exactly when the parcel did not arrive.",
                          "reason")
    order.check_dispute_allowed(not_received=not_received, now=now, policy=policy)
    quantity = line.quantity if cmd.quantity is None else cmd.quantity
    if not 1 <= quantity <= line.quantity:
        raise DomainError("invalid_quantity",
                          f"Dispute between 1 and {line.quantity} units of this line.", "quantity")
    resolution = cmd.resolution or Resolution.refund_only
    if cmd.refund_to not in ("original_method", "platform_balance") or (
            cmd.refund_to == "platform_balance" and not policy.in_platform_balance_offered):
        raise DomainError("refund_destination_unavailable",
                          "Refunds go to the original payment method"
                          + (" or the in-platform balance." if policy.in_platform_balance_offered else "."),
                          "refund_to")
    d = Dispute(
        id=None, order_id=saved_id(order), line_id=saved_id(line),
        buyer_id=order.buyer_id, seller_id=order.seller_id, currency=order.currency, unit_price=line.unit_price,
        quantity=quantity, received=cmd.received, reason=cmd.reason,
        description=written(cmd.description), opened_at=now, refund_to=cmd.refund_to,
        proposal=Proposal(Actor.buyer, resolution, 0, written(cmd.description), now),
    )
    amount = validate_proposal(d, Actor.buyer, c.Propose(resolution, cmd.amount, cmd.description))
    d.proposal.amount = amount
    if not d.description:
        raise DomainError("description_required", "Describe what went wrong.", "description")
    engine.enter(d, S.awaiting_seller, now, policy)
    d.new_timeline.append(TimelineEntry(now, Actor.buyer, order.buyer_id, "open", "", d.state,
                                        None, None, _proposal_details(d.proposal)))
    d.new_events.append(Event("dispute.opened", "dispute", 0, _event_data(d, "open")))
    return d


def passed_deadline_error(d: Dispute, fired: list[str], passed_at: datetime) -> DeadlinePassed:
    return DeadlinePassed(
        fired[0], passed_at, d.state.value,
        f"The deadline '{fired[0]}' passed at {passed_at:%Y-%m-%d %H:%M} UTC; the dispute has "
        f"moved on and is now {STATE_WORDS[d.state]}.")
