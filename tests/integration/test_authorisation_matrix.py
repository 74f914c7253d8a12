"""Who may call what: every operation of the OpenAPI description × every kind of caller.

The callers: no token, a wrong token, the order's buyer, its seller, another buyer, another
seller, an arbitrator, the marketplace key, and the marketplace key acting for the buyer
(``On-Behalf-Of``). Each operation runs against a fresh little world (an order with a
dispute, shipped; a complaint, a refund, evidence, a failed transfer or a webhook
endpoint where its path needs one), and the status each caller must get is written down
below as data:

- ``401``, ``403``, ``404``: refused for who the caller is (404: as if it did not exist);
- ``ok``: allowed — a 2xx, or a 409/422 about the state or the request, never 401/403/404.

Webhooks from Stripe and the carriers take no bearer token: unsigned, every caller gets 401;
signed, every caller is taken (the second test).

Callers who must be refused run first, so that an allowed caller's change cannot hide a
leak. An operation the table does not list fails the test: a new endpoint needs its row.
"""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from standardwebhooks import Webhook

from ombuds.adapters.carrier_webhooks import sign_aftership
from ombuds.adapters.clock import wall_now
from ombuds.bootstrap import create_app
from ombuds.store import tables as t
from ombuds.store.tables_stripe import payout_transfers
from tests.conftest import MARKETPLACE_KEY, T0, settings_for
from tests.evidence_files import jpeg
from tests.factories import Marketplace
from tests.stripe_servers import event, signed_event

CALLERS = ("none", "wrong", "buyer", "seller", "other_buyer", "other_seller", "arbitrator", "marketplace",
           "marketplace_as_buyer")

PUBLIC = "ok ok ok ok ok ok ok ok ok"
SIGNED_IN = "401 401 ok ok ok ok ok ok ok"
MARKETPLACE = "401 401 403 403 403 403 403 ok 403"
STAFF = "401 401 403 403 403 403 ok ok 403"
PARTIES_AND_STAFF = "401 401 ok ok 404 404 ok ok ok"
SELLER_ACTS = "401 401 403 ok 404 404 403 403 403"  # a dispute action only the seller takes here
BUYER_ACTS = "401 401 ok 403 404 404 403 403 ok"
EITHER_PARTY = "401 401 ok ok 404 404 403 403 ok"
SIGNATURE_ONLY = "401 401 401 401 401 401 401 401 401"  # unsigned, whatever the bearer token

#                                                  none wrong buyer seller b2 s2 arb mkt mkt-as-buyer
EXPECTED: dict[str, str] = {
    "POST /api/v1/users": MARKETPLACE,
    "POST /api/v1/users/{user_id}/password": MARKETPLACE,
    "POST /api/v1/users/{user_id}/sessions/end": MARKETPLACE,
    "PUT /api/v1/users/{user_id}/time-zone": MARKETPLACE,
    "POST /api/v1/users/{user_id}/sign-in-links": MARKETPLACE,
    "GET /api/v1/me": SIGNED_IN,
    "POST /api/v1/orders": MARKETPLACE,
    "GET /api/v1/orders": SIGNED_IN,
    "GET /api/v1/orders/{order_id}": PARTIES_AND_STAFF,
    "POST /api/v1/orders/{order_id}/ship": "401 401 403 ok 404 404 403 ok 403",
    "POST /api/v1/orders/{order_id}/deliver": MARKETPLACE,
    "POST /api/v1/orders/{order_id}/confirm-receipt": "401 401 ok 403 404 404 403 ok ok",
    "POST /api/v1/orders/{order_id}/extend-protection": "401 401 403 ok 404 404 403 ok 403",
    "POST /api/v1/orders/{order_id}/cancel": "401 401 ok 403 404 404 403 ok ok",
    "POST /api/v1/orders/{order_id}/messages": PARTIES_AND_STAFF,
    "POST /api/v1/orders/{order_id}/protection-requests": "401 401 ok 403 404 404 403 ok ok",
    "GET /api/v1/orders/{order_id}/protection-requests": PARTIES_AND_STAFF,
    "POST /api/v1/orders/{order_id}/protection-requests/{request_id}/grant": "401 401 403 ok 404 404 403 ok 403",
    "POST /api/v1/orders/{order_id}/protection-requests/{request_id}/decline": "401 401 403 ok 404 404 403 ok 403",
    "GET /api/v1/orders/{order_id}/messages": PARTIES_AND_STAFF,
    "POST /api/v1/disputes": "401 401 ok 403 404 404 403 ok ok",
    "GET /api/v1/disputes": SIGNED_IN,
    "GET /api/v1/disputes/{dispute_id}": PARTIES_AND_STAFF,
    "GET /api/v1/disputes/{dispute_id}/timeline": PARTIES_AND_STAFF,
    "POST /api/v1/disputes/{dispute_id}/amend": BUYER_ACTS,
    "POST /api/v1/disputes/{dispute_id}/proposals": SELLER_ACTS,  # while the seller has not answered
    "POST /api/v1/disputes/{dispute_id}/accept": SELLER_ACTS,
    "POST /api/v1/disputes/{dispute_id}/reject": SELLER_ACTS,
    "POST /api/v1/disputes/{dispute_id}/withdraw": BUYER_ACTS,
    "POST /api/v1/disputes/{dispute_id}/escalate": EITHER_PARTY,
    "POST /api/v1/disputes/{dispute_id}/arguments": EITHER_PARTY,
    "POST /api/v1/disputes/{dispute_id}/verdict": "401 401 403 403 403 403 ok ok 403",
    "POST /api/v1/disputes/{dispute_id}/verdict-replies": EITHER_PARTY,
    "POST /api/v1/disputes/{dispute_id}/return-shipment": BUYER_ACTS,
    "POST /api/v1/disputes/{dispute_id}/return-delivered": "401 401 403 403 404 404 403 ok 403",
    "POST /api/v1/disputes/{dispute_id}/return-received": SELLER_ACTS,
    "POST /api/v1/disputes/{dispute_id}/reship": SELLER_ACTS,
    "POST /api/v1/disputes/{dispute_id}/notes": "401 401 404 404 404 404 ok ok 404",
    "GET /api/v1/disputes/{dispute_id}/notes": "401 401 404 404 404 404 ok ok 404",
    "POST /api/v1/disputes/{dispute_id}/evidence": "401 401 ok ok 404 404 403 403 ok",
    "GET /api/v1/disputes/{dispute_id}/evidence": PARTIES_AND_STAFF,
    "GET /api/v1/evidence/{evidence_id}/file": PARTIES_AND_STAFF,
    "GET /api/v1/evidence/{evidence_id}/thumbnail": PARTIES_AND_STAFF,
    "GET /api/v1/evidence/limits": PUBLIC,
    "POST /api/v1/language-check": SIGNED_IN,
    "GET /api/v1/refunds": SIGNED_IN,
    "GET /api/v1/payouts": SIGNED_IN,
    "POST /api/v1/refunds/{refund_id}/retry": MARKETPLACE,
    "POST /api/v1/refunds/{refund_id}/settlement": MARKETPLACE,
    "GET /api/v1/balances/sellers/{seller_id}": "401 401 404 ok 404 404 ok ok 404",
    "GET /api/v1/balances/buyers/{buyer_id}": "401 401 ok 404 404 404 ok ok ok",
    "GET /api/v1/policy": PUBLIC,
    "GET /api/v1/lifecycle": PUBLIC,
    "GET /api/v1/clock": PUBLIC,
    "POST /api/v1/clock/advance": MARKETPLACE,
    "GET /api/v1/webhooks": MARKETPLACE,
    "POST /api/v1/webhooks": MARKETPLACE,
    "GET /api/v1/webhooks/{endpoint_id}": MARKETPLACE,
    "DELETE /api/v1/webhooks/{endpoint_id}": MARKETPLACE,
    "POST /api/v1/webhooks/{endpoint_id}/enable": MARKETPLACE,
    "GET /api/v1/webhooks/{endpoint_id}/deliveries": MARKETPLACE,
    "GET /api/v1/sellers/flagged": STAFF,
    "GET /api/v1/sellers/{seller_id}/rating": SIGNED_IN,
    "GET /api/v1/sellers/{seller_id}/timeline": "401 401 404 ok 404 404 ok ok 404",
    "POST /api/v1/sellers/{seller_id}/penalties": STAFF,
    "GET /api/v1/buyers/{buyer_id}/risk": STAFF,
    "GET /api/v1/arbitration/queue": STAFF,
    "GET /api/v1/arbitration/cases/{dispute_id}": STAFF,
    "GET /api/v1/arbitration/alerts": STAFF,
    "POST /api/v1/complaints": "401 401 ok 403 404 404 403 ok ok",
    "GET /api/v1/complaints": SIGNED_IN,
    "GET /api/v1/complaints/{complaint_id}": "401 401 ok 404 404 404 ok ok ok",
    "POST /api/v1/complaints/{complaint_id}/answer": "401 401 403 404 404 404 ok ok 403",
    "POST /api/v1/complaints/{complaint_id}/goodwill-refund": "401 401 403 404 404 404 ok ok 403",
    "POST /api/v1/complaints/{complaint_id}/penalty": "401 401 403 404 404 404 ok ok 403",
    "POST /api/v1/complaints/{complaint_id}/close": "401 401 ok 404 404 404 ok ok ok",
    "POST /api/v1/complaints/{complaint_id}/withdraw": "401 401 ok 404 404 404 403 403 ok",
    "GET /api/v1/dashboard": STAFF,
    "GET /api/v1/disputes/{dispute_id}/case-file": PARTIES_AND_STAFF,
    "GET /api/v1/orders/{order_id}/tracking": PARTIES_AND_STAFF,
    "GET /api/v1/orders/{order_id}/chargebacks": "401 401 403 403 404 404 ok ok 403",
    "GET /api/v1/orders/{order_id}/transfers": "401 401 403 ok 404 404 ok ok 403",
    "POST /api/v1/transfers/{transfer_id}/retry": MARKETPLACE,
    # Webhooks: the signature is the credential, never a bearer token (see SIGNED below).
    "POST /api/v1/stripe/webhooks": SIGNATURE_ONLY,
    "POST /api/v1/tracking/events": SIGNATURE_ONLY,
    "POST /api/v1/tracking/aftership": SIGNATURE_ONLY,
}

BODIES: dict[str, dict] = {
    "POST /api/v1/users": {"name": "Lena", "email": "lena-{n}@example.test", "role": "buyer", "country": "CZ"},
    "POST /api/v1/users/{user_id}/password": {"password": "correct horse battery"},
    "PUT /api/v1/users/{user_id}/time-zone": {"time_zone": "Europe/Prague"},
    "POST /api/v1/users/{user_id}/sign-in-links": {},
    "POST /api/v1/orders": {"buyer_id": "{buyer_id}", "seller_id": "{seller_id}", "currency": "USD",
                            "payment_method": "visa", "lines": [{"title": "Clips", "unit_price": 100, "quantity": 1}]},
    "POST /api/v1/orders/{order_id}/ship": {"carrier": "DHL", "tracking_number": "JJD1"},
    "POST /api/v1/orders/{order_id}/extend-protection": {"days": 5},
    "POST /api/v1/orders/{order_id}/messages": {"body": "Where is it?"},
    "POST /api/v1/orders/{order_id}/protection-requests": {"reason": "Held at customs."},
    "POST /api/v1/orders/{order_id}/protection-requests/{request_id}/grant": {"days": 5},
    "POST /api/v1/disputes": {"order_id": "{order_id}", "line_id": "{free_line_id}", "received": True,
                              "reason": "damaged", "description": "The case is cracked."},
    "POST /api/v1/disputes/{dispute_id}/amend": {"resolution": "refund_only", "amount": 500, "message": "Less."},
    "POST /api/v1/disputes/{dispute_id}/proposals": {"resolution": "refund_only", "amount": 500, "message": "Half."},
    "POST /api/v1/disputes/{dispute_id}/reject": {"message": "Everything was sent."},
    "POST /api/v1/disputes/{dispute_id}/accept": {"proposal_id": 1},
    "POST /api/v1/disputes/{dispute_id}/arguments": {"message": "See the photos."},
    "POST /api/v1/disputes/{dispute_id}/verdict": {"refund_amount": 500, "message": "Half."},
    "POST /api/v1/disputes/{dispute_id}/verdict-replies": {"agree": True},
    "POST /api/v1/disputes/{dispute_id}/return-shipment": {"carrier": "DHL", "tracking_number": "JJD2"},
    "POST /api/v1/disputes/{dispute_id}/return-received": {"condition": "as_sent"},
    "POST /api/v1/disputes/{dispute_id}/reship": {"carrier": "DHL", "tracking_number": "JJD3"},
    "POST /api/v1/disputes/{dispute_id}/notes": {"body": "Staff only."},
    "POST /api/v1/language-check": {"text": "The parcel never arrived."},
    "POST /api/v1/clock/advance": {"duration": "1h"},
    "POST /api/v1/webhooks": {"url": "http://127.0.0.1:9/hooks", "event_types": ["*"]},
    "POST /api/v1/sellers/{seller_id}/penalties": {"kind": "warning", "reason": "Late answers."},
    "POST /api/v1/complaints": {"order_id": "{closed_order_id}", "message": "The case broke."},
    "POST /api/v1/complaints/{complaint_id}/answer": {"message": "We are looking into it."},
    "POST /api/v1/complaints/{complaint_id}/goodwill-refund": {"amount": 100, "message": "Sorry."},
    "POST /api/v1/complaints/{complaint_id}/penalty": {"kind": "warning", "reason": "Broken goods."},
}


TRACKING_SECRET = "whsec_" + "bWF0cml4LXRyYWNraW5nLXNlY3JldA=="
AFTERSHIP_SECRET = "matrix-aftership-secret"
STRIPE_SECRET = "whsec_matrix_stripe"


@pytest.fixture(scope="module")
def world_app(tmp_path_factory, sqlite_databases):
    url = sqlite_databases.create()
    settings = settings_for(url, tracking_webhook_secret=TRACKING_SECRET, aftership_webhook_secret=AFTERSHIP_SECRET,
                            stripe_webhook_secret=STRIPE_SECRET)
    with TestClient(create_app(settings)) as client:
        yield client


def _operations(client) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops]


def test_every_operation_has_its_row_in_the_matrix(world_app):
    listed = {f"{m} {p}" for m, p in _operations(world_app)}
    assert listed - EXPECTED.keys() == set(), "operations without expectations"
    assert EXPECTED.keys() - listed == set(), "expectations for operations that do not exist"


_n = iter(range(10**6))


def _world(market: Marketplace, path: str) -> dict:
    """The people, and the things the operation's path names, fresh for each operation."""
    buyer, seller = market.buyer(), market.seller()
    people = {"buyer": buyer, "seller": seller, "other_buyer": market.buyer(), "other_seller": market.seller(),
              "arbitrator": market.arbitrator()}
    order = market.order(buyer, seller, [(1850, 1), (650, 1)])
    ids = {"order_id": order["id"], "user_id": buyer.id, "buyer_id": buyer.id, "seller_id": seller.id,
           "free_line_id": order["lines"][1]["id"], "tracking_number": order["shipment"]["tracking_number"],
           "n": next(_n)}
    if "{dispute_id}" in path or "{refund_id}" in path or "{evidence_id}" in path:
        d = market.open_dispute(buyer, order)
        ids["dispute_id"] = d["id"]
        if "{refund_id}" in path:
            seller.accept(d["id"])
            ids["refund_id"] = buyer.refunds(order_id=order["id"])[0]["id"]
        if "{evidence_id}" in path:
            r = market.client.post(f"/api/v1/disputes/{d['id']}/evidence", headers=buyer.headers,
                                   files={"file": ("box.jpg", jpeg(), "image/jpeg")})
            ids["evidence_id"] = r.json()["id"]
    if "{request_id}" in path:  # R38: the buyer asked for more protection
        ids["request_id"] = buyer.post(f"/orders/{order['id']}/protection-requests", {"reason": "Customs."},
                                       expect=201)["id"]
    if "{complaint_id}" in path or path == "/api/v1/complaints":
        buyer.confirm_receipt(order["id"])
        market.advance("16d")  # the R6 window is over: only a complaint remains
        ids["closed_order_id"] = order["id"]
        if "{complaint_id}" in path:
            ids["complaint_id"] = buyer.post("/complaints", {"order_id": order["id"], "message": "Broken."},
                                             expect=201)["id"]
    if "{transfer_id}" in path:  # a payout's transfer that failed six times, waiting for the operator
        buyer.confirm_receipt(order["id"])
        ids["transfer_id"] = _failed_transfer(market, order)
    if "{endpoint_id}" in path:
        ids["endpoint_id"] = market.platform.post("/webhooks", {"url": "http://127.0.0.1:9/h", "event_types": ["*"]},
                                                  expect=201)["id"]
    return {"people": people, "ids": ids}


def _failed_transfer(market: Marketplace, order: dict) -> int:
    async def insert_one() -> int:
        async with market.client.app.state.ombuds.engine.begin() as conn:
            payout = (await conn.execute(select(t.payouts).where(t.payouts.c.order_id == order["id"]))).first()
            return (await conn.execute(payout_transfers.insert().values(
                line_id=payout.line_id, payout_id=payout.id, order_id=order["id"], seller_id=payout.seller_id,
                destination="acct_1Matrix", amount=100, currency="USD", idempotency_key=f"payout-line-{payout.line_id}",
                created_at=T0, next_attempt_at=None, attempts=6, last_error="card_declined")
                .returning(payout_transfers.c.id))).scalar_one()
    return market.client.portal.call(insert_one)


def _headers(who: str, people: dict) -> dict:
    if who == "none":
        return {}
    if who == "wrong":
        return {"Authorization": "Bearer not-a-token"}
    if who == "marketplace":
        return {"Authorization": f"Bearer {MARKETPLACE_KEY}"}
    if who == "marketplace_as_buyer":
        return {"Authorization": f"Bearer {MARKETPLACE_KEY}", "On-Behalf-Of": str(people["buyer"].id)}
    return people[who].headers


def _fill(value, ids: dict):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_each_caller_gets_what_the_matrix_says(world_app, operation):
    method, path = operation.split(" ", 1)
    market = Marketplace(world_app, MARKETPLACE_KEY)
    world = _world(market, path)
    url = _fill(path, world["ids"])
    expected = dict(zip(CALLERS, EXPECTED[operation].split(), strict=True))
    wrong = []
    for who in sorted(CALLERS, key=lambda c: expected[c] == "ok"):  # the refused first
        kwargs = {"headers": _headers(who, world["people"])}
        if path.endswith("/evidence") and method == "POST":
            kwargs["files"] = {"file": ("unboxing.jpg", jpeg(seed=5), "image/jpeg")}
        elif method not in ("GET", "DELETE"):
            kwargs["json"] = _fill(BODIES.get(operation, {}), world["ids"])
        got = world_app.request(method, url, **kwargs).status_code
        want = expected[who]
        if got >= 500 or (want == "ok" and got in (401, 403, 404)) or (want != "ok" and str(got) != want):
            wrong.append(f"{who}: expected {want}, got {got}")
    assert not wrong, f"{operation}: " + "; ".join(wrong)


def _signed(operation: str, market: Marketplace, tracking_number: str) -> tuple[bytes, dict]:
    """A well-signed event for a webhook operation, about the world's parcel (or a charge)."""
    now = market.now()
    if operation == "POST /api/v1/stripe/webhooks":
        return signed_event(STRIPE_SECRET, event("charge.succeeded", {"id": f"ch_{uuid.uuid4().hex}",
                                                                      "object": "charge"}))
    if operation == "POST /api/v1/tracking/aftership":
        body = json.dumps({"event": "tracking_update", "event_id": str(uuid.uuid4()), "msg": {
            "tracking_number": tracking_number, "slug": "dhl", "tag": "InTransit",
            "checkpoints": [{"checkpoint_time": now, "tag": "InTransit", "message": "Sorted"}]}}).encode()
        return body, {"aftership-hmac-sha256": sign_aftership(AFTERSHIP_SECRET, body),
                      "content-type": "application/json"}
    body = json.dumps({"type": "parcel.checkpoint", "timestamp": now, "data": {
        "tracking_number": tracking_number, "status": "in_transit", "occurred_at": now}}).encode()
    event_id, when = f"msg_{uuid.uuid4().hex}", wall_now()
    return body, {"webhook-id": event_id, "webhook-timestamp": str(int(when.timestamp())),
                  "webhook-signature": Webhook(TRACKING_SECRET).sign(event_id, when, body.decode()),
                  "content-type": "application/json"}


SIGNED = sorted(op for op, row in EXPECTED.items() if row == SIGNATURE_ONLY)


@pytest.mark.parametrize("operation", SIGNED)
def test_a_webhooks_signature_is_its_only_credential(world_app, operation):
    """The other side of SIGNATURE_ONLY: a well-signed event is taken from any caller, with or
    without a bearer token, and no token (not even the marketplace key) stands in for it."""
    method, path = operation.split(" ", 1)
    market = Marketplace(world_app, MARKETPLACE_KEY)
    world = _world(market, path)
    wrong = []
    for who in CALLERS:
        body, signature = _signed(operation, market, world["ids"]["tracking_number"])
        got = world_app.request(method, path, content=body,
                                headers={**_headers(who, world["people"]), **signature}).status_code
        if got >= 500 or got in (401, 403, 404):
            wrong.append(f"{who}: got {got}")
    assert len(SIGNED) == 3 and not wrong, f"{operation}: " + "; ".join(wrong)
