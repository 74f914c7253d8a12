"""R40: carrier events over a signed tracking webhook, per parcel (the order's or a return's).

Ombuds' own JSON signed per Standard Webhooks, and AfterShip's format with its HMAC header.
"Delivered" or "returned to sender" lifts the R26 wait; a return's "delivered" starts the
seller's R18 timer; the pages show the checkpoints. Every bad request — a wrong, missing or
stale signature, an unknown parcel, a replayed event, a malformed payload — is a 4xx that
changes nothing.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from ombuds.adapters.carrier_webhooks import sign_aftership
from ombuds.adapters.clock import wall_now
from ombuds.bootstrap import create_app
from tests.conftest import MARKETPLACE_KEY, T0, settings_for
from tests.factories import Marketplace

SECRET = "whsec_" + "dHJhY2tpbmctc2VjcmV0LWZvci10ZXN0cw=="
AFTERSHIP_SECRET = "aftership-test-secret"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def market(database_url):
    settings = settings_for(database_url, tracking_webhook_secret=SECRET,
                            aftership_webhook_secret=AFTERSHIP_SECRET)
    with TestClient(create_app(settings)) as client:
        yield Marketplace(client, MARKETPLACE_KEY)


def checkpoint_body(tracking_number: str, status: str, at: datetime = T0, **extra) -> bytes:
    return json.dumps({"type": "parcel.checkpoint", "timestamp": at.isoformat(),
                       "data": {"tracking_number": tracking_number, "status": status,
                                "occurred_at": at.isoformat(), "location": "Moscow, RU", **extra}}).encode()


def signed(body: bytes, *, event_id: str | None = None, secret: str = SECRET, when: datetime | None = None) -> dict:
    event_id = event_id or f"msg_{uuid.uuid4().hex}"
    when = when or wall_now()
    return {"webhook-id": event_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, when, body.decode()),
            "content-type": "application/json"}


def carrier(market: Marketplace, tracking_number: str, status: str, at: datetime = T0, expect: int = 200,
            **headers):
    body = checkpoint_body(tracking_number, status, at)
    r = market.client.post("/api/v1/tracking/events", content=body, headers={**signed(body), **headers})
    assert r.status_code == expect, r.text
    return r.json()


def shipped(market, buyer, seller) -> tuple[dict, str]:
    order = market.order(buyer, seller)
    return order, order["shipment"]["tracking_number"]


def checkpoints(market: Marketplace, order: dict) -> list[dict]:
    return market.platform.get(f"/orders/{order['id']}/tracking")["parcels"]


# The rules ------------------------------------------------------------------------------

def test_R40_delivered_lifts_the_R26_wait_so_a_buyer_who_did_not_get_it_may_claim_at_once(market):
    buyer, seller = market.buyer(), market.seller()
    order, tracking = shipped(market, buyer, seller)
    refused = market.open_dispute(buyer, order, received=False, reason="not_received", expect=422)
    assert refused.json()["code"] == "delivery_time_not_over"  # R26: 10 days from shipping

    answer = carrier(market, tracking, "delivered", T0 + timedelta(hours=20))
    assert answer == {"parcel": "shipment", "order_id": order["id"], "dispute_id": None, "recorded": 1,
                      "received": 1, "already_received": False}
    assert buyer.order(order["id"])["state"] == "shipped"  # delivery does not complete the order (§3)
    market.open_dispute(buyer, order, received=False, reason="not_received")


def test_R40_returned_to_sender_lifts_the_R26_wait_too(market):
    buyer, seller = market.buyer(), market.seller()
    order, tracking = shipped(market, buyer, seller)
    carrier(market, tracking, "in_transit")
    assert market.open_dispute(buyer, order, received=False, reason="not_received", expect=422)
    carrier(market, tracking, "returned_to_sender", T0 + timedelta(days=3))
    market.open_dispute(buyer, order, received=False, reason="not_received")


def test_R40_a_returns_delivery_starts_the_sellers_R18_timer(market):
    buyer, seller = market.buyer(), market.seller()
    d = market.return_in_transit(buyer, seller)
    before = buyer.dispute(d["id"])
    policy = market.policy()
    assert before["deadline"]["name"] == "confirm_return_by"
    assert datetime.fromisoformat(before["deadline"]["at"]) == T0 + timedelta(days=30)  # R18: of shipping
    market.advance("2d")
    answer = carrier(market, d["return"]["tracking_number"], "delivered", T0 + timedelta(days=2))
    assert answer["parcel"] == "return" and answer["dispute_id"] == d["id"]
    after = buyer.dispute(d["id"])
    delivered_at = datetime.fromisoformat(after["return"]["delivered_at"])
    assert delivered_at == datetime.fromisoformat(market.now())
    assert datetime.fromisoformat(after["deadline"]["at"]) == \
        delivered_at + timedelta(days=policy["return_confirm_after_delivery_days"])  # R18: 15 days


def test_R40_aftership_webhooks_are_verified_by_their_hmac_and_each_checkpoint_kept_once(market):
    buyer, seller = market.buyer(), market.seller()
    order, tracking = shipped(market, buyer, seller)
    payload = aftership(tracking, [("InTransit", None, T0 + timedelta(days=1)),
                                   ("OutForDelivery", None, T0 + timedelta(days=4)),
                                   ("Delivered", "Delivered_001", T0 + timedelta(days=4, hours=5))])
    r = post_aftership(market, payload)
    assert r.status_code == 200, r.text
    assert r.json()["recorded"] == 3
    assert buyer.order(order["id"])["shipment"]["delivered_at"] is not None
    # AfterShip resends the whole history with the next update: nothing is kept twice.
    payload["event_id"] = str(uuid.uuid4())
    assert post_aftership(market, payload).json()["recorded"] == 0
    [parcel] = checkpoints(market, order)
    assert [c["status"] for c in parcel["checkpoints"]] == ["in_transit", "out_for_delivery", "delivered"]
    assert parcel["checkpoints"][0]["location"] == "Shenzhen, CHN"


def test_R40_aftership_returned_to_sender_is_its_exception_sub_tag(market):
    buyer, seller = market.buyer(), market.seller()
    order, tracking = shipped(market, buyer, seller)
    post_aftership(market, aftership(tracking, [("Exception", "Exception_011", T0 + timedelta(days=2))]))
    [parcel] = checkpoints(market, order)
    assert parcel["checkpoints"][-1]["status"] == "returned_to_sender"
    market.open_dispute(buyer, order, received=False, reason="not_received")  # R26 lifted


# Bad input changes nothing -------------------------------------------------------------

def test_R40_a_wrong_missing_or_stale_signature_is_refused_and_changes_nothing(market):
    buyer, seller = market.buyer(), market.seller()
    order, tracking = shipped(market, buyer, seller)
    body = checkpoint_body(tracking, "delivered")
    url = "/api/v1/tracking/events"
    wrong = market.client.post(url, content=body, headers=signed(body, secret="whsec_" + "d3Jvbmc="))
    missing = market.client.post(url, content=body, headers={"content-type": "application/json"})
    stale = market.client.post(url, content=body, headers=signed(body, when=wall_now() - timedelta(minutes=10)))
    tampered = market.client.post(url, content=body.replace(b"delivered", b"exception"), headers=signed(body))
    for r in (wrong, missing, stale, tampered):
        assert r.status_code == 401 and r.json()["code"] == "invalid_signature", r.text
    aftership_wrong = market.client.post("/api/v1/tracking/aftership", content=b"{}",
                                         headers={"aftership-hmac-sha256": "bm90IGl0"})
    aftership_missing = market.client.post("/api/v1/tracking/aftership", content=b"{}")
    for r in (aftership_wrong, aftership_missing):
        assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    assert buyer.order(order["id"])["shipment"]["delivered_at"] is None
    assert checkpoints(market, order) == []


def test_R40_an_unknown_parcel_is_404_and_a_replayed_event_acknowledged_once(market):
    buyer, seller = market.buyer(), market.seller()
    order, tracking = shipped(market, buyer, seller)
    unknown = carrier(market, "NO-SUCH-PARCEL", "delivered", expect=404)
    assert unknown["code"] == "parcel_not_found" and unknown["field"] == "tracking_number"

    body = checkpoint_body(tracking, "in_transit")
    headers = signed(body, event_id="msg_replayed")
    assert market.client.post("/api/v1/tracking/events", content=body, headers=headers).status_code == 200
    again = market.client.post("/api/v1/tracking/events", content=body, headers=headers)
    assert again.status_code == 200 and again.json()["already_received"] is True  # a retry stops here
    payload = aftership(tracking, [("Delivered", None, T0 + timedelta(days=1))])
    assert post_aftership(market, payload).status_code == 200
    replay = post_aftership(market, payload)
    assert replay.status_code == 200 and replay.json()["already_received"] is True
    [parcel] = checkpoints(market, order)
    assert len(parcel["checkpoints"]) == 2


@pytest.mark.parametrize("body, field", [
    (b"not json", None),
    (json.dumps({"type": "parcel.checkpoint", "data": {"tracking_number": "X", "status": "lost",
                                                       "occurred_at": T0.isoformat()}}).encode(), "data.status"),
    (json.dumps({"type": "parcel.checkpoint", "data": {"tracking_number": "X", "status": "delivered",
                                                       "occurred_at": "2026-03-02T09:00:00"}}).encode(),
     "data.occurred_at"),
    (json.dumps({"type": "something.else", "data": {}}).encode(), "type"),
    (json.dumps([1, 2]).encode(), None),
])
def test_R40_a_malformed_payload_is_422_and_changes_nothing(market, body, field):
    r = market.client.post("/api/v1/tracking/events", content=body, headers=signed(body))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_request"
    if field:
        assert r.json()["field"] == field


def test_R40_an_endpoint_without_its_secret_is_not_there(database_url):
    with TestClient(create_app(settings_for(database_url))) as client:
        r = client.post("/api/v1/tracking/events", content=b"{}")
        assert r.status_code == 404 and r.json()["code"] == "webhook_not_configured"


# The pages -----------------------------------------------------------------------------

def test_R40_the_order_dispute_and_case_pages_show_the_checkpoints(market):
    buyer, seller, arbitrator = market.buyer(language="ru"), market.seller(), market.arbitrator()
    order, tracking = shipped(market, buyer, seller)
    carrier(market, tracking, "in_transit", T0 + timedelta(days=1))
    carrier(market, tracking, "delivered", T0 + timedelta(days=3))
    d = market.escalated_dispute(buyer, seller, order)

    page = as_person(market, buyer, f"/orders/{order['id']}")
    assert "Отслеживание посылки" in page and "Вручена" in page and "Moscow, RU" in page
    assert "Вручена" in as_person(market, buyer, f"/disputes/{d['id']}")
    case = as_person(market, arbitrator, f"/disputes/{d['id']}")
    assert "Parcel tracking" in case and "Delivered" in case and "In transit" in case


# Helpers -------------------------------------------------------------------------------

def as_person(market: Marketplace, person, path: str) -> str:
    client = market.client
    client.cookies.clear()
    token = CSRF.search(client.get("/signin").text).group(1)
    client.post("/signin/demo", data={"csrf_token": token, "user_id": person.id}, follow_redirects=False)
    page = client.get(path)
    assert page.status_code == 200, page.text
    return page.text


def aftership(tracking: str, checkpoints_: list, event_id: str | None = None) -> dict:
    return {"event": "tracking_update", "event_id": event_id or str(uuid.uuid4()), "is_tracking_first_tag": False,
            "ts": int(T0.timestamp()),
            "msg": {"id": "5b7658cec7c33c0e007de3c5", "tracking_number": tracking, "slug": "china-post",
                    "tag": checkpoints_[-1][0], "subtag": checkpoints_[-1][1],
                    "checkpoints": [{"checkpoint_time": at.isoformat(), "tag": tag, "subtag": subtag,
                                     "city": "Shenzhen", "country_iso3": "CHN",
                                     "message": f"{tag} at the facility"} for tag, subtag, at in checkpoints_]}}


def post_aftership(market: Marketplace, payload: dict):
    body = json.dumps(payload).encode()
    return market.client.post("/api/v1/tracking/aftership", content=body,
                              headers={"aftership-hmac-sha256": sign_aftership(AFTERSHIP_SECRET, body),
                                       "content-type": "application/json"})
