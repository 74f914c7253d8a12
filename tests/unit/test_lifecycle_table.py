"""The dispute lifecycle table (DESIGN.md §3) is sound as data, before any dispute runs.

The API's allowed actions (R27), the docs and the engine all read this one table, so a
hole in it is a hole everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ombuds.domain import commands as c
from ombuds.domain import engine, lifecycle
from ombuds.domain.disputes import Actor, Reason, Resolution, ReturnCondition
from ombuds.domain.disputes import DisputeState as S
from ombuds.domain.errors import Conflict, DomainError, Forbidden
from ombuds.domain.lifecycle import (
    OPEN_STATES,
    PERSON_ACTIONS,
    TIMERS,
    TRANSITIONS,
    Action,
)
from ombuds.domain.orders import Order, OrderLine
from ombuds.domain.policy import DEFAULT_POLICY as P
from ombuds.domain.policy import Policy

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PEOPLE = (Actor.buyer, Actor.seller, Actor.arbitrator, Actor.platform)
SYSTEM_ACTIONS = frozenset(t.action for t in TRANSITIONS if Actor.system in t.actors)
NON_TERMINAL = tuple(s for s in S if s is not S.closed)


def shipped_order(*lines: tuple[int, int]) -> Order:
    order = Order(id=1, buyer_id=10, seller_id=20, currency="USD", payment_method="visa",
                  created_at=T0, lines=[OrderLine(i + 1, i + 1, f"Item {i + 1}", p, q)
                                        for i, (p, q) in enumerate(lines or ((1850, 2),))])
    order.ship(carrier="China Post", tracking_number="LP1CN", now=T0, policy=P)
    return order


def a_dispute(resolution: Resolution = Resolution.refund_only, amount: int | None = None, *,
              at: datetime = T0 + timedelta(days=1)):
    order = shipped_order()
    return lifecycle.open_dispute(
        order, order.lines[0],
        c.OpenDispute(order_id=1, line_id=1, received=True, reason=Reason.missing_items,
                      resolution=resolution, amount=amount, description="One dress is missing."),
        now=at, policy=P, line_has_dispute=False)


def in_state(state: S):
    """A dispute forced into ``state`` — enough for questions the table answers by state."""
    d = a_dispute()
    d.state = state
    return d


def rows(state: S, action: Action | None = None):
    return [t for t in TRANSITIONS if t.state is state and (action is None or t.action is action)]


# R17 --------------------------------------------------------------------------------------

@pytest.mark.parametrize("state", OPEN_STATES)
def test_R17_buyer_may_withdraw_in_every_open_state(state):
    withdraw = rows(state, Action.withdraw)
    assert len(withdraw) == 1
    assert withdraw[0].actors == {Actor.buyer}
    assert withdraw[0].to is S.closed and withdraw[0].guard is None and withdraw[0].when is None


def test_R17_the_open_states_are_every_state_but_closed_and_the_transient_agreed():
    assert set(OPEN_STATES) == set(S) - {S.closed, S.agreed}


def test_R5_R17_a_closed_dispute_has_no_way_out():
    assert rows(S.closed) == []
    assert not any(t.state is S.closed for t in TIMERS)


@pytest.mark.parametrize("actor", [*PEOPLE, Actor.system])
def test_R5_nobody_may_act_on_a_closed_dispute(actor):
    assert engine.allowed_actions(in_state(S.closed), actor, P) == []


# Timers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("state", OPEN_STATES)
def test_every_open_state_has_a_timer(state):
    assert [t for t in TIMERS if t.state is state], f"{state} would wait forever"


def test_closed_and_agreed_have_no_timer():
    assert not [t for t in TIMERS if t.state in (S.closed, S.agreed)]


@pytest.mark.parametrize("timer", TIMERS, ids=lambda t: t.deadline)
def test_every_timer_fires_a_system_row_of_its_own_state(timer):
    fired = rows(timer.state, timer.action)
    assert fired, f"timer {timer.deadline} has no row to fire"
    assert all(t.actors == {Actor.system} for t in fired)


def test_timer_deadline_names_are_unique():
    names = [t.deadline for t in TIMERS]
    assert len(names) == len(set(names))


def test_every_row_and_timer_cites_its_rule():
    assert all(t.rule.startswith("R") for t in TRANSITIONS)
    assert all(t.rule.startswith("R") for t in TIMERS)


@pytest.mark.parametrize("timer", [t for t in TIMERS if t.against is not None], ids=lambda t: t.deadline)
def test_R28_a_timer_deciding_against_a_party_names_a_person(timer):
    assert timer.against in (Actor.buyer, Actor.seller)


# System versus people -------------------------------------------------------------------

def test_system_rows_are_for_the_system_alone():
    for t in TRANSITIONS:
        if Actor.system in t.actors:
            assert t.actors == {Actor.system}, t


def test_no_action_is_both_a_person_action_and_a_system_action():
    person_actions = {t.action for t in TRANSITIONS if Actor.system not in t.actors}
    assert person_actions.isdisjoint(SYSTEM_ACTIONS)
    assert set(PERSON_ACTIONS) == set(Action) - SYSTEM_ACTIONS


@pytest.mark.parametrize("state", NON_TERMINAL)
def test_no_person_row_is_reachable_by_the_system_actor(state):
    for action in {t.action for t in rows(state) if Actor.system not in t.actors}:
        d = in_state(state)
        with pytest.raises(Forbidden):
            engine.act(d, action, Actor.system, None, None, now=T0 + timedelta(days=2), policy=P)
        assert d.state is state


@pytest.mark.parametrize("state", NON_TERMINAL)
@pytest.mark.parametrize("actor", PEOPLE)
def test_no_person_may_fire_a_timers_row(state, actor):
    for action in {t.action for t in rows(state) if Actor.system in t.actors}:
        d = in_state(state)
        with pytest.raises(Forbidden):
            engine.act(d, action, actor, 10, None, now=T0 + timedelta(days=2), policy=P)
        assert d.state is state


@pytest.mark.parametrize("policy", [P, Policy(manual_escalation=True)], ids=["default", "manual_escalation"])
@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("actor", [*PEOPLE, Actor.system])
def test_R27_allowed_actions_never_lists_a_system_action(state, actor, policy):
    allowed = engine.allowed_actions(in_state(state), actor, policy)
    assert not set(allowed) & SYSTEM_ACTIONS
    if actor is Actor.system:
        assert allowed == []


@pytest.mark.parametrize("state", OPEN_STATES)
def test_R27_the_buyer_is_always_shown_withdraw_while_the_dispute_is_open(state):
    assert Action.withdraw in engine.allowed_actions(in_state(state), Actor.buyer, P)


def test_R14_escalation_by_hand_is_shown_only_when_the_operator_turns_it_on():
    d = in_state(S.negotiating)
    assert Action.escalate not in engine.allowed_actions(d, Actor.buyer, P)
    assert Action.escalate in engine.allowed_actions(d, Actor.buyer, Policy(manual_escalation=True))


# Graph ----------------------------------------------------------------------------------------

def _successors(state: S) -> set[S]:
    return {t.to for t in rows(state)}


def test_every_state_is_reachable_from_a_new_dispute():
    seen, todo = {S.awaiting_seller}, [S.awaiting_seller]
    while todo:
        for nxt in _successors(todo.pop()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert seen == set(S)


@pytest.mark.parametrize("state", NON_TERMINAL)
def test_every_state_can_still_reach_closed(state):
    seen, todo = {state}, [state]
    while todo:
        for nxt in _successors(todo.pop()) - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert S.closed in seen


def test_agreed_is_left_only_by_the_system_executing_it():
    out = rows(S.agreed)
    assert out and all(t.action is Action.execute and t.actors == {Actor.system} for t in out)
    assert out[-1].when is not None and out[-1].when(in_state(S.agreed), Actor.system, None, P)
    assert {t.to for t in out} == {S.awaiting_return, S.closed}


# agreed is transient: every way into it ends elsewhere ------------------------------------

def _negotiating(resolution: Resolution = Resolution.refund_only):
    d = a_dispute(resolution)
    engine.act(d, Action.reject, Actor.seller, 20, c.Say("It was all in the parcel."),
               now=T0 + timedelta(days=2), policy=P)
    return d


def _decided(refund: int, return_required: bool = False):
    d = _negotiating()
    engine.fire_due(d, now=T0 + timedelta(days=30), policy=P)
    assert d.state is S.escalated
    engine.act(d, Action.decide, Actor.arbitrator, 30,
               c.Decide(refund_amount=refund, return_required=return_required, message="Half."),
               now=T0 + timedelta(days=31), policy=P)
    assert d.state is S.decided
    return d


def _seller_accepts(resolution):
    d = a_dispute(resolution)
    engine.act(d, Action.accept, Actor.seller, 20, None, now=T0 + timedelta(days=2), policy=P)
    return d


def _buyer_accepts_counter_offer():
    d = _negotiating()
    engine.act(d, Action.propose, Actor.seller, 20, c.Propose(Resolution.refund_only, 500, "Half?"),
               now=T0 + timedelta(days=3), policy=P)
    engine.act(d, Action.accept, Actor.buyer, 10, None, now=T0 + timedelta(days=3), policy=P)
    return d


def _seller_silence():
    d = a_dispute(Resolution.return_and_refund)
    engine.fire_due(d, now=T0 + timedelta(days=10), policy=P)
    return d


def _both_agree_with_the_verdict():
    d = _decided(900)
    engine.act(d, Action.agree_verdict, Actor.buyer, 10, None, now=T0 + timedelta(days=32), policy=P)
    engine.act(d, Action.agree_verdict, Actor.seller, 20, None, now=T0 + timedelta(days=32), policy=P)
    return d


def _reply_window_passes():
    d = _decided(900, return_required=True)
    engine.fire_due(d, now=T0 + timedelta(days=40), policy=P)
    return d


def _final_verdict_disagreed():
    d = _decided(900)
    engine.act(d, Action.disagree_verdict, Actor.seller, 20, None, now=T0 + timedelta(days=32), policy=P)
    assert d.state is S.escalated  # the one appeal (R16)
    engine.act(d, Action.decide, Actor.arbitrator, 30, c.Decide(refund_amount=1000),
               now=T0 + timedelta(days=33), policy=P)
    with pytest.raises(Conflict) as final:  # R42: a final verdict offers no "disagree"
        engine.act(d, Action.disagree_verdict, Actor.seller, 20, None, now=T0 + timedelta(days=34), policy=P)
    assert final.value.code == "verdict_final"
    engine.act(d, Action.agree_verdict, Actor.seller, 20, None, now=T0 + timedelta(days=34), policy=P)
    engine.act(d, Action.agree_verdict, Actor.buyer, 10, None, now=T0 + timedelta(days=34), policy=P)
    return d


@pytest.mark.parametrize("way_in, ends_in", [
    (lambda: _seller_accepts(Resolution.refund_only), S.closed),
    (lambda: _seller_accepts(Resolution.return_and_refund), S.awaiting_return),
    (lambda: _seller_accepts(Resolution.replacement), S.awaiting_return),
    (_buyer_accepts_counter_offer, S.closed),
    (_seller_silence, S.closed),
    (_both_agree_with_the_verdict, S.closed),
    (_reply_window_passes, S.awaiting_return),
    (_final_verdict_disagreed, S.closed),
], ids=["R12_accept_refund", "R12_accept_return", "R12_accept_replacement", "R13_accept_counter",
        "R12_silence", "R16_both_agree", "R16_reply_window", "R16_final_verdict"])
def test_agreed_is_transient_every_way_in_ends_elsewhere(way_in, ends_in):
    d = way_in()
    assert d.state is ends_in
    assert S.agreed.value in [e.to_state for e in d.new_timeline]  # it did pass through agreed
    assert d.new_timeline[-1].from_state == S.agreed.value
    assert d.new_timeline[-1].to_state == ends_in.value


def test_R29_a_return_arriving_not_as_sent_goes_back_to_arbitration():
    d = _seller_accepts(Resolution.return_and_refund)
    engine.act(d, Action.ship_return, Actor.buyer, 10, c.Ship("China Post", "RR1CN"),
               now=T0 + timedelta(days=3), policy=P)
    engine.act(d, Action.confirm_return, Actor.seller, 20, c.ConfirmReturn(ReturnCondition.empty_parcel),
               now=T0 + timedelta(days=20), policy=P)
    assert d.state is S.escalated and d.deadline == "review_target"


def test_refused_actions_are_domain_errors_not_crashes():
    d = a_dispute()
    for action in PERSON_ACTIONS:
        for actor in PEOPLE:
            if action in engine.allowed_actions(d, actor, P):
                continue
            with pytest.raises(DomainError):
                engine.act(d, action, actor, 10, None, now=T0 + timedelta(days=2), policy=P)
    assert d.state is S.awaiting_seller and len(d.new_timeline) == 1
