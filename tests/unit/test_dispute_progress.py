"""The dispute page's stepper is read from the lifecycle table (web/progress.py)."""

from __future__ import annotations

from ombuds.domain.disputes import DisputeState
from ombuds.web.progress import STEPS, ordered_steps, progress, states_in_table


def test_every_state_of_the_lifecycle_table_belongs_to_exactly_one_step():
    gathered = [state for _, _, states in STEPS for state in states]
    assert sorted(gathered) == sorted(set(gathered)), "a state in two steps"
    assert set(gathered) == states_in_table() == set(DisputeState)


def test_the_steps_follow_the_order_of_the_table():
    assert [name for name, _, _ in ordered_steps()] == ["seller_answers", "negotiation", "platform_decides",
                                                        "refund"]


def statuses(*args) -> list[tuple[str, str]]:
    return [(s.name, s.status) for s in progress(*args)]


def test_a_new_dispute_waits_for_the_seller_with_everything_ahead():
    assert statuses("awaiting_seller", None, ["awaiting_seller"]) == [
        ("opened", "done"), ("seller_answers", "current"), ("negotiation", "next"),
        ("platform_decides", "next"), ("refund", "next")]


def test_a_seller_who_accepts_at_once_skips_negotiation_and_the_platform():
    steps = progress("closed", "refunded_full", ["awaiting_seller", "agreed", "closed"])
    assert [(s.name, s.status) for s in steps] == [
        ("opened", "done"), ("seller_answers", "done"), ("negotiation", "skipped"),
        ("platform_decides", "skipped"), ("refund", "done")]
    assert steps[-1].label == "Refunded"


def test_an_escalated_dispute_is_with_the_platform_and_a_withdrawn_one_says_so():
    assert statuses("escalated", None, ["awaiting_seller", "negotiating", "escalated"])[2:] == [
        ("negotiation", "done"), ("platform_decides", "current"), ("refund", "next")]
    withdrawn = progress("closed", "withdrawn", ["awaiting_seller", "negotiating", "closed"])
    assert [(s.status, s.label) for s in withdrawn[3:]] == [("skipped", "The platform decides"), ("done", "Withdrawn")]
