"""The HTTP API's contract (DESIGN.md §5): errors, status codes, visibility, auth, idempotency.

Errors are JSON ``{code, message, field}`` with a stable code; a state conflict is 409 and a
passed deadline names the deadline; another user's order or dispute is as good as absent
(404); writes accept an ``Idempotency-Key``; the marketplace key may act on behalf of a user.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

PRICE = 1850
API = "/api/v1"


def at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    """Every error is JSON with a stable code, a human message and the field at fault."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert {"code", "message", "field"} <= body.keys()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"].strip()
    assert body["field"] == field, body
    return body


def order_body(buyer, seller, **overrides) -> dict:
    return {"buyer_id": buyer.id, "seller_id": seller.id, "currency": "USD", "payment_method": "visa",
            "lines": [{"title": "Silk dress", "unit_price": PRICE, "quantity": 1}], **overrides}


@pytest.fixture
def pair(market):
    return market.buyer(), market.seller()


# Errors: shape and status ------------------------------------------------------------------

def test_errors_are_json_with_code_message_and_field(market, pair):
    buyer, seller = pair
    client = market.client

    assert_error(client.get(f"{API}/orders"), 401, "unauthorized", "authorization")
    assert_error(buyer.get("/disputes/424242", expect=None), 404, "dispute_not_found")
    assert_error(buyer.post("/users", {"name": "x"}, expect=None), 422, "invalid_request", "email")
    assert_error(buyer.get("/no-such-thing", expect=None), 404, "not_found")
    assert_error(client.put(f"{API}/disputes", headers=buyer.headers), 405, "method_not_allowed")


def test_a_state_conflict_is_409_and_says_where_the_dispute_is(market, pair):
    buyer, seller = pair
    d = market.open_dispute(buyer, market.order(buyer, seller))
    seller.post(f"/disputes/{d['id']}/accept", {"proposal_id": d["proposal"]["id"]})

    again = seller.post(f"/disputes/{d['id']}/accept", {"proposal_id": d["proposal"]["id"]}, expect=None)

    body = assert_error(again, 409, "action_not_allowed")
    assert body["state"] == "closed" and body["allowed_actions"] == []


def test_shipping_an_order_twice_is_a_409_conflict(market, pair):
    buyer, seller = pair
    order = market.order(buyer, seller)

    again = seller.post(f"/orders/{order['id']}/ship", {"carrier": "China Post", "tracking_number": "LP1CN"},
                        expect=None)

    assert assert_error(again, 409, "order_state_conflict")["state"] == "shipped"


def test_an_action_after_a_deadline_passed_but_before_any_sweep_names_the_deadline(market, pair):
    """The person arrives after respond_by (R12) but before the sweeper ran: the timer wins.

    ``set_clock_without_sweeping`` rewrites the manual clock through the app's own
    ``ManualClock.set`` without running deadlines, as a lagging sweeper would leave it.
    """
    buyer, seller = pair
    d = market.open_dispute(buyer, market.order(buyer, seller))
    respond_by = at(d["deadline"]["at"])
    market.set_clock_without_sweeping(respond_by + timedelta(minutes=1))
    seen = buyer.dispute(d["id"])  # a reader already sees the dispute as it stands now
    assert seen["state"] == "closed" and seen["allowed_actions"] == []

    late = seller.post(f"/disputes/{d['id']}/accept", {"proposal_id": d["proposal"]["id"]}, expect=None)

    body = assert_error(late, 409, "deadline_passed")
    assert body["deadline"] == "respond_by" and "respond_by" in body["message"]
    assert at(body["passed_at"]) == respond_by
    assert body["state"] == "closed"
    d = buyer.dispute(d["id"])  # the seller's silence decided it, in the buyer's favour (R12)
    assert d["state"] == "closed" and d["outcome"] == "refunded_full"
    assert [r["amount"] for r in market.platform.get("/refunds")["items"]] == [PRICE]
    silence = next(e for e in d["timeline"] if e["action"] == "seller_silence")
    assert at(silence["at"]) == respond_by and silence["deadline"] == "respond_by"


def test_the_deadline_passed_answer_is_given_once_then_the_dispute_is_simply_closed(market, pair):
    buyer, seller = pair
    d = market.open_dispute(buyer, market.order(buyer, seller))
    market.set_clock_without_sweeping(at(d["deadline"]["at"]))  # due this very second
    seller.post(f"/disputes/{d['id']}/accept", {"proposal_id": d["proposal"]["id"]}, expect=409)

    again = seller.post(f"/disputes/{d['id']}/accept", {"proposal_id": d["proposal"]["id"]}, expect=None)

    assert assert_error(again, 409, "action_not_allowed")["state"] == "closed"
    assert len(market.platform.get("/refunds")["items"]) == 1


# Visibility and authentication ----------------------------------------------------------------

def test_a_buyer_never_sees_another_buyers_order_or_dispute(market, pair):
    buyer, seller = pair
    order = market.order(buyer, seller)
    d = market.open_dispute(buyer, order)
    stranger = market.buyer()

    order_404 = assert_error(stranger.get(f"/orders/{order['id']}", expect=None), 404, "order_not_found")
    dispute_404 = assert_error(stranger.get(f"/disputes/{d['id']}", expect=None), 404, "dispute_not_found")

    # Exactly the answer for something that does not exist: nothing leaks.
    assert stranger.get("/orders/999999", expect=None).json() == order_404
    assert stranger.get("/disputes/999999", expect=None).json() == dispute_404
    stranger.get(f"/disputes/{d['id']}/timeline", expect=404)
    assert stranger.get("/orders")["items"] == [] and stranger.get("/disputes")["items"] == []
    assert stranger.get("/refunds")["items"] == []


def test_a_stranger_cannot_act_on_another_buyers_order_or_dispute(market, pair):
    buyer, seller = pair
    order = market.order(buyer, seller, [(PRICE, 1), (PRICE, 1)])
    d = market.open_dispute(buyer, order)
    stranger, other_seller = market.buyer(), market.seller()

    assert_error(stranger.post(f"/disputes/{d['id']}/withdraw", expect=None), 404, "dispute_not_found")
    assert_error(other_seller.post(f"/disputes/{d['id']}/accept", {"proposal_id": d["proposal"]["id"]}, expect=None),
                 404, "dispute_not_found")
    assert_error(market.open_dispute(stranger, order, line=1, expect=404), 404, "order_not_found")
    assert_error(stranger.post(f"/orders/{order['id']}/confirm-receipt", expect=None), 404, "order_not_found")
    assert buyer.dispute(d["id"])["state"] == "awaiting_seller"
    assert buyer.order(order["id"])["state"] == "shipped"


def test_arbitrators_read_any_dispute(market, pair):
    buyer, seller = pair
    d = market.open_dispute(buyer, market.order(buyer, seller))

    seen = market.arbitrator().dispute(d["id"])

    assert seen["id"] == d["id"] and seen["your_role"] == "arbitrator"


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer not-a-real-token",
                                           "Basic dGVzdDp0ZXN0"])
def test_unauthenticated_requests_get_401(market, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}

    assert_error(market.client.get(f"{API}/orders", headers=headers), 401, "unauthorized", "authorization")
    assert_error(market.client.post(f"{API}/disputes", json={}, headers=headers), 401, "unauthorized",
                 "authorization")


def test_a_user_token_cannot_create_users_or_orders(market, pair):
    buyer, seller = pair
    new_user = {"name": "Mallory", "email": "mallory@example.test", "role": "arbitrator", "country": "GB"}

    for person in (buyer, seller, market.arbitrator()):
        assert_error(person.post("/users", new_user, expect=None), 403, "marketplace_only")
        assert_error(person.post("/orders", order_body(buyer, seller), expect=None), 403, "marketplace_only")

    assert market.count("/orders") == 0


def test_only_the_marketplace_moves_the_manual_clock(market, pair):
    buyer, _ = pair
    before = market.now()

    assert_error(buyer.post("/clock/advance", {"duration": "5d"}, expect=None), 403, "marketplace_only")

    assert market.now() == before


# Idempotency-Key ---------------------------------------------------------------------------------

def test_an_idempotency_key_replays_the_first_answer(market, pair):
    buyer, seller = pair
    headers = {**market.platform.headers, "Idempotency-Key": "checkout-7781"}
    body = order_body(buyer, seller)

    first = market.client.post(f"{API}/orders", json=body, headers=headers)
    second = market.client.post(f"{API}/orders", json=body, headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert first.headers.get("idempotent-replayed") != "true"
    assert market.count("/orders") == 1


def test_a_replayed_dispute_action_is_not_applied_twice(market, pair):
    buyer, seller = pair
    d = market.open_dispute(buyer, market.order(buyer, seller))
    key = {"Idempotency-Key": "accept-once"}

    first = seller.post(f"/disputes/{d['id']}/accept", {"proposal_id": d["proposal"]["id"]}, headers=key, expect=None)
    second = seller.post(f"/disputes/{d['id']}/accept", {"proposal_id": d["proposal"]["id"]}, headers=key, expect=None)

    assert first.status_code == second.status_code == 200  # not 409: the first answer, again
    assert second.json() == first.json() and second.json()["state"] == "closed"
    assert second.headers["idempotent-replayed"] == "true"
    assert len(market.platform.get("/refunds")["items"]) == 1


def test_the_same_idempotency_key_with_a_different_body_is_refused(market, pair):
    buyer, seller = pair
    headers = {**market.platform.headers, "Idempotency-Key": "checkout-7782"}
    market.client.post(f"{API}/orders", json=order_body(buyer, seller), headers=headers)

    other = market.client.post(f"{API}/orders", json=order_body(buyer, seller, currency="EUR"), headers=headers)

    assert_error(other, 422, "idempotency_key_reused", "idempotency-key")
    assert market.count("/orders") == 1


def test_idempotency_keys_belong_to_the_caller(market, pair):
    """Assumption (DESIGN.md is silent): two callers may use the same key independently."""
    buyer, seller = pair
    other_buyer = market.buyer()
    mine = market.order(buyer, seller)
    theirs = market.order(other_buyer, seller)
    key = {"Idempotency-Key": "open-dispute-1"}

    a = buyer.post("/disputes", {"order_id": mine["id"], "line_id": mine["lines"][0]["id"], "received": True,
                                 "reason": "damaged", "description": "Torn seam."}, headers=key, expect=201)
    b = other_buyer.post("/disputes", {"order_id": theirs["id"], "line_id": theirs["lines"][0]["id"],
                                       "received": True, "reason": "damaged", "description": "Torn seam."},
                         headers=key, expect=201)

    assert a["id"] != b["id"] and a["buyer_id"] == buyer.id and b["buyer_id"] == other_buyer.id


# On-Behalf-Of ----------------------------------------------------------------------------------

def _as(market, person, **extra) -> dict:
    return {**market.platform.headers, "On-Behalf-Of": str(person.id), **extra}


def test_the_marketplace_key_acts_as_the_user_named_on_behalf_of(market, pair):
    buyer, seller = pair
    order = market.order(buyer, seller)
    client = market.client

    me = client.get(f"{API}/me", headers=_as(market, buyer)).json()
    opened = client.post(f"{API}/disputes", headers=_as(market, buyer), json={
        "order_id": order["id"], "line_id": order["lines"][0]["id"], "received": True,
        "reason": "missing_items", "description": "One dress is missing."})
    accepted = client.post(f"{API}/disputes/{opened.json()['id']}/accept", headers=_as(market, seller),
                           json={"proposal_id": opened.json()["proposal"]["id"]})

    assert me == {"role": "buyer", "user_id": buyer.id}
    assert opened.status_code == 201 and opened.json()["your_role"] == "buyer"
    assert accepted.status_code == 200 and accepted.json()["your_role"] == "seller"
    timeline = buyer.get(f"/disputes/{opened.json()['id']}/timeline")["items"]
    assert [(e["actor"], e["actor_id"]) for e in timeline[:2]] == [("buyer", buyer.id), ("seller", seller.id)]


def test_on_behalf_of_a_user_has_only_that_users_rights(market, pair):
    buyer, seller = pair
    order = market.order(buyer, seller)
    stranger = market.buyer()
    client = market.client

    assert_error(client.get(f"{API}/orders/{order['id']}", headers=_as(market, stranger)), 404, "order_not_found")
    assert_error(client.post(f"{API}/orders", json=order_body(buyer, seller), headers=_as(market, buyer)),
                 403, "marketplace_only")
    assert market.count("/orders") == 1


def test_on_behalf_of_an_unknown_user_is_refused(market):
    headers = {**market.platform.headers, "On-Behalf-Of": "999999"}

    assert_error(market.client.get(f"{API}/me", headers=headers), 422, "unknown_user", "on-behalf-of")


# OpenAPI ----------------------------------------------------------------------------------------

def test_openapi_lists_the_dispute_endpoints(market):
    r = market.client.get("/openapi.json")

    assert r.status_code == 200
    paths = r.json()["paths"]
    expected = {
        ("post", "/api/v1/disputes"), ("get", "/api/v1/disputes"),
        ("get", "/api/v1/disputes/{dispute_id}"), ("get", "/api/v1/disputes/{dispute_id}/timeline"),
        ("post", "/api/v1/disputes/{dispute_id}/proposals"), ("post", "/api/v1/disputes/{dispute_id}/accept"),
        ("post", "/api/v1/disputes/{dispute_id}/reject"), ("post", "/api/v1/disputes/{dispute_id}/withdraw"),
        ("post", "/api/v1/disputes/{dispute_id}/arguments"), ("post", "/api/v1/disputes/{dispute_id}/verdict"),
        ("post", "/api/v1/disputes/{dispute_id}/verdict-replies"),
        ("post", "/api/v1/disputes/{dispute_id}/return-shipment"),
        ("post", "/api/v1/disputes/{dispute_id}/return-received"),
        ("post", "/api/v1/disputes/{dispute_id}/reship"), ("get", "/api/v1/arbitration/queue"),
    }
    listed = {(method, path) for path, ops in paths.items() for method in ops}
    assert expected <= listed
    schema = paths["/api/v1/disputes"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    new_dispute = r.json()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert {"order_id", "line_id", "received", "reason", "description"} <= set(new_dispute["required"])


# Invalid bodies: 422, the field named, nothing written ------------------------------------------

@pytest.mark.parametrize("change, field", [
    (lambda b: b["lines"][0].update(quantity=0), "lines.0.quantity"),
    (lambda b: b["lines"][0].update(unit_price=-1), "lines.0.unit_price"),
    (lambda b: b.pop("lines"), "lines"),
    (lambda b: b.update(colour="red"), "colour"),
    (lambda b: b.update(currency="DOLLARS"), "currency"),
])
def test_an_invalid_order_is_refused_with_the_field_named_and_nothing_written(market, pair, change, field):
    buyer, seller = pair
    market.order(buyer, seller)
    before = market.count("/orders")
    body = order_body(buyer, seller)
    change(body)

    r = market.platform.post("/orders", body, expect=None)

    assert_error(r, 422, "invalid_request", field)
    assert market.count("/orders") == before


def test_an_order_for_an_unknown_buyer_is_refused_and_nothing_written(market, pair):
    buyer, seller = pair

    r = market.platform.post("/orders", order_body(buyer, seller, buyer_id=seller.id), expect=None)

    assert_error(r, 422, "unknown_buyer", "buyer_id")
    assert market.count("/orders") == 0


@pytest.mark.parametrize("overrides, code, field", [
    ({"reason": "lost_in_space"}, "invalid_request", "reason"),
    ({"received": "maybe"}, "invalid_request", "received"),
    ({"description": ""}, "invalid_request", "description"),
    ({"amount": PRICE + 1}, "amount_out_of_range", "amount"),
    ({"quantity": 2}, "invalid_quantity", "quantity"),
])
def test_an_invalid_dispute_is_refused_with_the_field_named_and_the_line_left_free(
        market, pair, overrides, code, field):
    buyer, seller = pair
    order = market.order(buyer, seller)
    body = {"order_id": order["id"], "line_id": order["lines"][0]["id"], "received": True,
            "reason": "missing_items", "description": "One item is missing.", **overrides}

    assert_error(buyer.post("/disputes", body, expect=None), 422, code, field)

    assert market.count("/disputes") == 0 and market.count("/refunds") == 0
    assert buyer.order(order["id"])["lines"][0]["dispute_id"] is None
    market.open_dispute(buyer, order)  # R5: a refused attempt did not use up the line's one dispute


def test_an_invalid_proposal_leaves_the_dispute_unchanged(market, pair):
    buyer, seller = pair
    d = market.negotiating_dispute(buyer, seller)
    before = buyer.dispute(d["id"])

    negative = buyer.post(f"/disputes/{d['id']}/proposals", {"resolution": "refund_only", "amount": -5},
                          expect=None)
    too_much = buyer.post(f"/disputes/{d['id']}/proposals", {"resolution": "refund_only", "amount": PRICE + 1},
                          expect=None)
    missing = buyer.post(f"/disputes/{d['id']}/verdict-replies", {}, expect=None)

    assert_error(negative, 422, "invalid_request", "amount")
    assert_error(too_much, 422, "amount_out_of_range", "amount")
    assert "agree" in assert_error(missing, 422, "invalid_request", "agree")["message"]
    assert buyer.dispute(d["id"]) == before


def test_a_body_that_is_not_json_is_refused_with_422(market, pair):
    buyer, seller = pair
    before = market.count("/orders")

    r = market.client.post(f"{API}/orders", content=b"{not json", headers={
        **market.platform.headers, "Content-Type": "application/json"})

    body = assert_error(r, 422, "invalid_request", None)  # no field is at fault: the whole body is
    assert "json" in body["message"].lower()
    assert market.count("/orders") == before


def test_a_missing_body_is_refused_with_a_readable_message(market, pair):
    r = market.client.post(f"{API}/orders", headers=market.platform.headers)

    body = assert_error(r, 422, "invalid_request", None)
    assert "None" not in body["message"]
    assert market.count("/orders") == 0


def test_the_marketplace_sets_a_web_password_for_a_user_registered_over_the_api(market):
    buyer = market.buyer()
    done = market.platform.post(f"/users/{buyer.id}/password", {"password": "a long enough one"})
    assert done == {"user_id": buyer.id, "password_set": True}
    short = market.platform.post(f"/users/{buyer.id}/password", {"password": "short"}, expect=422)
    assert short.json()["code"] == "password_too_short" and short.json()["field"] == "password"
    assert buyer.post(f"/users/{buyer.id}/password", {"password": "a long enough one"},
                      expect=403).json()["code"] == "marketplace_only"
