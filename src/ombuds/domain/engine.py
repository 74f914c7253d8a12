"""Runs the lifecycle table: opens disputes, applies actions and due timers, answers R27.

Every applied transition appends one timeline entry (R25) and one event (for the outbox),
and recomputes the single running deadline from the table's timers.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import datetime

from ombuds.domain import commands as c
from ombuds.domain.disputes import Actor, Dispute, DisputeState, Proposal, Reason, Resolution
from ombuds.domain.errors import Conflict, DeadlinePassed, DomainError, Forbidden
from ombuds.domain.events import DisputeClosed, Event, TimelineEntry
from ombuds.domain.lifecycle import TIMERS, TRANSITIONS, Action, Transition, running_timer
from ombuds.domain.orders import Order, OrderLine
from ombuds.domain.policy import Policy
from ombuds.domain.text import written

STATE_WORDS = {
    DisputeState.awaiting_seller: "waiting for the seller's answer",
    DisputeState.negotiating: "in negotiation",
    DisputeState.escalated: "with the platform's arbitrators",
    DisputeState.decided: "decided, waiting for the parties' replies",
    DisputeState.agreed: "agreed",
    DisputeState.awaiting_return: "waiting for the buyer to ship the return",
    DisputeState.return_in_transit: "waiting for the return to reach the seller",
    DisputeState.closed: "closed",
}


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
        id=None, order_id=order.id, line_id=line.id, buyer_id=order.buyer_id,
        seller_id=order.seller_id, currency=order.currency, unit_price=line.unit_price,
        quantity=quantity, received=cmd.received, reason=cmd.reason,
        description=written(cmd.description), opened_at=now, refund_to=cmd.refund_to,
        proposal=Proposal(Actor.buyer, resolution, 0, written(cmd.description), now),
    )
    amount = validate_proposal(d, Actor.buyer, c.Propose(resolution, cmd.amount, cmd.description))
    d.proposal.amount = amount
    if not d.description:
        raise DomainError("description_required", "Describe what went wrong.", "description")
    _enter(d, DisputeState.awaiting_seller, now, policy)
    d.new_timeline.append(TimelineEntry(now, Actor.buyer, order.buyer_id, "open", "", d.state,
                                        None, None, _proposal_details(d.proposal)))
    d.new_events.append(Event("dispute.opened", "dispute", 0, _event_data(d, "open")))
    return d


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


_COMMAND_FOR = {
    Action.amend: c.Propose, Action.propose: c.Propose, Action.decide: c.Decide,
    Action.ship_return: c.Ship, Action.reship: c.Ship, Action.confirm_return: c.ConfirmReturn,
}


def _validate(d: Dispute, action: Action, actor: Actor, cmd: c.Command) -> c.Command:
    expected = _COMMAND_FOR.get(action)
    if expected is not None and not isinstance(cmd, expected):
        raise DomainError("details_required", f"'{action.value}' needs its details.", None)
    if isinstance(cmd, (c.Propose, c.Say, c.Decide, c.ConfirmReturn)):  # a message of blanks is none
        cmd = dataclasses.replace(cmd, message=written(cmd.message))
    if action in (Action.propose, Action.amend):
        return c.Propose(cmd.resolution, validate_proposal(d, actor, cmd), cmd.message)
    if action is Action.accept and isinstance(cmd, c.Accept) and cmd.proposal_id != d.proposal.id:
        raise Conflict("proposal_changed", "The proposal you answered was replaced: read the one on "
                       "the table now and accept it by its id, if you agree to it.", "proposal_id",
                       proposal={**_proposal_details(d.proposal), "id": d.proposal.id}, version=d.version)
    if action in (Action.reject, Action.argue) and not (cmd and cmd.message):
        raise DomainError("message_required", "Say why, in a few words.", "message")
    if action is Action.decide and not 0 <= cmd.refund_amount <= d.max_amount:
        raise DomainError("amount_out_of_range",
                          f"The refund must be between 0 and {d.max_amount} (minor units).",
                          "refund_amount", max_amount=d.max_amount)
    if action is Action.decide and cmd.return_required and not d.received:
        raise DomainError("return_impossible_not_received",
                          "The parcel was not received, so there is nothing to return.", "return_required")
    if action in (Action.ship_return, Action.reship) and not (cmd.tracking_number or "").strip():
        raise DomainError("tracking_required", "Enter the parcel's tracking number.", "tracking_number")
    return cmd


def rows_for(d: Dispute, action: Action) -> list[Transition]:
    return [t for t in TRANSITIONS if t.state is d.state and t.action is action]


def check_may_ever(action: Action, actor: Actor) -> None:
    """Permissions before state: an actor whom no row of the table lets take this action (the
    arbitrator accepting for the seller, the marketplace without On-Behalf-Of, a party
    reporting a carrier delivery) is refused 403, whatever state the dispute is in."""
    if actor is not Actor.system and not any(t.action is action and actor in t.actors for t in TRANSITIONS):
        raise Forbidden("not_your_action",
                        f"As the {actor.value} you cannot {action.value.replace('_', ' ')} a dispute.")


def act(d: Dispute, action: Action, actor: Actor, actor_id: int | None, cmd: c.Command, *,
        now: datetime, policy: Policy) -> None:
    """Apply one action of the table, or raise why it cannot be applied."""
    check_may_ever(action, actor)
    rows = rows_for(d, action)
    if not rows:
        raise Conflict("action_not_allowed",
                       f"'{action.value.replace('_', ' ')}' is not possible now: the dispute is "
                       f"{STATE_WORDS[d.state]}.", None, state=d.state.value,
                       allowed_actions=[a.value for a in allowed_actions(d, actor, policy)])
    rows = [t for t in rows if actor in t.actors]
    if not rows:
        raise Forbidden("not_your_action",
                        f"As the {actor.value} you cannot {action.value.replace('_', ' ')} this dispute.")
    why_not = rows[0].guard(d, actor, policy) if rows[0].guard else None
    if isinstance(why_not, DomainError):
        raise why_not
    if why_not:
        raise Conflict("action_not_allowed", why_not, None, state=d.state.value)
    cmd = _validate(d, action, actor, cmd)
    row = next((t for t in rows if t.when is None or t.when(d, actor, cmd, policy)), None)
    if row is None:
        raise Conflict("action_not_allowed", _no_row_hint(d, action), None, state=d.state.value)
    _apply(d, row, actor, actor_id, cmd, now, policy)
    if d.state is DisputeState.agreed:
        act(d, Action.execute, Actor.system, None, None, now=now, policy=policy)


def _apply(d: Dispute, row: Transition, actor: Actor, actor_id: int | None, cmd: c.Command,
           now: datetime, policy: Policy) -> None:
    before, deadline, deadline_at = d.state, d.deadline, d.deadline_at
    row.effect(d, actor, cmd, now, policy)
    _enter(d, row.to, now, policy)
    details = _command_details(cmd)
    if row.action in (Action.propose, Action.amend):
        details = _proposal_details(d.proposal)
    d.new_timeline.append(TimelineEntry(now, actor, actor_id, row.action, before, d.state,
                                        deadline, deadline_at, details))
    d.new_events.append(Event(f"dispute.{row.action.value}", "dispute", d.id or 0,
                              _event_data(d, row.action.value, from_state=before.value), now))
    if d.state is DisputeState.closed:
        d.new_events.append(DisputeClosed.of(d.id or 0, _event_data(d, "closed"), now))


def _enter(d: Dispute, state: DisputeState, now: datetime, policy: Policy) -> None:
    if state is not d.state or d.state_entered_at is None:
        d.state, d.state_entered_at = state, now
    running = running_timer(d, policy) if d.state is not DisputeState.agreed else None
    d.deadline, d.deadline_at = (running[0].deadline, running[1]) if running else (None, None)
    d.reminder_at = None
    if running and running[0].against and d.reminded_deadline_at != d.deadline_at and d.deadline_at > now:
        d.reminder_at = max(d.deadline_at - policy.reminder_lead, now)  # R28


def _remind(d: Dispute) -> None:
    """R28: tell the party a deadline is about to decide against them; once per deadline."""
    timer = next(t for t in TIMERS if t.state is d.state and t.deadline == d.deadline)
    at = d.reminder_at
    d.reminder_at, d.reminded_deadline_at = None, d.deadline_at
    d.new_timeline.append(TimelineEntry(at, Actor.system, None, "reminder", d.state, d.state,
                                        d.deadline, d.deadline_at, {"to": timer.against.value}))
    d.new_events.append(Event("dispute.deadline_reminder", "dispute", d.id or 0,
                              _event_data(d, "reminder", remind=timer.against.value), at))


def fire_due(d: Dispute, *, now: datetime, policy: Policy) -> list[str]:
    """Apply every reminder and timer of this dispute due by ``now``, each at its own time,
    in order. Returns the deadlines that fired (reminders are not deadlines)."""
    fired = []
    while d.is_open and d.due_at is not None and d.due_at <= now:
        if d.reminder_at is not None and d.reminder_at <= d.deadline_at:
            _remind(d)
            continue
        timer = next(t for t in TIMERS if t.state is d.state and t.deadline == d.deadline)
        fired.append(timer.deadline)
        act(d, timer.action, Actor.system, None, None, now=d.deadline_at, policy=policy)
    return fired


def as_of(d: Dispute, *, now: datetime, policy: Policy) -> Dispute:
    """The dispute as it stands at ``now``: deadlines that passed but were not swept yet are
    applied to a copy, so what a reader sees (state, allowed actions) is never stale."""
    if d.deadline_at is None or d.deadline_at > now:
        return d
    projected = copy.deepcopy(d)
    fire_due(projected, now=now, policy=policy)
    return projected


def passed_deadline_error(d: Dispute, fired: list[str], passed_at: datetime) -> DeadlinePassed:
    return DeadlinePassed(
        fired[0], passed_at, d.state.value,
        f"The deadline '{fired[0]}' passed at {passed_at:%Y-%m-%d %H:%M} UTC; the dispute has "
        f"moved on and is now {STATE_WORDS[d.state]}.")


def allowed_actions(d: Dispute, actor: Actor, policy: Policy) -> list[Action]:
    """R27: what this caller may do now, read from the table."""
    found: list[Action] = []
    for t in TRANSITIONS:
        if (t.state is d.state and actor in t.actors and Actor.system not in t.actors
                and t.action not in found and (t.guard is None or t.guard(d, actor, policy) is None)):
            found.append(t.action)
    return found


def _no_row_hint(d: Dispute, action: Action) -> str:
    if action is Action.confirm_return:
        return "This is a replacement: confirm by reshipping it with tracking."
    return f"'{action.value}' does not apply to this dispute now."


def _proposal_details(p: Proposal) -> dict:
    return {"by": p.by.value, "resolution": p.resolution.value, "amount": p.amount, "message": p.message}


def _command_details(cmd: c.Command) -> dict:
    if cmd is None:
        return {}
    return {k: (v.value if hasattr(v, "value") else v) for k, v in
            ((f, getattr(cmd, f)) for f in cmd.__slots__)}


def _event_data(d: Dispute, what: str, **extra: object) -> dict:
    return {"dispute_id": d.id, "order_id": d.order_id, "line_id": d.line_id,
            "buyer_id": d.buyer_id, "seller_id": d.seller_id, "state": d.state.value,
            "action": what, "outcome": d.outcome.value if d.outcome else None,
            "currency": d.currency, "max_amount": d.max_amount, "refunded_amount": d.refunded_amount,
            "proposal": {"by": d.proposal.by.value, "resolution": d.proposal.resolution.value,
                         "amount": d.proposal.amount},
            "deadline": d.deadline, "deadline_at": d.deadline_at.isoformat() if d.deadline_at else None,
            **extra}
