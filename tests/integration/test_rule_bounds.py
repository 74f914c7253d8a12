"""R42: bounds, never a 500. Out-of-range input is refused before anything is written.

Amounts up to 10^12 minor units per line and per order; ids and numbers outside 64 bits,
NUL characters and texts empty once invisible characters are removed get 422 (404 for an
id in the path), in paths, queries, bodies and On-Behalf-Of. Types are strict: "100" and
true are not integers. Countries are ISO 3166.
"""

from __future__ import annotations

BIG = 2**63  # one past BIGINT
ZERO_WIDTH = "\u200b" * 50


def _order_body(buyer, seller, **line) -> dict:
    return {"buyer_id": buyer.id, "seller_id": seller.id, "currency": "USD", "payment_method": "visa",
            "lines": [{"title": "Hair clips", "unit_price": 1850, "quantity": 1, **line}]}


def _orders_of(market, buyer) -> list:
    return market.client.get("/api/v1/orders", headers=buyer.headers).json()["items"]


def test_R42_an_order_of_four_lines_at_2_to_the_62_is_refused_and_nothing_is_recorded(market):
    buyer, seller = market.buyer(), market.seller()
    body = _order_body(buyer, seller)
    body["lines"] = [{"title": f"Line {i}", "unit_price": 2**62, "quantity": 1} for i in range(4)]

    r = market.client.post("/api/v1/orders", json=body, headers=market.platform.headers)

    assert r.status_code == 422 and r.json()["field"] == "lines.0.unit_price"
    assert _orders_of(market, buyer) == []
    assert market.client.get("/api/v1/orders", headers=market.platform.headers).status_code == 200


def test_R42_amounts_are_at_most_10_to_the_12_per_line(market):
    buyer, seller = market.buyer(), market.seller()
    for line, ok in (({"unit_price": 10**12}, True), ({"unit_price": 10**12 + 1}, False),
                     ({"unit_price": 10**11, "quantity": 10}, True),
                     ({"unit_price": 10**11, "quantity": 11}, False)):
        r = market.client.post("/api/v1/orders", json=_order_body(buyer, seller, **line),
                               headers=market.platform.headers)
        assert r.status_code == (201 if ok else 422), (line, r.text)


def test_R42_amounts_are_at_most_10_to_the_12_per_order(market):
    buyer, seller = market.buyer(), market.seller()
    body = _order_body(buyer, seller)
    body["lines"] = [{"title": "Half", "unit_price": 5 * 10**11, "quantity": 1},
                     {"title": "Half and one", "unit_price": 5 * 10**11 + 1, "quantity": 1}]
    r = market.client.post("/api/v1/orders", json=body, headers=market.platform.headers)
    assert r.status_code == 422 and r.json()["code"] == "amount_out_of_range"
    assert _orders_of(market, buyer) == []


def test_R42_types_are_strict_a_price_is_an_integer_and_a_flag_a_boolean(market):
    buyer, seller = market.buyer(), market.seller()
    for price in ("100", True, 100.0, None):
        r = market.client.post("/api/v1/orders", json=_order_body(buyer, seller, unit_price=price),
                               headers=market.platform.headers)
        assert r.status_code == 422 and r.json()["field"] == "lines.0.unit_price", price
    order = market.order(buyer, seller)
    for received in ("true", 1):
        r = buyer.post("/disputes", {"order_id": order["id"], "line_id": order["lines"][0]["id"],
                                     "received": received, "reason": "missing_items",
                                     "description": "One dress is missing."}, expect=None)
        assert r.status_code == 422 and r.json()["field"] == "received", received
    assert len(_orders_of(market, buyer)) == 1


def test_R42_countries_are_iso_3166(market):
    for country, ok in (("ZZ", False), ("XX", False), ("EU", False), ("R1", False), ("RU", True), ("cn", True)):
        r = market.client.post("/api/v1/users", headers=market.platform.headers, json={
            "name": "Lena", "email": f"lena-{country}@example.cz", "role": "buyer", "country": country})
        assert r.status_code == (201 if ok else 422), r.text
        if ok:
            assert r.json()["country"] == country.upper()
        else:
            assert r.json()["code"] == "invalid_country" and r.json()["field"] == "country"


def test_R42_a_description_of_zero_width_spaces_is_no_text(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    r = buyer.post("/disputes", {"order_id": order["id"], "line_id": order["lines"][0]["id"],
                                 "received": True, "reason": "missing_items", "description": ZERO_WIDTH},
                   expect=None)
    assert r.status_code == 422 and r.json()["code"] == "text_required" and r.json()["field"] == "description"
    assert buyer.order(order["id"])["lines"][0]["dispute_id"] is None


def test_R42_a_rejection_of_zero_width_characters_needs_a_message(market):
    buyer, seller = market.buyer(), market.seller()
    d = market.open_dispute(buyer, market.order(buyer, seller))
    r = seller.post(f"/disputes/{d['id']}/reject", {"message": "\u200d\u2060\ufeff \u3164"}, expect=None)
    assert r.status_code == 422 and r.json()["code"] == "message_required"
    assert buyer.dispute(d["id"])["state"] == "awaiting_seller"


def test_R42_a_nul_character_in_a_body_is_refused(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    for r in (market.client.post("/api/v1/orders", json=_order_body(buyer, seller, title="Clips\u0000"),
                                 headers=market.platform.headers),
              market.client.post("/api/v1/users", headers=market.platform.headers, json={
                  "name": "Le\u0000na", "email": "nul@example.cz", "role": "buyer", "country": "CZ"}),
              buyer.post(f"/orders/{order['id']}/messages", {"body": "Hello\u0000"}, expect=None)):
        assert r.status_code == 422 and r.json()["code"] == "nul_character", r.text


def test_R42_an_id_in_the_path_that_cannot_exist_is_404(market):
    for path in (f"/orders/{BIG}", f"/disputes/{BIG}", f"/complaints/{BIG}", f"/evidence/{BIG}/file",
                 f"/sellers/{BIG}/rating", f"/webhooks/{BIG}", "/orders/-1", "/orders/abc", "/orders/1%00"):
        r = market.client.get(f"/api/v1{path}", headers=market.platform.headers)
        assert r.status_code == 404, (path, r.text)
    r = market.client.post(f"/api/v1/disputes/{BIG}/accept", headers=market.buyer().headers)
    assert r.status_code == 404


def test_R42_numbers_out_of_range_and_nul_characters_in_a_query_are_422(market):
    for query in (f"/orders?before_id={BIG}", f"/disputes?after_id={BIG}", f"/refunds?order_id={BIG}",
                  "/arbitration/queue?offset=17124358695575281018601472", "/complaints?offset=-1",
                  "/orders?state=%00c", "/disputes?state=x%00"):
        r = market.client.get(f"/api/v1{query}", headers=market.platform.headers)
        assert r.status_code == 422, (query, r.text)


def test_R42_an_on_behalf_of_that_names_no_user_is_422(market):
    for on_behalf_of in (str(BIG), "9" * 5000, "²", "1.0", "-1", " 1"):
        r = market.client.get("/api/v1/me", headers={**market.platform.headers,
                                                      "On-Behalf-Of": on_behalf_of.encode()})
        assert r.status_code == 422 and r.json()["code"] == "unknown_user", on_behalf_of


def test_R42_the_clock_cannot_be_advanced_past_a_century(market):
    before = market.now()
    for duration in ("99999999999d", "36501d", "9999999999999999999w"):
        r = market.client.post("/api/v1/clock/advance", json={"duration": duration},
                               headers=market.platform.headers)
        assert r.status_code == 422, r.text
    assert market.now() == before


# Permissions before state: 403 not_your_action, never 409, for who may never do it ---------

def test_the_arbitrator_accepting_for_the_seller_is_403_in_any_state(market):
    buyer, seller, arbitrator = market.buyer(), market.seller(), market.arbitrator()
    d = market.open_dispute(buyer, market.order(buyer, seller))
    assert arbitrator.accept(d["id"], expect=403).json()["code"] == "not_your_action"
    buyer.withdraw(d["id"])
    assert arbitrator.accept(d["id"], expect=403).json()["code"] == "not_your_action"


def test_the_marketplace_key_without_on_behalf_of_accepting_is_403_in_any_state(market):
    buyer, seller = market.buyer(), market.seller()
    d = market.open_dispute(buyer, market.order(buyer, seller))
    buyer.withdraw(d["id"])
    assert market.platform.accept(d["id"], expect=403).json()["code"] == "not_your_action"


def test_a_buyer_reporting_a_return_delivered_is_403_in_any_state(market):
    buyer, seller = market.buyer(), market.seller()
    d = market.open_dispute(buyer, market.order(buyer, seller))
    r = buyer.post(f"/disputes/{d['id']}/return-delivered", expect=403).json()
    assert r["code"] == "not_your_action"


def test_a_seller_withdrawing_a_closed_complaint_is_404_and_a_buyer_answering_is_403(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    buyer.confirm_receipt(order["id"])
    market.advance("16d")
    c = buyer.post("/complaints", {"order_id": order["id"], "message": "The case broke."}, expect=201)
    buyer.post(f"/complaints/{c['id']}/withdraw")
    r = buyer.post(f"/complaints/{c['id']}/answer", {"message": "Answering myself."}, expect=403).json()
    assert r["code"] == "not_your_action"
