"""The dispute rules over the HTTP API, from opening to the end of negotiation: one dispute
per line (R5), the form and its amounts (R7), "not received" (R8), the seller's deadline
(R12), proposals (R13), escalation by the platform (R14) and withdrawal (R17).

Every test runs on SQLite and on PostgreSQL, with the manual clock starting at ``T0``;
``market.advance`` runs every deadline that falls due on the way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import T0

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def at(iso: str | None) -> datetime | None:
    return None if iso is None else datetime.fromisoformat(iso)


def escalated_dispute(market, buyer, seller, order) -> dict:
    """A dispute the parties could not settle: the platform escalated it (R14)."""
    dispute = market.open_dispute(buyer, order)
    seller.reject(dispute["id"])
    market.advance("7d")
    dispute = buyer.dispute(dispute["id"])
    assert dispute["state"] == "escalated"
    return dispute


# R5 — one dispute per order line, ever ------------------------------------------------------

def test_R5_a_second_dispute_on_a_line_with_an_open_dispute_is_refused(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (1850, 1)])
    first = market.open_dispute(buyer, order, line=0)

    refused = market.open_dispute(buyer, order, line=0, reason="damaged", expect=409).json()

    assert refused["code"] == "line_already_disputed" and refused["field"] == "line_id"
    assert buyer.order(order["id"])["lines"][0]["dispute_id"] == first["id"]
    assert buyer.dispute(first["id"])["state"] == "awaiting_seller"


def test_R5_a_line_whose_dispute_was_withdrawn_cannot_be_disputed_again(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    buyer.withdraw(dispute["id"])

    refused = market.open_dispute(buyer, order, expect=409).json()

    assert refused["code"] == "line_already_disputed"
    assert "complaint" in refused["message"]


def test_R5_a_line_whose_dispute_closed_cannot_be_disputed_again(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1)])
    dispute = market.open_dispute(buyer, order, amount=500)
    market.advance("5d")
    assert buyer.dispute(dispute["id"])["outcome"] == "refunded_partial"

    refused = market.open_dispute(buyer, order, amount=1350, expect=409).json()

    assert refused["code"] == "line_already_disputed"
    assert market.refunded(order) == {order["lines"][0]["id"]: 500}


def test_R5_another_line_of_the_same_order_can_still_be_disputed(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (1850, 1), (600, 1)])
    dress = market.open_dispute(buyer, order, line=0)

    case = market.open_dispute(buyer, order, line=2, reason="damaged")

    assert case["state"] == "awaiting_seller" and case["line_id"] == order["lines"][2]["id"]
    lines = buyer.order(order["id"])["lines"]
    assert [line["dispute_id"] for line in lines] == [dress["id"], None, case["id"]]


def test_R5_a_dispute_may_cover_some_units_of_a_line(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1000, 5)])

    dispute = market.open_dispute(buyer, order, quantity=3)

    assert dispute["quantity"] == 3 and dispute["max_amount"] == 3000
    assert dispute["proposal"]["amount"] == 3000
    market.advance("5d")
    assert market.refunded(order) == {order["lines"][0]["id"]: 3000}


def test_R5_the_remaining_units_of_a_disputed_line_cannot_get_a_dispute_of_their_own(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1000, 5)])
    market.open_dispute(buyer, order, quantity=3)

    refused = market.open_dispute(buyer, order, quantity=2, reason="damaged", expect=409).json()

    assert refused["code"] == "line_already_disputed"


def test_R5_the_disputed_quantity_cannot_exceed_the_line(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1000, 5)])

    refused = market.open_dispute(buyer, order, quantity=6, expect=422).json()

    assert refused["code"] == "invalid_quantity" and refused["field"] == "quantity"
    assert buyer.order(order["id"])["lines"][0]["dispute_id"] is None


# R7 — the form: reasons, resolutions, an amount never above what was paid -------------------

def test_R7_every_reason_of_the_form_can_be_chosen(market):
    buyer, seller = market.buyer(), market.seller()
    received_reasons = ["missing_items", "wrong_item", "not_as_described", "damaged", "counterfeit", "other"]
    order = market.order(buyer, seller, [(1000, 1)] * (len(received_reasons) + 1))
    market.advance("10d")

    opened = [market.open_dispute(buyer, order, line=i, reason=reason)
              for i, reason in enumerate(received_reasons)]
    opened.append(market.open_dispute(buyer, order, line=len(received_reasons), received=False,
                                      reason="not_received"))

    assert [d["reason"] for d in opened] == [*received_reasons, "not_received"]
    assert [d["received"] for d in opened] == [True] * len(received_reasons) + [False]


def test_R7_every_resolution_of_the_form_can_be_asked_for(market):
    buyer, seller = market.buyer(), market.seller()
    resolutions = ["refund_only", "return_and_refund", "replacement"]
    order = market.order(buyer, seller, [(1000, 1)] * len(resolutions))

    opened = [market.open_dispute(buyer, order, line=i, reason="wrong_item", resolution=resolution)
              for i, resolution in enumerate(resolutions)]

    assert [d["proposal"]["resolution"] for d in opened] == resolutions
    assert all(d["proposal"]["by"] == "buyer" for d in opened)


def test_R7_without_a_resolution_or_amount_the_buyer_asks_a_full_refund(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 2)])

    dispute = market.open_dispute(buyer, order, resolution=None)

    assert dispute["proposal"]["resolution"] == "refund_only"
    assert dispute["proposal"]["amount"] == 3700 == dispute["max_amount"]


def test_R7_an_unknown_reason_is_refused(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)

    refused = market.open_dispute(buyer, order, reason="changed_my_mind", expect=422).json()

    assert refused["field"] == "reason"


def test_R7_the_reason_must_agree_with_whether_the_parcel_was_received(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    market.advance("10d")

    refused = market.open_dispute(buyer, order, received=False, reason="damaged", expect=422).json()

    assert refused["code"] == "reason_contradicts_received" and refused["field"] == "reason"


def test_R7_an_amount_above_what_was_paid_for_the_line_is_refused(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1)])

    refused = market.open_dispute(buyer, order, amount=1851, expect=422).json()

    assert refused["code"] == "amount_out_of_range" and refused["field"] == "amount"
    assert refused["max_amount"] == 1850
    assert buyer.order(order["id"])["lines"][0]["dispute_id"] is None


def test_R7_the_amount_is_capped_by_the_units_in_dispute_not_the_whole_line(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1000, 5)])

    refused = market.open_dispute(buyer, order, quantity=2, amount=2001, expect=422).json()
    assert refused["code"] == "amount_out_of_range" and refused["max_amount"] == 2000

    dispute = market.open_dispute(buyer, order, quantity=2, amount=2000)
    assert dispute["proposal"]["amount"] == 2000


def test_R7_a_partial_amount_is_accepted_and_refunded_as_asked(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1)])

    dispute = market.open_dispute(buyer, order, reason="damaged", amount=700)
    assert dispute["proposal"]["amount"] == 700
    market.advance("5d")

    closed = buyer.dispute(dispute["id"])
    assert closed["outcome"] == "refunded_partial" and closed["refunded_amount"] == 700
    assert market.refunded(order) == {order["lines"][0]["id"]: 700}


def test_R7_a_counter_proposal_above_what_was_paid_is_refused(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1)])
    dispute = market.open_dispute(buyer, order, amount=500)

    refused = seller.propose(dispute["id"], amount=1851, expect=422).json()

    assert refused["code"] == "amount_out_of_range" and refused["field"] == "amount"
    assert buyer.dispute(dispute["id"])["state"] == "awaiting_seller"


# R8 — not received: a 100% refund of the line, nothing to return ----------------------------

def test_R8_not_received_offers_a_full_refund_of_the_line_without_return(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(900, 2)])
    market.advance("10d")

    dispute = market.open_dispute(buyer, order, received=False, reason="not_received", resolution=None)

    assert dispute["quantity"] == 2
    assert dispute["proposal"]["resolution"] == "refund_only"
    assert dispute["proposal"]["amount"] == 1800


def test_R8_a_return_cannot_be_asked_when_the_parcel_was_not_received(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    market.advance("10d")

    for resolution in ("return_and_refund", "replacement"):
        refused = market.open_dispute(buyer, order, received=False, reason="not_received",
                                      resolution=resolution, expect=422).json()
        assert refused["code"] == "return_impossible_not_received"
        assert refused["field"] == "resolution"
    assert buyer.order(order["id"])["lines"][0]["dispute_id"] is None


def test_R8_the_seller_cannot_counter_with_a_return_when_the_parcel_was_not_received(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    market.advance("10d")
    dispute = market.open_dispute(buyer, order, received=False, reason="not_received")

    refused = seller.propose(dispute["id"], resolution="return_and_refund", expect=422).json()

    assert refused["code"] == "return_impossible_not_received"


def test_R8_accepting_a_not_received_claim_refunds_the_whole_line_with_no_return(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(900, 2)])
    market.advance("10d")
    dispute = market.open_dispute(buyer, order, received=False, reason="not_received")

    closed = seller.accept(dispute["id"])

    assert closed["state"] == "closed" and closed["outcome"] == "refunded_full"
    assert closed["return"] is None
    assert market.refunded(order) == {order["lines"][0]["id"]: 1800}


# R12 — the seller answers within 5 days, or the buyer wins -----------------------------------

def test_R12_seller_silence_for_5_days_refunds_the_buyer(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (1850, 1)])
    dispute = market.open_dispute(buyer, order, line=0)
    assert dispute["deadline"]["name"] == "respond_by"
    assert at(dispute["deadline"]["at"]) == T0 + 5 * DAY
    assert dispute["deadline"]["decides_against"] == "seller"

    market.advance("5d")

    closed = buyer.dispute(dispute["id"])
    assert closed["state"] == "closed" and closed["outcome"] == "refunded_full"
    assert closed["refunded_amount"] == 1850
    assert at(closed["closed_at"]) == T0 + 5 * DAY
    [refund] = buyer.refunds()
    assert refund["dispute_id"] == dispute["id"] and refund["line_id"] == order["lines"][0]["id"]
    assert (refund["amount"], refund["currency"], refund["payment_method"]) == (1850, "USD", "visa")
    assert at(refund["created_at"]) == T0 + 5 * DAY
    assert seller.refunds(order_id=order["id"]) == [refund]


def test_R12_at_4_days_23_hours_the_dispute_still_awaits_the_seller(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)

    market.advance("4d23h")

    waiting = seller.dispute(dispute["id"])
    assert waiting["state"] == "awaiting_seller"
    assert waiting["deadline"]["seconds_left"] == 3600
    assert "accept" in waiting["allowed_actions"]
    assert buyer.refunds() == []


def test_R12_seller_silence_refunds_without_a_return_even_if_the_buyer_asked_one(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order, reason="wrong_item", resolution="return_and_refund")

    market.advance("5d")

    closed = buyer.dispute(dispute["id"])
    assert closed["state"] == "closed" and closed["outcome"] == "refunded_full"
    assert closed["agreed"] == {"resolution": "refund_only", "amount": 1850}
    assert closed["return"] is None


def test_R12_the_buyer_amending_her_claim_does_not_restart_the_sellers_deadline(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order, amount=1850)
    market.advance("3d")

    amended = buyer.post(f"/disputes/{dispute['id']}/amend",
                         {"resolution": "refund_only", "amount": 1200, "message": "Half is enough."})
    assert at(amended["deadline"]["at"]) == T0 + 5 * DAY
    market.advance("2d")

    closed = buyer.dispute(dispute["id"])
    assert closed["state"] == "closed" and closed["refunded_amount"] == 1200


def test_R12_seller_accepting_refunds_the_buyer_at_once(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order, amount=1500)
    market.advance("2d")

    closed = seller.accept(dispute["id"])

    assert closed["state"] == "closed" and closed["outcome"] == "refunded_partial"
    assert at(closed["closed_at"]) == T0 + 2 * DAY
    assert [r["amount"] for r in buyer.refunds()] == [1500]


def test_R12_seller_accepting_a_return_and_refund_waits_for_the_return(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order, reason="wrong_item", resolution="return_and_refund")

    agreed = seller.accept(dispute["id"])

    assert agreed["state"] == "awaiting_return"
    assert agreed["agreed"] == {"resolution": "return_and_refund", "amount": 1850}
    assert buyer.refunds() == []


def test_R12_seller_rejecting_opens_a_negotiation_and_stops_the_silence_rule(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    market.advance("1d")

    negotiating = seller.reject(dispute["id"], "All five dresses were packed; see the scale photo.")

    assert negotiating["state"] == "negotiating"
    assert negotiating["proposal"]["rejected"] is True
    assert negotiating["deadline"]["name"] == "negotiate_by"
    market.advance("5d")
    assert buyer.dispute(dispute["id"])["state"] == "negotiating"
    assert buyer.refunds() == []


def test_R12_a_rejection_must_give_reasons(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)

    refused = seller.reject(dispute["id"], "", expect=422).json()

    assert refused["code"] == "message_required"
    assert buyer.dispute(dispute["id"])["state"] == "awaiting_seller"


def test_R12_seller_counter_proposing_opens_a_negotiation(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)

    negotiating = seller.propose(dispute["id"], amount=900, message="I can refund half.")

    assert negotiating["state"] == "negotiating"
    assert negotiating["proposal"]["by"] == "seller" and negotiating["proposal"]["amount"] == 900


def test_R12_a_seller_answering_after_the_deadline_is_told_the_buyer_already_won(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    market.set_clock_without_sweeping(T0 + 5 * DAY + HOUR)  # the deadline passed, not yet swept

    refused = seller.reject(dispute["id"], expect=409).json()

    assert refused["code"] == "deadline_passed" and refused["deadline"] == "respond_by"
    assert refused["state"] == "closed"
    closed = buyer.dispute(dispute["id"])
    assert closed["outcome"] == "refunded_full" and at(closed["closed_at"]) == T0 + 5 * DAY
    assert [r["amount"] for r in buyer.refunds()] == [1850]

# R13 — proposals: either party proposes, the other accepts ----------------------------------

def test_R13_the_buyer_accepting_the_sellers_counter_proposal_closes_with_that_amount(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    seller.propose(dispute["id"], amount=1200)

    closed = buyer.accept(dispute["id"])

    assert closed["state"] == "closed" and closed["outcome"] == "refunded_partial"
    assert closed["agreed"] == {"resolution": "refund_only", "amount": 1200}
    assert market.refunded(order) == {order["lines"][0]["id"]: 1200}


def test_R13_the_parties_counter_each_other_until_one_accepts(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    seller.propose(dispute["id"], amount=900)
    buyer.propose(dispute["id"], amount=1500, message="The dress cost more than that to replace.")
    seller.propose(dispute["id"], amount=1200)
    assert buyer.dispute(dispute["id"])["state"] == "negotiating"

    closed = buyer.accept(dispute["id"])

    assert closed["state"] == "closed" and closed["refunded_amount"] == 1200


def test_R13_the_seller_may_accept_the_buyers_new_proposal_after_rejecting_her_first(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    seller.reject(dispute["id"])
    buyer.propose(dispute["id"], amount=1000, message="Then refund part of it.")

    closed = seller.accept(dispute["id"])

    assert closed["state"] == "closed" and closed["refunded_amount"] == 1000


def test_R13_an_accepted_return_proposal_ends_the_negotiation_in_a_return(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order, reason="wrong_item")
    seller.propose(dispute["id"], resolution="return_and_refund", message="Send it back for a full refund.")

    agreed = buyer.accept(dispute["id"])

    assert agreed["state"] == "awaiting_return"
    assert agreed["agreed"] == {"resolution": "return_and_refund", "amount": 1850}


def test_R13_nobody_can_accept_their_own_proposal(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    seller.propose(dispute["id"], amount=900)

    refused = seller.accept(dispute["id"], expect=409).json()
    assert refused["code"] == "action_not_allowed"
    assert "accept" not in seller.dispute(dispute["id"])["allowed_actions"]
    assert "accept" in buyer.dispute(dispute["id"])["allowed_actions"]

    buyer.propose(dispute["id"], amount=1500)
    refused = buyer.accept(dispute["id"], expect=409).json()
    assert refused["code"] == "action_not_allowed"
    assert buyer.dispute(dispute["id"])["state"] == "negotiating"
    assert buyer.refunds() == []


def test_R13_a_rejected_proposal_can_no_longer_be_accepted(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    seller.propose(dispute["id"], amount=300)
    buyer.reject(dispute["id"], "That is far too little.")

    refused = buyer.accept(dispute["id"], expect=409).json()

    assert refused["code"] == "action_not_allowed"
    assert buyer.dispute(dispute["id"])["state"] == "negotiating"


# R14 — no agreement within 7 days of the seller's first response: the platform escalates ----

def test_R14_negotiation_escalates_by_itself_7_days_after_the_sellers_first_response(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    market.advance("1d")
    negotiating = seller.reject(dispute["id"])
    assert at(negotiating["deadline"]["at"]) == T0 + 8 * DAY

    market.advance("6d23h")
    assert buyer.dispute(dispute["id"])["state"] == "negotiating"
    market.advance("1h")

    escalated = buyer.dispute(dispute["id"])
    assert escalated["state"] == "escalated"
    assert at(escalated["escalated_at"]) == T0 + 8 * DAY
    assert buyer.refunds() == []


def test_R14_new_proposals_do_not_extend_the_negotiation(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    market.advance("2d")
    seller.propose(dispute["id"], amount=600)
    market.advance("4d")
    buyer.propose(dispute["id"], amount=1500)
    market.advance("2d")
    seller.propose(dispute["id"], amount=800)

    market.advance("1d")

    escalated = buyer.dispute(dispute["id"])
    assert escalated["state"] == "escalated"
    assert at(escalated["escalated_at"]) == T0 + 9 * DAY


def test_R14_parties_cannot_escalate_by_hand_by_default(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    seller.reject(dispute["id"])

    for party in (buyer, seller):
        refused = party.post(f"/disputes/{dispute['id']}/escalate", expect=409).json()
        assert refused["code"] == "action_not_allowed"
        assert "escalate" not in party.dispute(dispute["id"])["allowed_actions"]
    assert buyer.dispute(dispute["id"])["state"] == "negotiating"


# R17 — the buyer may withdraw at any time before close; withdrawn stays closed ---------------

def test_R17_the_buyer_withdraws_while_the_seller_has_not_answered(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    market.advance("1d")

    withdrawn = buyer.withdraw(dispute["id"])

    assert withdrawn["state"] == "closed" and withdrawn["outcome"] == "withdrawn"
    assert at(withdrawn["closed_at"]) == T0 + DAY
    assert withdrawn["deadline"] is None and withdrawn["refunded_amount"] == 0


def test_R17_the_buyer_withdraws_during_negotiation(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    seller.propose(dispute["id"], amount=900)

    withdrawn = buyer.withdraw(dispute["id"])

    assert withdrawn["state"] == "closed" and withdrawn["outcome"] == "withdrawn"


def test_R17_the_buyer_withdraws_while_arbitrators_have_the_dispute(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = escalated_dispute(market, buyer, seller, order)

    withdrawn = buyer.withdraw(dispute["id"])

    assert withdrawn["state"] == "closed" and withdrawn["outcome"] == "withdrawn"


def test_R17_the_buyer_withdraws_while_a_return_is_pending(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order, reason="wrong_item", resolution="return_and_refund")
    assert seller.accept(dispute["id"])["state"] == "awaiting_return"

    withdrawn = buyer.withdraw(dispute["id"])

    assert withdrawn["state"] == "closed" and withdrawn["outcome"] == "withdrawn"
    assert buyer.refunds() == []


def test_R17_a_withdrawn_dispute_stays_closed(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    buyer.withdraw(dispute["id"])

    market.advance("5d")  # the seller's silence no longer decides anything

    after = buyer.dispute(dispute["id"])
    assert after["state"] == "closed" and after["outcome"] == "withdrawn"
    assert after["allowed_actions"] == [] and seller.dispute(dispute["id"])["allowed_actions"] == []
    assert buyer.refunds() == []
    assert seller.accept(dispute["id"], expect=409).json()["code"] == "action_not_allowed"
    assert buyer.withdraw(dispute["id"], expect=409).json()["code"] == "action_not_allowed"
    assert market.open_dispute(buyer, order, expect=409).json()["code"] == "line_already_disputed"


def test_R17_the_seller_cannot_withdraw_the_buyers_dispute(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)

    refused = seller.withdraw(dispute["id"], expect=403).json()

    assert refused["code"] == "not_your_action"
    assert "withdraw" not in seller.dispute(dispute["id"])["allowed_actions"]
    assert buyer.dispute(dispute["id"])["state"] == "awaiting_seller"


def test_R17_a_dispute_that_closed_cannot_be_withdrawn(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    dispute = market.open_dispute(buyer, order)
    market.advance("5d")

    refused = buyer.withdraw(dispute["id"], expect=409).json()

    assert refused["code"] == "action_not_allowed"
    closed = buyer.dispute(dispute["id"])
    assert closed["outcome"] == "refunded_full" and closed["refunded_amount"] == 1850
