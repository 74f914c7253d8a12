"""Arbitration, verdicts, returns and replacements over the real HTTP API (R15–R19, R25, R27, R29).

Each test is named for the rule it proves. The clock is manual: ``market.advance("5d")``
moves it and runs every deadline that falls due on the way, in order.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import T0

PRICE = 1850


def at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def refunds_of(market, dispute_id: int) -> list[dict]:
    return [r for r in market.platform.get("/refunds")["items"] if r["dispute_id"] == dispute_id]


def reply(person, dispute_id: int, agree: bool, **kw):
    return person.post(f"/disputes/{dispute_id}/verdict-replies",
                       {"agree": agree, "message": "I have read the verdict."}, **kw)


@pytest.fixture
def people(market):
    return market.buyer(), market.seller(), market.arbitrator()


# R15: arbitration ---------------------------------------------------------------------------

def test_R15_escalated_disputes_queue_for_arbitrators_nearest_deadline_first(market, people):
    buyer, seller, arbitrator = people
    first = market.open_dispute(buyer, market.order(buyer, seller))
    second = market.open_dispute(buyer, market.order(buyer, seller))
    still_waiting = market.open_dispute(buyer, market.order(buyer, seller))
    # The seller answers the *second* dispute first, so it escalates (and falls due) first.
    seller.post(f"/disputes/{second['id']}/reject", {"message": "It was all there."})
    market.advance("1d")
    seller.post(f"/disputes/{first['id']}/reject", {"message": "It was all there."})
    market.advance("7d")  # both negotiation windows (R14) have ended; the third one closed (R12)

    queue = arbitrator.get("/arbitration/queue")["items"]

    assert [d["id"] for d in queue] == [second["id"], first["id"]]
    assert still_waiting["id"] not in [d["id"] for d in queue]
    assert all(d["state"] == "escalated" and d["deadline"]["name"] == "review_target" for d in queue)
    assert at(queue[0]["deadline"]["at"]) < at(queue[1]["deadline"]["at"])
    assert [d["id"] for d in market.platform.get("/arbitration/queue")["items"]] == [
        second["id"], first["id"]]


def test_R15_a_dispute_past_its_review_limit_stays_in_the_queue(market, people):
    buyer, seller, arbitrator = people
    d = market.escalated_dispute(buyer, seller)

    market.advance(f"{market.policy()['arbitration_limit_days']}d")

    queue = arbitrator.get("/arbitration/queue")["items"]
    assert [q["id"] for q in queue] == [d["id"]]
    assert queue[0]["allowed_actions"] == ["decide"]


@pytest.mark.parametrize("who", ["buyer", "seller"])
def test_R15_only_arbitrators_and_the_marketplace_read_the_queue(market, people, who):
    buyer, seller, _ = people
    market.escalated_dispute(buyer, seller)
    person = buyer if who == "buyer" else seller

    r = person.get("/arbitration/queue", expect=403)

    assert r.json()["code"] == "arbitrators_only"


def test_R15_both_parties_add_arguments_in_arbitration(market, people):
    buyer, seller, arbitrator = people
    d = market.escalated_dispute(buyer, seller)

    buyer.post(f"/disputes/{d['id']}/arguments", {"message": "The unpacking video shows one dress."})
    after = seller.post(f"/disputes/{d['id']}/arguments", {"message": "Our packing list shows two."})

    assert after["state"] == "escalated"
    said = [(e["actor"], e["details"]["message"]) for e in arbitrator.dispute(d["id"])["timeline"]
            if e["action"] == "argue"]
    assert said == [("buyer", "The unpacking video shows one dress."),
                    ("seller", "Our packing list shows two.")]


def test_R15_an_argument_needs_words_and_only_parties_argue(market, people):
    buyer, seller, arbitrator = people
    d = market.escalated_dispute(buyer, seller)

    empty = buyer.post(f"/disputes/{d['id']}/arguments", {"message": "   "}, expect=422).json()
    by_staff = arbitrator.post(f"/disputes/{d['id']}/arguments", {"message": "Noted."}, expect=403).json()

    assert empty["code"] == "message_required" and empty["field"] == "message"
    assert by_staff["code"] == "not_your_action"


def test_R15_arguments_belong_to_arbitration_not_to_negotiation(market, people):
    buyer, seller, _ = people
    d = market.negotiating_dispute(buyer, seller)

    r = buyer.post(f"/disputes/{d['id']}/arguments", {"message": "Please look at my video."}, expect=409)

    assert r.json()["code"] == "action_not_allowed" and r.json()["state"] == "negotiating"


def test_R15_arbitrator_grants_a_full_refund(market, people):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator)  # full amount
    assert d["state"] == "decided" and d["verdict"]["refund_amount"] == PRICE

    reply(buyer, d["id"], True)
    closed = reply(seller, d["id"], True)

    assert closed["state"] == "closed" and closed["outcome"] == "refunded_full"
    assert closed["refunded_amount"] == PRICE
    assert [r["amount"] for r in refunds_of(market, d["id"])] == [PRICE]


def test_R15_arbitrator_grants_a_partial_refund(market, people):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator, refund_amount=600)

    reply(buyer, d["id"], True)
    closed = reply(seller, d["id"], True)

    assert closed["outcome"] == "refunded_partial" and closed["refunded_amount"] == 600
    assert [r["amount"] for r in refunds_of(market, d["id"])] == [600]


def test_R15_arbitrator_grants_no_refund(market, people):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator, refund_amount=0)

    reply(buyer, d["id"], True)
    closed = reply(seller, d["id"], True)

    assert closed["state"] == "closed" and closed["outcome"] == "no_refund"
    assert closed["refunded_amount"] == 0 and refunds_of(market, d["id"]) == []


def test_R15_arbitrator_may_require_a_return_before_the_refund(market, people):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator, refund_amount=PRICE, return_required=True)
    assert d["verdict"]["return_required"] is True

    reply(buyer, d["id"], True)
    agreed = reply(seller, d["id"], True)

    assert agreed["state"] == "awaiting_return"
    assert agreed["agreed"] == {"resolution": "return_and_refund", "amount": PRICE}
    assert agreed["deadline"]["name"] == "ship_return_by"
    assert refunds_of(market, d["id"]) == []  # no money until the return arrives (R18)


def test_R15_arbitrator_may_penalise_the_seller(market, people):
    buyer, seller, arbitrator = people
    d = market.escalated_dispute(buyer, seller)

    decided = arbitrator.post(f"/disputes/{d['id']}/verdict",
                              {"refund_amount": PRICE, "penalise_seller": True, "message": "Repeat case."})

    assert decided["verdict"]["penalise_seller"] is True


def test_R15_only_staff_issue_a_verdict_and_never_above_what_was_paid(market, people):
    buyer, seller, arbitrator = people
    d = market.escalated_dispute(buyer, seller)

    by_buyer = buyer.post(f"/disputes/{d['id']}/verdict", {"refund_amount": PRICE}, expect=403).json()
    too_much = arbitrator.post(f"/disputes/{d['id']}/verdict", {"refund_amount": PRICE + 1},
                               expect=422).json()

    assert by_buyer["code"] == "arbitrators_only"
    assert too_much["code"] == "amount_out_of_range" and too_much["field"] == "refund_amount"
    assert arbitrator.dispute(d["id"])["state"] == "escalated"


def test_R15_a_verdict_is_given_only_in_arbitration(market, people):
    buyer, seller, arbitrator = people
    d = market.open_dispute(buyer, market.order(buyer, seller))

    r = arbitrator.post(f"/disputes/{d['id']}/verdict", {"refund_amount": PRICE}, expect=409).json()

    assert r["code"] == "action_not_allowed" and r["state"] == "awaiting_seller"


def test_R15_review_target_after_15_days_then_review_limit_after_60(market, people):
    buyer, seller, arbitrator = people
    policy = market.policy()
    d = market.escalated_dispute(buyer, seller)
    escalated_at = at(d["escalated_at"])
    target, limit = policy["arbitration_review_target_days"], policy["arbitration_limit_days"]
    assert (target, limit) == (15, 60)

    assert d["deadline"]["name"] == "review_target"
    assert at(d["deadline"]["at"]) == escalated_at + timedelta(days=target)

    market.advance(f"{target}d")
    d = arbitrator.dispute(d["id"])
    assert d["state"] == "escalated"  # a reminder, not a decision
    assert d["deadline"]["name"] == "review_limit"
    assert at(d["deadline"]["at"]) == escalated_at + timedelta(days=limit)

    market.advance(f"{limit - target}d")
    d = arbitrator.dispute(d["id"])
    assert d["state"] == "escalated" and d["deadline"] is None
    passed = [(e["action"], at(e["at"])) for e in d["timeline"] if e["actor"] == "system"
              and e["action"].startswith("review_")]
    assert passed == [("review_target_passed", escalated_at + timedelta(days=target)),
                      ("review_limit_passed", escalated_at + timedelta(days=limit))]
    # The arbitrator can still decide after the limit.
    assert arbitrator.post(f"/disputes/{d['id']}/verdict", {"refund_amount": 0})["state"] == "decided"


# R16: replies to a verdict ------------------------------------------------------------------

def test_R16_both_parties_agreeing_makes_the_verdict_final(market, people):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator, refund_amount=1000)

    waiting = reply(buyer, d["id"], True)
    assert waiting["state"] == "decided" and waiting["verdict"]["buyer_reply"] == "agree"
    assert refunds_of(market, d["id"]) == []

    done = reply(seller, d["id"], True)

    assert done["state"] == "closed" and done["outcome"] == "refunded_partial"
    assert [r["amount"] for r in refunds_of(market, d["id"])] == [1000]


def test_R16_the_reply_window_passing_makes_the_verdict_final(market, people):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator, refund_amount=PRICE)
    assert d["deadline"]["name"] == "reply_by"
    assert at(d["deadline"]["at"]) == at(d["verdict"]["at"]) + timedelta(days=5)
    reply(buyer, d["id"], True)  # the seller never answers

    market.advance("4d")
    assert buyer.dispute(d["id"])["state"] == "decided"
    market.advance("1d")

    d = buyer.dispute(d["id"])
    assert d["state"] == "closed" and d["outcome"] == "refunded_full"
    assert [r["amount"] for r in refunds_of(market, d["id"])] == [PRICE]


def test_R16_silence_from_both_parties_also_executes_the_verdict(market, people):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator, refund_amount=0)

    market.advance("5d")

    d = seller.dispute(d["id"])
    assert d["state"] == "closed" and d["outcome"] == "no_refund"


@pytest.mark.parametrize("who_disagrees", ["buyer", "seller"])
def test_R16_one_disagreement_sends_the_first_verdict_back_to_arbitration(market, people, who_disagrees):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator, refund_amount=500)
    assert d["verdict"]["round"] == 1 and d["verdict"]["final"] is False
    agreeing, disagreeing = (seller, buyer) if who_disagrees == "buyer" else (buyer, seller)

    reply(agreeing, d["id"], True)
    appealed = reply(disagreeing, d["id"], False)

    assert appealed["state"] == "escalated"
    assert appealed["deadline"]["name"] == "review_target"
    assert d["id"] in [q["id"] for q in arbitrator.get("/arbitration/queue")["items"]]
    assert refunds_of(market, d["id"]) == []


def test_R16_the_second_verdict_is_final(market, people):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator, refund_amount=500)
    reply(buyer, d["id"], False)  # the appeal
    second = arbitrator.post(f"/disputes/{d['id']}/verdict",
                             {"refund_amount": 900, "message": "Reconsidered with the new video."})
    assert second["verdict"]["round"] == 2 and second["verdict"]["final"] is True

    assert "disagree_verdict" not in buyer.dispute(d["id"])["allowed_actions"]  # R42
    late = reply(buyer, d["id"], False, expect=409).json()
    assert late["code"] == "verdict_final" and late["state"] == "decided"
    reply(buyer, d["id"], True)
    done = reply(seller, d["id"], True)

    assert done["state"] == "closed" and done["outcome"] == "refunded_partial"
    assert [r["amount"] for r in refunds_of(market, d["id"])] == [900]


def test_R16_R42_a_final_verdict_cannot_be_disagreed_with_and_executes_when_the_window_passes(market, people):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator, refund_amount=500)
    reply(seller, d["id"], False)
    arbitrator.post(f"/disputes/{d['id']}/verdict", {"refund_amount": 700})
    assert reply(seller, d["id"], False, expect=409).json()["code"] == "verdict_final"
    assert seller.dispute(d["id"])["allowed_actions"] == ["agree_verdict"]

    market.advance("5d")

    d = buyer.dispute(d["id"])
    assert d["state"] == "closed" and d["refunded_amount"] == 700


def test_R16_each_party_replies_once(market, people):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator)
    reply(buyer, d["id"], True)

    again = reply(buyer, d["id"], False, expect=409).json()

    assert again["code"] == "action_not_allowed"
    assert seller.dispute(d["id"])["state"] == "decided"


def test_R16_the_arbitrator_does_not_reply_to_its_own_verdict(market, people):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator)

    r = reply(arbitrator, d["id"], True, expect=403).json()

    assert r["code"] == "not_your_action"


# R18: return and refund ---------------------------------------------------------------------

def test_R18_an_agreed_return_gives_the_buyer_10_days_to_ship_it(market, people):
    buyer, seller, _ = people

    d = market.dispute_awaiting_return(buyer, seller)

    assert d["state"] == "awaiting_return"
    assert d["deadline"]["name"] == "ship_return_by" and d["deadline"]["decides_against"] == "buyer"
    assert at(d["deadline"]["at"]) == at(market.now()) + timedelta(days=10)


def test_R18_buyer_ships_the_return_with_tracking_before_the_deadline(market, people):
    buyer, seller, _ = people
    d = market.dispute_awaiting_return(buyer, seller)
    market.advance("9d")

    shipped = buyer.post(f"/disputes/{d['id']}/return-shipment",
                         {"carrier": "Russian Post", "tracking_number": "RR123456785RU"})

    assert shipped["state"] == "return_in_transit"
    assert shipped["return"]["tracking_number"] == "RR123456785RU"
    assert shipped["deadline"]["name"] == "confirm_return_by"
    assert shipped["deadline"]["decides_against"] == "seller"
    assert at(shipped["deadline"]["at"]) == at(shipped["return"]["shipped_at"]) + timedelta(days=30)


def test_R18_a_return_needs_a_tracking_number(market, people):
    buyer, seller, _ = people
    d = market.dispute_awaiting_return(buyer, seller)

    blank = buyer.post(f"/disputes/{d['id']}/return-shipment",
                       {"carrier": "Russian Post", "tracking_number": "   "}, expect=422).json()
    missing = buyer.post(f"/disputes/{d['id']}/return-shipment", {"carrier": "Russian Post"},
                         expect=422).json()

    assert blank["field"] == "tracking_number" and missing["field"] == "tracking_number"
    assert buyer.dispute(d["id"])["state"] == "awaiting_return"


def test_R18_no_return_shipped_in_10_days_closes_with_no_refund(market, people):
    buyer, seller, _ = people
    d = market.dispute_awaiting_return(buyer, seller)

    market.advance("10d")

    d = buyer.dispute(d["id"])
    assert d["state"] == "closed" and d["outcome"] == "no_refund" and d["refunded_amount"] == 0
    assert refunds_of(market, d["id"]) == []
    late = buyer.post(f"/disputes/{d['id']}/return-shipment",
                      {"carrier": "Russian Post", "tracking_number": "RR1RU"}, expect=409).json()
    assert late["state"] == "closed"


def test_R18_seller_confirming_the_return_refunds_the_buyer(market, people):
    buyer, seller, _ = people
    d = market.return_in_transit(buyer, seller, amount=1500)

    closed = seller.post(f"/disputes/{d['id']}/return-received", {"condition": "as_sent"})

    assert closed["state"] == "closed" and closed["outcome"] == "refunded_partial"
    assert closed["return"]["condition"] == "as_sent"
    refunds = refunds_of(market, d["id"])
    assert [(r["amount"], r["reason"], r["payment_method"]) for r in refunds] == [(1500, "return", "visa")]


def test_R18_seller_silent_30_days_after_the_return_shipped_refunds_automatically(market, people):
    buyer, seller, _ = people
    d = market.return_in_transit(buyer, seller)

    market.advance("29d")
    assert buyer.dispute(d["id"])["state"] == "return_in_transit"
    market.advance("1d")

    d = buyer.dispute(d["id"])
    assert d["state"] == "closed" and d["outcome"] == "refunded_full"
    assert [r["amount"] for r in refunds_of(market, d["id"])] == [PRICE]


def test_R18_after_the_carrier_delivers_the_return_the_seller_has_15_days(market, people):
    buyer, seller, _ = people
    d = market.return_in_transit(buyer, seller)
    market.advance("5d")

    delivered = market.platform.post(f"/disputes/{d['id']}/return-delivered")

    assert delivered["state"] == "return_in_transit"
    assert at(delivered["deadline"]["at"]) == at(delivered["return"]["delivered_at"]) + timedelta(days=15)
    market.advance("14d")
    assert buyer.dispute(d["id"])["state"] == "return_in_transit"
    market.advance("1d")  # day 20 after shipping: well before the 30-day limit
    d = buyer.dispute(d["id"])
    assert d["state"] == "closed" and d["outcome"] == "refunded_full"
    assert [r["amount"] for r in refunds_of(market, d["id"])] == [PRICE]


def test_R18_a_late_delivery_does_not_push_the_30_day_limit_back(market, people):
    buyer, seller, _ = people
    d = market.return_in_transit(buyer, seller)
    market.advance("25d")

    delivered = market.platform.post(f"/disputes/{d['id']}/return-delivered")

    assert at(delivered["deadline"]["at"]) == at(delivered["return"]["shipped_at"]) + timedelta(days=30)


@pytest.mark.parametrize("who", ["buyer", "seller"])
def test_R18_only_the_marketplace_reports_the_return_delivered(market, people, who):
    buyer, seller, _ = people
    d = market.return_in_transit(buyer, seller)
    person = buyer if who == "buyer" else seller

    r = person.post(f"/disputes/{d['id']}/return-delivered", expect=403).json()

    assert r["code"] == "not_your_action"
    assert person.dispute(d["id"])["return"]["delivered_at"] is None


# R19: replacement -------------------------------------------------------------------------

def _reship(market, buyer, seller):
    order = market.order(buyer, seller, [(PRICE, 2)])
    d = market.return_in_transit(buyer, seller, order, resolution="replacement")
    assert d["agreed"]["resolution"] == "replacement"
    market.advance("3d")
    closed = seller.post(f"/disputes/{d['id']}/reship",
                         {"carrier": "Cainiao", "tracking_number": "CN998877665CN"})
    return order, closed


def test_R19_seller_reships_with_tracking_and_the_dispute_closes_replaced(market, people):
    buyer, seller, _ = people

    order, closed = _reship(market, buyer, seller)

    assert closed["state"] == "closed" and closed["outcome"] == "replaced"
    assert closed["refunded_amount"] == 0 and refunds_of(market, closed["id"]) == []
    assert closed["return"]["reship_tracking"] == "CN998877665CN"


def test_R19_the_reshipped_parcel_is_a_new_order_with_its_own_protection_window(market, people):
    buyer, seller, _ = people

    order, closed = _reship(market, buyer, seller)

    replacements = [o for o in buyer.get("/orders")["items"]
                    if o["replacement_for_line_id"] == order["lines"][0]["id"]]
    assert len(replacements) == 1
    new = replacements[0]
    assert new["id"] != order["id"] and new["state"] == "shipped"
    assert (new["buyer_id"], new["seller_id"]) == (buyer.id, seller.id)
    assert new["shipment"]["tracking_number"] == "CN998877665CN"
    assert [(line["title"], line["unit_price"], line["quantity"]) for line in new["lines"]] == [("Item 1", PRICE, 2)]
    reshipped_at = at(closed["closed_at"])
    assert at(new["shipment"]["shipped_at"]) == reshipped_at
    assert at(new["protection"]["ends_at"]) == reshipped_at + timedelta(days=60)
    assert at(new["protection"]["ends_at"]) > at(buyer.order(order["id"])["protection"]["ends_at"])
    assert seller.order(new["id"])["replacement_for_line_id"] == order["lines"][0]["id"]


def test_R19_the_replacement_order_records_the_carrier_the_seller_reshipped_with(market, people):
    buyer, seller, _ = people

    order, _ = _reship(market, buyer, seller)

    new = next(o for o in buyer.get("/orders")["items"] if o["replacement_for_line_id"])
    assert new["shipment"]["carrier"] == "Cainiao"


def test_R19_the_replacement_can_itself_be_disputed(market, people):
    buyer, seller, _ = people
    order, _ = _reship(market, buyer, seller)
    new = next(o for o in buyer.get("/orders")["items"] if o["replacement_for_line_id"])

    d = market.open_dispute(buyer, new, reason="damaged", description="The replacement arrived broken.")

    assert d["state"] == "awaiting_seller" and d["order_id"] == new["id"]


def test_R19_seller_is_paid_once_for_a_replaced_line(market, people):
    """§4: a line is paid out or refunded exactly once; the replacement was not paid for again."""
    buyer, seller, _ = people
    order, _ = _reship(market, buyer, seller)
    new = next(o for o in buyer.get("/orders")["items"] if o["replacement_for_line_id"])

    buyer.post(f"/orders/{order['id']}/confirm-receipt")
    buyer.post(f"/orders/{new['id']}/confirm-receipt")

    paid = sum(p["amount"] for p in seller.get("/payouts")["items"])
    assert paid == order["total"] == PRICE * 2


def test_R19_only_a_replacement_is_reshipped(market, people):
    buyer, seller, _ = people
    d = market.return_in_transit(buyer, seller)  # return and refund

    r = seller.post(f"/disputes/{d['id']}/reship", {"carrier": "Cainiao", "tracking_number": "CN1CN"},
                    expect=409).json()

    assert r["code"] == "action_not_allowed"
    assert seller.dispute(d["id"])["state"] == "return_in_transit"


# R25: the timeline ---------------------------------------------------------------------------

def test_R25_the_timeline_records_who_what_when_and_the_running_deadline(market, people):
    buyer, seller, arbitrator = people
    d = market.open_dispute(buyer, market.order(buyer, seller))
    respond_by = at(d["deadline"]["at"])
    market.advance("2d")
    seller.post(f"/disputes/{d['id']}/reject", {"message": "Both dresses were packed."})
    negotiate_by = at(buyer.dispute(d["id"])["deadline"]["at"])
    market.advance("7d")

    timeline = buyer.dispute(d["id"])["timeline"]

    rows = [(e["actor"], e["actor_id"], e["action"], e["from_state"], e["to_state"], e["deadline"],
             at(e["deadline_at"]), at(e["at"])) for e in timeline]
    assert rows == [
        ("buyer", buyer.id, "open", None, "awaiting_seller", None, None, T0),
        ("seller", seller.id, "reject", "awaiting_seller", "negotiating", "respond_by", respond_by,
         T0 + timedelta(days=2)),
        ("system", None, "negotiation_over", "negotiating", "escalated", "negotiate_by", negotiate_by,
         negotiate_by),
    ]
    assert timeline[0]["details"]["resolution"] == "refund_only"
    assert timeline[1]["details"]["message"] == "Both dresses were packed."
    assert buyer.get(f"/disputes/{d['id']}/timeline")["items"] == timeline
    assert arbitrator.get(f"/disputes/{d['id']}/timeline")["items"] == timeline


def test_R25_the_timeline_is_append_only(market, people):
    buyer, seller, arbitrator = people
    d = market.escalated_dispute(buyer, seller)
    before = buyer.get(f"/disputes/{d['id']}/timeline")["items"]

    buyer.post(f"/disputes/{d['id']}/arguments", {"message": "See my video."})
    arbitrator.post(f"/disputes/{d['id']}/verdict", {"refund_amount": 900})
    reply(buyer, d["id"], True)
    reply(seller, d["id"], True)
    after = seller.get(f"/disputes/{d['id']}/timeline")["items"]

    assert after[:len(before)] == before
    assert [e["action"] for e in after[len(before):]] == [
        "argue", "decide", "agree_verdict", "agree_verdict", "execute"]
    assert after[-1]["to_state"] == "closed" and after[-1]["actor"] == "system"
    stamps = [at(e["at"]) for e in after]
    assert stamps == sorted(stamps)
    decide = next(e for e in after if e["action"] == "decide")
    assert decide["actor"] == "arbitrator" and decide["actor_id"] == arbitrator.id
    assert decide["deadline"] == "review_target" and decide["details"]["refund_amount"] == 900


def test_R25_a_timer_entry_is_stamped_with_its_deadline_not_the_sweep_time(market, people):
    buyer, seller, _ = people
    d = market.open_dispute(buyer, market.order(buyer, seller))

    market.advance("8d")  # the sweep runs three days after the deadline

    silence = next(e for e in buyer.dispute(d["id"])["timeline"] if e["action"] == "seller_silence")
    assert at(silence["at"]) == at(silence["deadline_at"]) == T0 + timedelta(days=5)
    assert silence["deadline"] == "respond_by"


def test_R25_only_the_parties_and_staff_read_the_timeline(market, people):
    buyer, seller, _ = people
    d = market.open_dispute(buyer, market.order(buyer, seller))
    stranger = market.buyer()

    r = stranger.get(f"/disputes/{d['id']}/timeline", expect=404).json()

    assert r["code"] == "dispute_not_found"


# R27: allowed actions and the running deadline ----------------------------------------------

def _view(person, dispute_id):
    d = person.dispute(dispute_id)
    deadline = d["deadline"] and (d["deadline"]["name"], d["deadline"]["decides_against"])
    return d["your_role"], d["allowed_actions"], deadline


def test_R27_awaiting_seller_the_seller_answers_and_the_buyer_may_amend(market, people):
    buyer, seller, arbitrator = people
    d = market.open_dispute(buyer, market.order(buyer, seller))

    assert _view(buyer, d["id"]) == ("buyer", ["amend", "withdraw"], ("respond_by", "seller"))
    assert _view(seller, d["id"]) == ("seller", ["accept", "reject", "propose"], ("respond_by", "seller"))
    assert _view(arbitrator, d["id"]) == ("arbitrator", [], ("respond_by", "seller"))
    assert at(d["deadline"]["at"]) == T0 + timedelta(days=5)


def test_R27_negotiating_only_the_other_party_may_accept_the_proposal(market, people):
    buyer, seller, _ = people
    d = market.open_dispute(buyer, market.order(buyer, seller))
    seller.post(f"/disputes/{d['id']}/proposals",
                {"resolution": "refund_only", "amount": 900, "message": "Half back, keep the item."})

    assert _view(buyer, d["id"]) == ("buyer", ["propose", "accept", "reject", "withdraw"],
                                     ("negotiate_by", None))
    assert _view(seller, d["id"]) == ("seller", ["propose"], ("negotiate_by", None))
    assert "escalate" not in buyer.dispute(d["id"])["allowed_actions"]  # R14: off by default


def test_R27_escalated_parties_argue_and_the_arbitrator_decides(market, people):
    buyer, seller, arbitrator = people
    d = market.escalated_dispute(buyer, seller)

    assert _view(buyer, d["id"]) == ("buyer", ["argue", "withdraw"], ("review_target", None))
    assert _view(seller, d["id"]) == ("seller", ["argue"], ("review_target", None))
    assert _view(arbitrator, d["id"]) == ("arbitrator", ["decide"], ("review_target", None))


def test_R27_decided_each_party_may_reply_until_it_has(market, people):
    buyer, seller, arbitrator = people
    d = market.decided_dispute(buyer, seller, arbitrator)

    assert _view(buyer, d["id"]) == ("buyer", ["agree_verdict", "disagree_verdict", "withdraw"],
                                     ("reply_by", None))
    reply(seller, d["id"], True)
    assert _view(seller, d["id"]) == ("seller", [], ("reply_by", None))
    assert _view(arbitrator, d["id"]) == ("arbitrator", [], ("reply_by", None))


def test_R27_return_states_show_whose_deadline_runs(market, people):
    buyer, seller, _ = people
    d = market.dispute_awaiting_return(buyer, seller)
    assert _view(buyer, d["id"]) == ("buyer", ["ship_return", "withdraw"], ("ship_return_by", "buyer"))
    assert _view(seller, d["id"]) == ("seller", [], ("ship_return_by", "buyer"))

    buyer.post(f"/disputes/{d['id']}/return-shipment", {"carrier": "Russian Post", "tracking_number": "RR1RU"})

    assert _view(buyer, d["id"]) == ("buyer", ["withdraw"], ("confirm_return_by", "seller"))
    assert _view(seller, d["id"]) == ("seller", ["confirm_return"], ("confirm_return_by", "seller"))
    platform = market.platform.dispute(d["id"])
    assert platform["your_role"] == "platform" and platform["allowed_actions"] == ["return_delivered"]


def test_R27_a_replacement_in_transit_offers_the_seller_a_reship(market, people):
    buyer, seller, _ = people
    d = market.return_in_transit(buyer, seller, resolution="replacement")

    assert "reship" in seller.dispute(d["id"])["allowed_actions"]


def test_R27_a_closed_dispute_offers_nothing_and_runs_no_deadline(market, people):
    buyer, seller, arbitrator = people
    d = market.open_dispute(buyer, market.order(buyer, seller))
    market.advance("5d")

    for person in (buyer, seller, arbitrator, market.platform):
        closed = person.dispute(d["id"])
        assert closed["state"] == "closed"
        assert closed["allowed_actions"] == [] and closed["deadline"] is None


def test_R27_the_disputes_list_carries_the_same_actions_and_deadline(market, people):
    buyer, seller, _ = people
    d = market.open_dispute(buyer, market.order(buyer, seller))

    listed = next(x for x in seller.get("/disputes")["items"] if x["id"] == d["id"])

    assert listed["allowed_actions"] == ["accept", "reject", "propose"]
    assert listed["deadline"]["name"] == "respond_by" and listed["deadline"]["at"] == d["deadline"]["at"]


# R29: the condition of the returned item ----------------------------------------------------

@pytest.mark.parametrize("condition", ["damaged", "empty_parcel", "different_item"])
def test_R29_a_return_not_as_sent_goes_to_arbitration(market, people, condition):
    buyer, seller, arbitrator = people
    d = market.return_in_transit(buyer, seller)

    escalated = seller.post(f"/disputes/{d['id']}/return-received",
                            {"condition": condition, "message": "See the photo of what arrived."})

    assert escalated["state"] == "escalated"
    assert escalated["return"]["condition"] == condition
    assert escalated["deadline"]["name"] == "review_target"
    assert refunds_of(market, d["id"]) == []
    assert d["id"] in [q["id"] for q in arbitrator.get("/arbitration/queue")["items"]]


def test_R29_after_a_condition_dispute_the_verdict_refunds_without_another_return(market, people):
    buyer, seller, arbitrator = people
    d = market.return_in_transit(buyer, seller)
    seller.post(f"/disputes/{d['id']}/return-received", {"condition": "damaged"})
    arbitrator.post(f"/disputes/{d['id']}/verdict",
                    {"refund_amount": 1200, "return_required": True, "message": "The item was already back."})

    reply(buyer, d["id"], True)
    done = reply(seller, d["id"], True)

    assert done["state"] == "closed" and done["outcome"] == "refunded_partial"
    assert [r["amount"] for r in refunds_of(market, d["id"])] == [1200]


def test_R29_a_return_as_sent_is_refunded_at_once(market, people):
    buyer, seller, _ = people
    d = market.return_in_transit(buyer, seller)

    closed = seller.post(f"/disputes/{d['id']}/return-received", {"condition": "as_sent"})

    assert closed["state"] == "closed" and closed["outcome"] == "refunded_full"


def test_R29_an_unknown_condition_is_refused(market, people):
    buyer, seller, _ = people
    d = market.return_in_transit(buyer, seller)

    r = seller.post(f"/disputes/{d['id']}/return-received", {"condition": "scratched"}, expect=422).json()

    assert r["code"] == "invalid_request" and r["field"] == "condition"
    assert seller.dispute(d["id"])["state"] == "return_in_transit"
