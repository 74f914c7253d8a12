"""The order rules over the HTTP API: escrow and payouts (R1), the protection window and its
countdown (R2), the seller's extension (R3), the dispute window after completion (R6) and
the wait before a "not received" dispute (R26).

Every test runs on SQLite and on PostgreSQL, with the manual clock starting at ``T0``;
``market.advance`` runs every deadline that falls due on the way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import T0

DAY = timedelta(days=1)


def at(iso: str | None) -> datetime | None:
    return None if iso is None else datetime.fromisoformat(iso)


# R1 — escrow: the seller is paid only on confirmation or when protection ends ---------------

def test_R1_the_seller_is_paid_nothing_before_the_buyer_confirms_receipt(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (500, 2)])
    market.platform.post(f"/orders/{order['id']}/deliver")  # the carrier's word completes nothing
    market.advance("30d")

    assert seller.payouts() == []
    assert market.platform.payouts(order_id=order["id"]) == []
    assert seller.order(order["id"])["state"] == "shipped"


def test_R1_confirming_receipt_pays_the_seller_for_every_undisputed_line(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (500, 2)])
    first, second = (line["id"] for line in order["lines"])
    market.advance("12d")

    confirmed = buyer.confirm_receipt(order["id"])

    assert confirmed["state"] == "completed"
    assert market.paid_out(order) == {first: 1850, second: 1000}
    payouts = seller.payouts(order_id=order["id"])
    assert {(p["seller_id"], p["currency"]) for p in payouts} == {(seller.id, "USD")}
    assert {at(p["created_at"]) for p in payouts} == {T0 + 12 * DAY}


def test_R1_a_disputed_line_is_held_at_confirmation_and_paid_what_was_not_refunded_when_it_closes(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (1850, 1), (600, 1)])
    dress, other_dress, case = (line["id"] for line in order["lines"])
    dispute = market.open_dispute(buyer, order, line=0, amount=1000)

    buyer.confirm_receipt(order["id"])
    assert market.paid_out(order) == {other_dress: 1850, case: 600}

    closed = seller.accept(dispute["id"])

    assert closed["state"] == "closed" and closed["refunded_amount"] == 1000
    assert market.refunded(order) == {dress: 1000}
    assert market.paid_out(order) == {dress: 850, other_dress: 1850, case: 600}


def test_R1_a_line_refunded_in_full_pays_the_seller_nothing(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (1850, 1), (600, 1)])
    dress, other_dress, case = (line["id"] for line in order["lines"])
    market.open_dispute(buyer, order, line=0)
    market.advance("5d")  # seller silence: full refund of the dress (R12)

    buyer.confirm_receipt(order["id"])

    assert market.refunded(order) == {dress: 1850}
    paid = market.paid_out(order)
    assert paid.get(dress, 0) == 0
    assert paid[other_dress] == 1850 and paid[case] == 600
    assert sum(paid.values()) + sum(market.refunded(order).values()) == 1850 + 1850 + 600


def test_R1_a_withdrawn_dispute_releases_the_whole_line_to_the_seller(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (600, 1)])
    dress, case = (line["id"] for line in order["lines"])
    dispute = market.open_dispute(buyer, order, line=0)
    buyer.confirm_receipt(order["id"])
    assert market.paid_out(order) == {case: 600}

    buyer.withdraw(dispute["id"])

    assert market.paid_out(order) == {dress: 1850, case: 600}
    assert market.refunded(order) == {}


def test_R1_protection_ending_pays_the_seller_without_confirmation(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (500, 2)])
    first, second = (line["id"] for line in order["lines"])

    market.advance("59d")
    assert market.paid_out(order) == {}

    market.advance("1d")

    assert buyer.order(order["id"])["state"] == "completed"
    assert market.paid_out(order) == {first: 1850, second: 1000}
    assert {at(p["created_at"]) for p in seller.payouts(order_id=order["id"])} == {T0 + 60 * DAY}


def test_R1_a_line_still_under_dispute_when_protection_ends_waits_for_its_dispute(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (600, 1)])
    dress, case = (line["id"] for line in order["lines"])
    market.advance("55d")
    dispute = market.open_dispute(buyer, order, line=0)
    seller.reject(dispute["id"])  # negotiation: escalates at day 62 (R14)

    market.advance("10d")  # protection ended at day 60; the dispute is with the arbitrators
    assert buyer.order(order["id"])["state"] == "completed"
    assert buyer.dispute(dispute["id"])["state"] == "escalated"
    assert market.paid_out(order) == {case: 600}

    buyer.withdraw(dispute["id"])

    assert market.paid_out(order) == {dress: 1850, case: 600}


def test_R1_each_line_is_paid_out_exactly_once(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (600, 1)])
    buyer.confirm_receipt(order["id"])

    market.advance("100d")  # the dispute window closes the order; nothing is paid twice

    assert buyer.order(order["id"])["state"] == "closed"
    payouts = market.platform.payouts(order_id=order["id"])
    assert sorted(p["line_id"] for p in payouts) == sorted(line["id"] for line in order["lines"])
    assert sum(p["amount"] for p in payouts) == 1850 + 600


def test_R1_a_disputed_line_is_paid_only_after_its_dispute_closed_even_across_one_clock_jump(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (600, 1)])
    dress, case = (line["id"] for line in order["lines"])
    market.advance("57d")
    dispute = market.open_dispute(buyer, order, line=0, amount=1000)

    market.advance("13d")  # protection ends at day 60; the seller's silence closes it at day 62

    closed = buyer.dispute(dispute["id"])
    assert at(closed["closed_at"]) == T0 + 62 * DAY
    assert market.paid_out(order) == {dress: 850, case: 600}
    paid_at = {p["line_id"]: at(p["created_at"]) for p in seller.payouts(order_id=order["id"])}
    assert paid_at[case] == T0 + 60 * DAY
    assert paid_at[dress] >= at(closed["closed_at"])

# R2 — protection: 60 days from shipping, shown as a countdown, ends by itself ---------------

def test_R2_protection_starts_when_the_seller_ships_and_lasts_60_days(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, ship=False)
    assert order["protection"]["ends_at"] is None and order["protection"]["seconds_left"] is None

    market.advance("3d")
    shipped = seller.post(f"/orders/{order['id']}/ship",
                          {"carrier": "China Post", "tracking_number": "LP000000001CN"})

    assert shipped["state"] == "shipped"
    assert at(shipped["shipment"]["shipped_at"]) == T0 + 3 * DAY
    assert at(shipped["protection"]["ends_at"]) == T0 + 63 * DAY
    assert shipped["deadline"]["name"] == "protection_ends"


def test_R2_every_order_shows_the_seconds_of_protection_left(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    assert order["protection"]["seconds_left"] == 60 * 86400

    market.advance("45d")

    assert buyer.order(order["id"])["protection"]["seconds_left"] == 15 * 86400
    listed = next(o for o in buyer.get("/orders")["items"] if o["id"] == order["id"])
    assert listed["protection"]["seconds_left"] == 15 * 86400


def test_R2_the_order_completes_by_itself_when_protection_ends(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)

    market.advance("59d23h")
    running = buyer.order(order["id"])
    assert running["state"] == "shipped" and running["protection"]["seconds_left"] == 3600

    market.advance("1h")

    ended = buyer.order(order["id"])
    assert ended["state"] == "completed"
    assert at(ended["completed_at"]) == T0 + 60 * DAY
    assert ended["protection"]["seconds_left"] is None
    assert ended["deadline"]["name"] == "dispute_window_ends"


def test_R2_a_carrier_delivery_does_not_end_protection(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    market.advance("8d")

    delivered = market.platform.post(f"/orders/{order['id']}/deliver")

    assert delivered["state"] == "shipped"
    assert at(delivered["shipment"]["delivered_at"]) == T0 + 8 * DAY
    assert at(delivered["protection"]["ends_at"]) == T0 + 60 * DAY
    assert delivered["protection"]["seconds_left"] == 52 * 86400


# R3 — the seller extends protection, up to +60 days in total -------------------------------

def test_R3_seller_extends_protection_and_the_order_completes_later(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)

    extended = seller.extend_protection(order["id"], 20)

    assert at(extended["protection"]["ends_at"]) == T0 + 80 * DAY
    assert extended["protection"]["extension_days"] == 20
    market.advance("60d")
    assert buyer.order(order["id"])["state"] == "shipped"
    assert market.paid_out(order) == {}
    market.advance("20d")
    assert buyer.order(order["id"])["state"] == "completed"


def test_R3_extensions_add_up_to_at_most_60_days(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    seller.extend_protection(order["id"], 45)
    seller.extend_protection(order["id"], 15)

    refused = seller.extend_protection(order["id"], 1, expect=422).json()

    assert refused["code"] == "extension_too_long" and refused["field"] == "days"
    assert refused["remaining_days"] == 0
    assert "60 days" in refused["message"]
    unchanged = buyer.order(order["id"])["protection"]
    assert at(unchanged["ends_at"]) == T0 + 120 * DAY and unchanged["extension_days"] == 60


def test_R3_an_extension_past_the_cap_is_refused_whole_and_says_what_remains(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    assert seller.extend_protection(order["id"], 61, expect=422).json()["code"] == "extension_too_long"
    seller.extend_protection(order["id"], 40)

    refused = seller.extend_protection(order["id"], 21, expect=422).json()

    assert refused["code"] == "extension_too_long" and refused["remaining_days"] == 20
    assert at(buyer.order(order["id"])["protection"]["ends_at"]) == T0 + 100 * DAY


def test_R3_the_buyer_cannot_extend_her_own_protection(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)

    refused = buyer.extend_protection(order["id"], 10, expect=403).json()

    assert refused["code"] == "not_your_action"
    assert buyer.order(order["id"])["protection"]["extension_days"] == 0


def test_R3_protection_cannot_be_extended_once_the_order_completed(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    buyer.confirm_receipt(order["id"])

    refused = seller.extend_protection(order["id"], 10, expect=409).json()

    assert refused["code"] == "order_state_conflict" and refused["state"] == "completed"


def test_R3_extended_protection_still_allows_a_dispute_after_day_60(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    seller.extend_protection(order["id"], 10)
    market.advance("65d")

    dispute = market.open_dispute(buyer, order)

    assert dispute["state"] == "awaiting_seller"


# R6 — disputes for 15 more days after completion; then only a complaint --------------------

def test_R6_a_dispute_can_be_opened_up_to_15_days_after_the_buyer_confirmed(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    market.advance("3d")
    confirmed = buyer.confirm_receipt(order["id"])
    assert at(confirmed["dispute_window_ends_at"]) == T0 + 18 * DAY

    market.advance("14d23h")
    dispute = market.open_dispute(buyer, order, reason="damaged")

    assert dispute["state"] == "awaiting_seller"


def test_R6_a_dispute_15_days_after_completion_is_refused_and_points_to_a_complaint(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    market.advance("3d")
    buyer.confirm_receipt(order["id"])
    market.advance("15d")

    refused = market.open_dispute(buyer, order, reason="damaged", expect=409).json()

    assert refused["code"] == "dispute_window_closed"
    assert "complaint" in refused["message"]
    assert refused["next_step"] == "complaint"
    assert refused["deadline"] == "dispute_window_ends"
    assert at(refused["passed_at"]) == T0 + 18 * DAY
    assert buyer.order(order["id"])["lines"][0]["dispute_id"] is None


def test_R6_without_confirmation_the_window_runs_15_days_from_the_end_of_protection(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, [(1850, 1), (600, 1)])
    market.advance("60d")
    assert at(buyer.order(order["id"])["dispute_window_ends_at"]) == T0 + 75 * DAY

    market.advance("14d")
    assert market.open_dispute(buyer, order, line=0)["state"] == "awaiting_seller"
    market.advance("1d")

    refused = market.open_dispute(buyer, order, line=1, expect=409).json()
    assert refused["code"] == "dispute_window_closed"


def test_R6_the_order_closes_when_its_dispute_window_is_over(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    buyer.confirm_receipt(order["id"])

    market.advance("15d")

    closed = buyer.order(order["id"])
    assert closed["state"] == "closed"
    assert at(closed["closed_at"]) == T0 + 15 * DAY
    assert closed["deadline"] is None


def test_R6_a_dispute_just_after_protection_ended_is_allowed_even_before_the_order_is_swept(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    market.set_clock_without_sweeping(T0 + 60 * DAY + timedelta(hours=1))  # a sweeper running late

    dispute = market.open_dispute(buyer, order, reason="damaged")

    assert dispute["state"] == "awaiting_seller"

# R26 — "not received" only after the promised delivery time (10 days from shipping) --------

def test_R26_not_received_is_refused_in_the_first_10_days_after_shipping(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    market.advance("9d23h")

    refused = market.open_dispute(buyer, order, received=False, reason="not_received",
                                  expect=422).json()

    assert refused["code"] == "delivery_time_not_over"
    assert refused["field"] == "received"
    assert at(refused["opens_at"]) == T0 + 10 * DAY
    assert buyer.order(order["id"])["lines"][0]["dispute_id"] is None


def test_R26_not_received_is_allowed_from_day_10_after_shipping(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    market.advance("10d")

    dispute = market.open_dispute(buyer, order, received=False, reason="not_received")

    assert dispute["state"] == "awaiting_seller" and dispute["reason"] == "not_received"


def test_R26_the_wait_counts_from_shipping_not_from_payment(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, ship=False)
    market.advance("5d")
    seller.post(f"/orders/{order['id']}/ship", {"carrier": "China Post", "tracking_number": "LP000000002CN"})
    market.advance("9d")  # 14 days after payment, 9 after shipping

    refused = market.open_dispute(buyer, order, received=False, reason="not_received", expect=422).json()

    assert refused["code"] == "delivery_time_not_over"
    assert at(refused["opens_at"]) == T0 + 15 * DAY


def test_R26_other_reasons_are_not_held_back_by_the_delivery_time(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    market.advance("2d")

    dispute = market.open_dispute(buyer, order, reason="missing_items")

    assert dispute["state"] == "awaiting_seller"
