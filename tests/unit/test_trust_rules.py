"""Trust's rules as plain functions (R21, R22, R24): no database, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ombuds import trust_doc
from ombuds.domain import complaints
from ombuds.domain.disputes import Actor
from ombuds.domain.policy import DEFAULT_POLICY
from ombuds.domain.rating import DisputeFacts, Loss, loss, rate
from ombuds.domain.risk import BuyerDispute, signals

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TRUST_DOC = Path(__file__).resolve().parents[2] / "docs" / "trust.md"


def facts(i: int, outcome: str | None = "refunded_full", *, responded: bool = False,
          verdict: bool = False, escalated: bool = False) -> DisputeFacts:
    opened = NOW - 10 * DAY
    return DisputeFacts(i, order_id=i, buyer_id=1, opened_at=opened,
                        closed_at=None if outcome is None else NOW - DAY, outcome=outcome,
                        first_seller_response_at=opened + DAY if responded else None,
                        escalated_at=opened + 2 * DAY if escalated or verdict else None,
                        verdict_at=opened + 3 * DAY if verdict else None)


@pytest.mark.parametrize("dispute, expected", [
    (facts(1), Loss.seller_silence),
    (facts(2, "refunded_partial", responded=True, verdict=True), Loss.verdict),
    (facts(3, responded=True), None),  # the seller accepted: a settlement
    (facts(4, "withdrawn"), None),
    (facts(5, "no_refund", responded=True, verdict=True), None),
    (facts(6, "replaced", responded=True), None),
    (facts(7, None), None),  # still open
])
def test_R21_a_dispute_is_lost_only_to_silence_or_a_verdict_that_refunds(dispute, expected):
    assert loss(dispute) is expected


@pytest.mark.parametrize("lost, flagged", [(4, False), (5, False), (6, True)])
def test_R21_the_flag_is_strictly_above_5_percent_of_orders(lost, flagged):
    r = rate(7, orders=100, disputes=[facts(i) for i in range(lost)], now=NOW, policy=DEFAULT_POLICY)
    assert (r.lost_orders, r.over_threshold) == (lost, flagged)


def test_R21_disputes_closed_before_the_window_do_not_count():
    old = DisputeFacts(1, 1, 1, NOW - 120 * DAY, NOW - 95 * DAY, "refunded_full", None, None, None)
    r = rate(7, orders=10, disputes=[old], now=NOW, policy=DEFAULT_POLICY)
    assert (r.disputes_opened, r.disputes_closed, r.disputes_lost) == (0, 0, 0)


def test_R22_wins_by_silence_are_a_signal_with_their_numbers():
    wins = [BuyerDispute(i, i, NOW - 9 * DAY, NOW - 4 * DAY, "refunded_full", None, 1) for i in range(3)]
    found = {s.code: s for s in signals(orders=3, disputes=wins, reused=[], since=NOW - 90 * DAY, now=NOW,
                                        evidence_available=True)}
    assert (found["won_by_seller_silence"].count, found["won_by_seller_silence"].of) == (3, 3)
    assert found["won_by_seller_silence"].raised and not found["without_evidence"].raised


def test_R24_every_person_action_of_the_complaint_table_is_offered_somewhere():
    c = complaints.Complaint(None, 1, 2, 3, None, complaints.About.seller, "Broken.", "USD", NOW)
    offered = set(complaints.allowed_actions(c, Actor.arbitrator)) | set(complaints.allowed_actions(c, Actor.buyer))
    c.state = complaints.ComplaintState.answered
    offered |= set(complaints.allowed_actions(c, Actor.arbitrator)) | set(complaints.allowed_actions(c, Actor.buyer))
    people = {t.action for t in complaints.TRANSITIONS if Actor.system not in t.actors}
    assert offered == people


def test_R24_the_docs_show_the_complaint_table_as_the_code_has_it():
    assert trust_doc.section() in TRUST_DOC.read_text()
