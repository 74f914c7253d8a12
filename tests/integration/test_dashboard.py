"""The operator's dashboard: the numbers over the API and the pictures on the staff page.

Four disputes opened on one day: the seller stays silent on one (the buyer wins by silence,
R12), accepts another (agreed), the buyer withdraws a third (R17), and the fourth is negotiated
until the platform escalates it (R14) and waits in the arbitration queue past its target (R15).
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import T0

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def four_disputes(market):
    silent_seller, busy_seller = market.seller(), market.seller()
    buyer = market.buyer()
    market.open_dispute(buyer, market.order(buyer, silent_seller))
    accepted = market.open_dispute(buyer, market.order(buyer, busy_seller))
    busy_seller.accept(accepted["id"])
    withdrawn = market.open_dispute(buyer, market.order(buyer, busy_seller))
    buyer.withdraw(withdrawn["id"])
    negotiated = market.negotiating_dispute(buyer, busy_seller)
    market.advance("7d")  # R12 at 5 days, R14 at 7
    return {"silent_seller": silent_seller, "busy_seller": busy_seller, "buyer": buyer,
            "escalated": negotiated}


def numbers(market, **params) -> dict:
    return market.platform.get("/dashboard", params=params)


def test_the_dashboard_counts_disputes_by_day_and_by_how_they_ended(market, four_disputes):
    n = numbers(market, days=7)
    assert (n["opened"], n["closed"]) == (4, 3)
    assert n["per_day"][0] == {"day": T0.date().isoformat(), "opened": 4, "closed": 2}
    assert sum(d["closed"] for d in n["per_day"]) == 3 and len(n["per_day"]) == 8
    assert n["outcomes"] == {"seller_silence": 1, "agreed": 1, "verdict": 0, "withdrawn": 1}


def test_the_dashboard_gives_median_and_90th_percentile_of_first_answer_and_resolution(market, four_disputes):
    n = numbers(market, days=30)
    assert n["first_seller_answer"] == {"count": 2, "median_hours": 0.0, "p90_hours": 0.0}
    # Resolved: accepted and withdrawn at once, the silent one after 5 days (R12).
    assert n["resolution"] == {"count": 3, "median_hours": 0.0, "p90_hours": 120.0}


def test_the_dashboard_shows_the_arbitration_queue_against_its_target_and_limit(market, four_disputes):
    q = numbers(market)["arbitration"]
    assert (q["open"], q["within_target"], q["past_target"], q["past_limit"]) == (1, 1, 0, 0)
    assert (q["target_days"], q["limit_days"]) == (15, 60)
    market.advance("16d")
    q = numbers(market)["arbitration"]
    assert (q["open"], q["within_target"], q["past_target"]) == (1, 0, 1)
    assert q["oldest"] == [{"dispute_id": four_disputes["escalated"]["id"], "age_days": 16.0}]


def test_the_dashboard_gives_refunds_by_method_with_their_on_time_rate_R20(market, four_disputes):
    market.advance("30d")  # every card refund has landed inside its window (the simulator, R20)
    r = numbers(market, days=60)["refunds"]
    [visa] = r["by_method"]
    assert visa["method"] == "visa" and visa["count"] == 2 and visa["amounts"] == {"USD": 3700}
    assert (visa["on_time"], visa["late"], visa["on_time_rate"]) == (2, 0, 1.0)
    assert r["on_time_rate"] == 1.0


def test_the_dashboard_lists_the_sellers_nearest_the_flag_threshold_R21(market, four_disputes):
    s = numbers(market)["sellers"]
    assert s["threshold"] == 0.05
    first = s["nearest"][0]
    assert first["seller_id"] == four_disputes["silent_seller"].id
    assert (first["lost_orders"], first["orders"], first["lost_ratio"], first["over_threshold"]) == (1, 1, 1.0, True)


def test_the_dashboard_is_for_staff_only_and_refuses_bad_windows(market, four_disputes):
    buyer = four_disputes["buyer"]
    assert buyer.get("/dashboard", expect=403).json()["code"] == "staff_only"
    assert market.arbitrator().get("/dashboard")["opened"] == 4
    assert market.client.get("/api/v1/dashboard").status_code == 401
    for days in (0, 367, "x"):
        assert market.platform.get("/dashboard", params={"days": days}, expect=422).json()["code"] == "invalid_request"


def test_the_staff_page_draws_the_dashboard_as_svg_in_both_languages(market, four_disputes):
    arbitrator = market.arbitrator()
    client = market.client
    token = CSRF.search(client.get("/signin").text).group(1)
    client.post("/signin/demo", data={"csrf_token": token, "user_id": arbitrator.id}, follow_redirects=False)
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert page.text.count("<svg") == 6
    assert "Disputes opened and closed per day" in page.text and "Buyer won: the seller was silent" in page.text
    russian = client.get("/dashboard", cookies={"ombuds_lang": "ru"})
    assert "Споры: открыто и закрыто по дням" in russian.text and "<svg" in russian.text
    client.cookies.clear()
    token = CSRF.search(client.get("/signin").text).group(1)
    client.post("/signin/demo", data={"csrf_token": token, "user_id": four_disputes["buyer"].id},
                follow_redirects=False)
    assert client.get("/dashboard").status_code == 404
