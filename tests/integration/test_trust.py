"""Trust on both sides over the real HTTP API (R15, R21, R22, R24), on SQLite and PostgreSQL.

Seller ratings and penalties, buyer risk signals seen by the right people only, complaints
with goodwill refunds, and the arbitrators' queue in deadline order. The clock is manual:
``market.advance("5d")`` moves it and runs every deadline that falls due on the way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from ombuds.services.dispatch import DispatchConfig, drain
from ombuds.services.ledger_check import check_ledger
from ombuds.store.tables import outbox

PRICE = 1850


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def events(market, type_: str) -> list[dict]:
    """The outbox events of one type, oldest first (what webhooks and e-mail are made from)."""
    async def read():
        async with market.client.app.state.ombuds.engine.connect() as conn:
            return (await conn.execute(select(outbox.c.payload).where(outbox.c.type == type_)
                                       .order_by(outbox.c.id))).scalars().all()
    return market.client.portal.call(read)


def alerts(person, kind: str) -> list[dict]:
    return person.get("/arbitration/alerts", params={"kind": kind})["items"]


def dispatch(market):
    """Run the outbox dispatcher as the worker does: trust's events must pass through it."""
    app = market.client.app
    return market.client.portal.call(drain, app.state.ombuds, DispatchConfig.from_settings(app.state.settings))


def ledger_problems(market) -> list:
    return market.client.portal.call(check_ledger, market.client.app.state.ombuds)


@pytest.fixture
def people(market):
    return market.buyer(), market.seller(), market.arbitrator()


# R21: the seller's rating and the flag -------------------------------------------------------

@pytest.mark.parametrize("lost, flagged", [(6, True), (4, False)])
def test_R21_a_seller_who_loses_6_of_100_orders_in_90_days_is_flagged_and_one_with_4_is_not(
        market, people, lost, flagged):
    buyer, seller, arbitrator = people
    shipped = [market.order(buyer, seller) for _ in range(lost)]
    for _ in range(100 - lost):
        market.order(buyer, seller, ship=False)
    for order in shipped:
        market.open_dispute(buyer, order)

    market.advance("5d")  # R12: the seller stays silent on every dispute and loses it

    rating = arbitrator.get(f"/sellers/{seller.id}/rating")
    assert rating["orders"] == 100
    assert rating["lost"] == {"disputes": lost, "by_seller_silence": lost, "by_verdict": 0,
                              "orders": lost, "ratio": lost / 100}
    assert rating["flag"]["over_threshold"] is flagged
    assert (rating["flag"]["raised_at"] is not None) is flagged
    assert (seller.id in [s["seller_id"] for s in arbitrator.get("/sellers/flagged")["items"]]) is flagged
    assert len(alerts(arbitrator, "seller_flagged")) == (1 if flagged else 0)

    market.advance("2d")  # later checks find the seller still over: no second flag

    assert len([e for e in events(market, "seller.flagged") if e["seller_id"] == seller.id]) == (
        1 if flagged else 0)
    public = buyer.get(f"/sellers/{seller.id}/rating")
    assert public["lost"]["orders"] == lost and "flag" not in public  # the flag is the platform's


def test_R21_the_rating_matches_a_hand_count(market, people):
    buyer, seller, arbitrator = people
    silent, accepted, contested, withdrawn, quiet = (market.order(buyer, seller) for _ in range(5))
    cancelled = market.order(buyer, seller, ship=False)
    buyer.post(f"/orders/{cancelled['id']}/cancel")  # nothing was sold: not counted
    d_silent = market.open_dispute(buyer, silent)
    d_accepted = market.open_dispute(buyer, accepted)
    d_contested = market.open_dispute(buyer, contested)
    d_withdrawn = market.open_dispute(buyer, withdrawn)
    buyer.withdraw(d_withdrawn["id"])
    market.advance("1d")
    seller.accept(d_accepted["id"])  # answered after 1 day: a settlement, not a loss
    market.advance("1d")
    seller.reject(d_contested["id"])  # answered after 2 days
    market.advance("3d")  # day 5: the silent seller loses d_silent (R12)
    market.advance("7d")  # negotiation over: d_contested escalates (R14)
    arbitrator.post(f"/disputes/{d_contested['id']}/verdict",
                    {"refund_amount": PRICE, "penalise_seller": True, "message": "Refund in full."})
    for person in (buyer, seller):
        person.post(f"/disputes/{d_contested['id']}/verdict-replies", {"agree": True})

    rating = buyer.get(f"/sellers/{seller.id}/rating")

    # By hand: 5 orders (the cancelled one does not count); 4 disputed; all 4 closed; lost:
    # d_silent (silence) and d_contested (verdict); answered: after 1 and 2 days; only
    # d_contested went to arbitration.
    assert rating["orders"] == 5
    assert rating["disputes"] == {"opened": 4, "orders_disputed": 4, "rate": 0.8, "closed": 4}
    assert rating["lost"] == {"disputes": 2, "by_seller_silence": 1, "by_verdict": 1, "orders": 2,
                              "ratio": 0.4}
    assert rating["first_response"] == {"answered": 2, "average_seconds": 36 * 3600, "average_hours": 36.0}
    assert rating["resolved_without_arbitration"] == {"disputes": 3, "share": 0.75}
    assert rating["standing"]["state"] == "active"
    staff = arbitrator.get(f"/sellers/{seller.id}/rating")
    assert staff["flag"]["lost_dispute_ids"] == sorted([d_silent["id"], d_contested["id"]])
    assert staff["penalties_in_window"] == {"warnings": 0, "suspensions": 0, "by_verdict": 1, "total": 1}
    timeline = seller.get(f"/sellers/{seller.id}/timeline")["items"]
    assert [(i["kind"], i["dispute_id"]) for i in timeline] == [("verdict_penalty", d_contested["id"])]
    assert quiet["id"] not in staff["flag"]["lost_dispute_ids"]


def test_R21_a_suspended_seller_cannot_take_new_orders(market, people):
    buyer, seller, arbitrator = people
    market.order(buyer, seller)
    seller.post(f"/sellers/{seller.id}/penalties", {"kind": "suspension", "reason": "Mine."}, expect=403)
    arbitrator.post(f"/sellers/{seller.id}/penalties",
                    {"kind": "warning", "reason": "Three parcels arrived empty this month."}, expect=201)
    arbitrator.post(f"/sellers/{seller.id}/penalties",
                    {"kind": "suspension", "reason": "Empty parcels again after a warning."}, expect=201)

    r = market.platform.post("/orders", {"buyer_id": buyer.id, "seller_id": seller.id, "currency": "USD",
                                         "payment_method": "visa",
                                         "lines": [{"title": "Dress", "unit_price": PRICE, "quantity": 1}]},
                             expect=409)

    body = r.json()
    assert body["code"] == "seller_suspended" and body["field"] == "seller_id"
    assert "suspended" in body["message"] and "new orders" in body["message"]
    timeline = seller.get(f"/sellers/{seller.id}/timeline")
    assert [i["kind"] for i in timeline["items"]] == ["warning", "suspension"]
    assert timeline["standing"]["state"] == "suspended"
    buyer.get(f"/sellers/{seller.id}/timeline", expect=404)
    assert buyer.get(f"/sellers/{seller.id}/rating")["standing"]["state"] == "suspended"

    arbitrator.post(f"/sellers/{seller.id}/penalties",
                    {"kind": "reinstatement", "reason": "The seller changed its packing."}, expect=201)
    market.order(buyer, seller)  # takes orders again


# R22: buyer risk signals, for arbitrators only -----------------------------------------------

def test_R22_disputes_won_by_silence_show_to_the_arbitrator_and_never_to_the_seller(market, people):
    buyer, seller, arbitrator = people
    silent = [market.open_dispute(buyer, market.order(buyer, seller)) for _ in range(4)]
    case = market.negotiating_dispute(buyer, seller)
    market.advance("7d")  # the four are won by the seller's silence; the fifth escalates

    risk = arbitrator.get(f"/buyers/{buyer.id}/risk")
    signal = next(s for s in risk["signals"] if s["code"] == "won_by_seller_silence")
    assert signal["raised"] is True
    assert (signal["count"], signal["of"]) == (4, 4)
    assert signal["dispute_ids"] == sorted(d["id"] for d in silent)
    assert "won_by_seller_silence" in risk["raised"]
    case_file = arbitrator.get(f"/arbitration/cases/{case['id']}")
    assert "won_by_seller_silence" in case_file["buyer_risk"]["raised"]
    assert case_file["seller_rating"]["lost"]["by_seller_silence"] == 4

    for person in (seller, buyer):
        r = person.get(f"/buyers/{buyer.id}/risk", expect=403)
        assert r.json()["code"] == "arbitrators_only" and "won_by_seller_silence" not in r.text
        person.get(f"/arbitration/cases/{case['id']}", expect=403)
    seen_by_seller = market.client.get(f"/api/v1/disputes/{case['id']}", headers=seller.headers).text
    assert "won_by_seller_silence" not in seen_by_seller and "risk" not in seen_by_seller


# R24: complaints ----------------------------------------------------------------------------

def _closed_order(market, buyer, seller):
    """Received and confirmed, then the R6 window ran out: only a complaint remains."""
    order = market.order(buyer, seller, lines=((PRICE, 1), (900, 2)))
    buyer.confirm_receipt(order["id"])
    market.advance(f"{market.policy()['dispute_window_after_completion_days']}d")
    return order


def test_R24_a_complaint_after_the_dispute_window_answered_with_goodwill_shows_in_the_buyers_refunds(
        market, people):
    buyer, seller, arbitrator = people
    early = market.order(buyer, seller)
    r = buyer.post("/complaints", {"order_id": early["id"], "about": "seller", "message": "Rude."}, expect=409)
    assert r.json()["code"] == "dispute_still_possible"
    order = _closed_order(market, buyer, seller)
    assert market.open_dispute(buyer, order, expect=409).json()["code"] == "dispute_window_closed"

    complaint = buyer.post("/complaints", {"order_id": order["id"], "about": "seller",
                                           "message": "The second item broke after a week."}, expect=201)

    assert complaint["state"] == "open" and complaint["allowed_actions"] == ["withdraw"]
    assert at(complaint["answer_target_at"]) - at(complaint["opened_at"]) == timedelta(days=15)
    seller.get(f"/complaints/{complaint['id']}", expect=404)
    too_much = arbitrator.post(f"/complaints/{complaint['id']}/goodwill-refund",
                               {"amount": PRICE + 1801, "message": "Sorry."}, expect=422)
    assert too_much.json()["code"] == "amount_out_of_range"
    answered = arbitrator.post(f"/complaints/{complaint['id']}/goodwill-refund",
                               {"amount": 500, "message": "We are sorry; here is 5 USD from us."})
    assert answered["state"] == "answered" and answered["goodwill"]["amount"] == 500
    arbitrator.post(f"/complaints/{complaint['id']}/goodwill-refund", {"amount": 1, "message": "More."},
                    expect=409)

    refunds = buyer.refunds()
    assert [(r["id"], r["amount"], r["reason"], r["dispute_id"]) for r in refunds] == [
        (answered["goodwill"]["refund_id"], 500, "goodwill", None)]
    assert refunds[0]["expected_earliest"] and refunds[0]["expected_latest"]
    assert ledger_problems(market) == []
    # the provider settles it (15 business days at most); nobody acted on the answer, so it closes
    market.advance("30d")
    assert buyer.refunds()[0]["status"] == "settled"
    assert buyer.get(f"/complaints/{complaint['id']}")["state"] == "closed"
    assert ledger_problems(market) == []


def test_R24_an_unanswered_complaint_is_reported_overdue_and_stays_open(market, people):
    buyer, seller, arbitrator = people
    order = _closed_order(market, buyer, seller)
    complaint = buyer.post("/complaints", {"order_id": order["id"], "message": "It never worked."},
                           expect=201)
    market.advance("14d")
    assert [a["subject_id"] for a in alerts(arbitrator, "complaint_due_soon")] == [complaint["id"]]

    market.advance("2d")

    seen = arbitrator.get(f"/complaints/{complaint['id']}")
    assert seen["state"] == "open" and seen["overdue"] is True and seen["overdue_since"]
    assert [a["subject_id"] for a in alerts(arbitrator, "complaint_overdue")] == [complaint["id"]]
    assert [e["complaint_id"] for e in events(market, "complaint.answer_overdue")] == [complaint["id"]]
    assert arbitrator.get("/complaints")["items"][0]["id"] == complaint["id"]
    penalised = arbitrator.post(f"/complaints/{complaint['id']}/penalty",
                                {"kind": "suspension", "reason": "Sold a broken phone as new."})
    assert penalised["state"] == "answered" and penalised["seller_penalised"] is True
    timeline = seller.get(f"/sellers/{seller.id}/timeline")["items"]
    assert [(i["kind"], i["complaint_id"]) for i in timeline] == [("suspension", complaint["id"])]
    market.platform.post("/orders", {"buyer_id": buyer.id, "seller_id": seller.id, "currency": "USD",
                                     "payment_method": "visa",
                                     "lines": [{"title": "Case", "unit_price": 500, "quantity": 1}]}, expect=409)
    closed = buyer.post(f"/complaints/{complaint['id']}/close")
    assert closed["state"] == "closed" and closed["outcome"] == "answered"
    assert dispatch(market).events > 0  # complaint and seller events go out like any other


# R15: the arbitration queue and its deadlines ------------------------------------------------

def test_R15_the_queue_is_in_deadline_order_with_target_and_limit(market, people):
    buyer, seller, arbitrator = people
    first = market.negotiating_dispute(buyer, seller)  # escalates on day 7
    market.advance("10d")
    second = market.negotiating_dispute(buyer, seller)  # escalates on day 17
    market.advance("10d")
    third = market.negotiating_dispute(buyer, seller)  # escalates on day 27
    market.advance("35d")
    fourth = market.negotiating_dispute(buyer, seller)  # escalates on day 62
    market.advance("10d")  # day 65: the first is 2 days from its 60-day limit

    queue = arbitrator.get("/arbitration/queue")

    ids = [d["id"] for d in queue["items"]]
    assert ids == [first["id"], second["id"], third["id"], fourth["id"]]
    review = {d["id"]: d["review"] for d in queue["items"]}
    assert review[first["id"]]["highlight"] == "near_limit"
    assert [review[i]["highlight"] for i in ids[1:]] == ["past_target", "past_target", None]
    for d in queue["items"]:
        escalated = at(d["review"]["escalated_at"])
        assert at(d["review"]["review_target_at"]) == escalated + timedelta(days=15)
        assert at(d["review"]["review_limit_at"]) == escalated + timedelta(days=60)
    assert queue["summary"] == {"escalated": 4, "past_target": 3, "near_limit": 1, "past_limit": 0}
    assert [a["subject_id"] for a in alerts(arbitrator, "near_limit")] == [first["id"]]
    assert [e["dispute_id"] for e in events(market, "arbitration.near_limit")] == [first["id"]]

    market.advance("10d")  # day 75: the first is past its limit, the second 2 days from it

    queue = arbitrator.get("/arbitration/queue")
    top = queue["items"][0]
    assert top["id"] == first["id"] and top["state"] == "escalated" and top["allowed_actions"] == ["decide"]
    assert [d["review"]["highlight"] for d in queue["items"][:2]] == ["past_limit", "near_limit"]
    assert queue["summary"] == {"escalated": 4, "past_target": 3, "near_limit": 1, "past_limit": 1}
    assert [a["subject_id"] for a in alerts(arbitrator, "limit_passed")] == [first["id"]]
    assert [e["dispute_id"] for e in events(market, "dispute.review_limit_passed")] == [first["id"]]
    assert [e["dispute_id"] for e in events(market, "arbitration.near_limit")] == [first["id"], second["id"]]
    market.advance("30d")  # never resolved silently: still waiting for a verdict
    assert arbitrator.dispute(first["id"])["state"] == "escalated"
    seller.get("/arbitration/alerts", expect=403)
