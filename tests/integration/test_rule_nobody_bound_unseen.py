"""R34: nobody is bound to what they have not seen.

Every proposal has an id; accepting names it and is refused with 409 ``proposal_changed``
(showing the proposal now on the table) if another replaced it. Dispute and order answers
carry their ``version`` and an ``ETag``; a party action sent with ``If-Match`` is refused with
412 ``version_mismatch`` when the dispute or the order moved on. The race: the seller reads a claim of 500,
the buyer amends it to 1,850 at the same moment as the seller accepts — 200 times on
PostgreSQL, and never is a refund made of an amount the seller was not shown.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ombuds.bootstrap import create_app
from tests.conftest import MARKETPLACE_KEY, settings_for

API = "/api/v1"


def test_R34_accepting_a_replaced_proposal_is_refused_and_shows_the_one_on_the_table(market):
    buyer, seller = market.buyer(), market.seller()
    d = market.open_dispute(buyer, market.order(buyer, seller), amount=500)
    seen = seller.dispute(d["id"])["proposal"]
    buyer.post(f"/disputes/{d['id']}/amend", {"resolution": "refund_only", "amount": 1850, "message": "All of it."})

    refused = seller.post(f"/disputes/{d['id']}/accept", {"proposal_id": seen["id"]}, expect=409).json()

    assert refused["code"] == "proposal_changed" and refused["field"] == "proposal_id"
    assert refused["proposal"]["amount"] == 1850 and refused["proposal"]["id"] == seen["id"] + 1
    assert buyer.dispute(d["id"])["state"] == "awaiting_seller" and seller.refunds() == []
    accepted = seller.post(f"/disputes/{d['id']}/accept", {"proposal_id": refused["proposal"]["id"]})
    assert accepted["state"] == "closed" and accepted["refunded_amount"] == 1850


def test_R34_answers_carry_the_version_as_an_etag_and_if_match_refuses_a_stale_one(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    d = market.open_dispute(buyer, order)
    read = market.client.get(f"{API}/disputes/{d['id']}", headers=seller.headers)
    assert read.headers["etag"] == f'"{read.json()["version"]}"'
    assert market.client.get(f"{API}/orders/{order['id']}", headers=buyer.headers).headers["etag"]
    buyer.post(f"/disputes/{d['id']}/amend", {"resolution": "refund_only", "amount": 900, "message": "Less."})

    stale = seller.post(f"/disputes/{d['id']}/reject", {"message": "We sent it."}, expect=412,
                        headers={"If-Match": read.headers["etag"]}).json()

    assert stale["code"] == "version_mismatch" and stale["version"] == read.json()["version"] + 1
    fresh = market.client.get(f"{API}/disputes/{d['id']}", headers=seller.headers).headers["etag"]
    done = seller.post(f"/disputes/{d['id']}/reject", {"message": "We sent it."}, headers={"If-Match": fresh})
    assert done["state"] == "negotiating"


@pytest.mark.postgres
def test_R34_amend_against_accept_200_times_never_refunds_an_amount_the_seller_was_not_shown(postgres_url):
    app = create_app(settings_for(postgres_url))

    async def run() -> list[tuple[int, int | None]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ombuds") as client:
            key = {"Authorization": f"Bearer {MARKETPLACE_KEY}"}

            async def post(path, body, headers):
                r = await client.post(f"{API}{path}", json=body, headers=headers)
                return r

            buyer = (await post("/users", {"name": "Anna", "email": "anna@race.test", "role": "buyer",
                                           "country": "RU"}, key)).json()
            seller = (await post("/users", {"name": "Star", "email": "star@race.test", "role": "seller",
                                            "country": "CN"}, key)).json()
            as_buyer = {"Authorization": f"Bearer {buyer['token']}"}
            as_seller = {"Authorization": f"Bearer {seller['token']}"}
            outcomes = []
            for i in range(200):
                order = (await post("/orders", {"buyer_id": buyer["id"], "seller_id": seller["id"], "currency": "USD",
                                                "payment_method": "visa",
                                                "lines": [{"title": "Dress", "unit_price": 1850, "quantity": 1}]},
                                    key)).json()
                await post(f"/orders/{order['id']}/ship", {"carrier": "DHL", "tracking_number": f"R{i}"}, as_seller)
                d = (await post("/disputes", {"order_id": order["id"], "line_id": order["lines"][0]["id"],
                                              "received": True, "reason": "missing_items", "amount": 500,
                                              "description": "One dress is missing."}, as_buyer)).json()
                shown = (await client.get(f"{API}/disputes/{d['id']}", headers=as_seller)).json()["proposal"]
                assert shown["amount"] == 500
                await asyncio.gather(
                    post(f"/disputes/{d['id']}/amend", {"resolution": "refund_only", "amount": 1850,
                                                        "message": "All of it."}, as_buyer),
                    post(f"/disputes/{d['id']}/accept", {"proposal_id": shown["id"]}, as_seller))
                refunds = (await client.get(f"{API}/refunds", params={"order_id": order["id"]},
                                            headers=key)).json()["items"]
                outcomes.append((len(refunds), refunds[0]["amount"] if refunds else None))
            return outcomes

    outcomes = asyncio.run(run())

    assert all(amount in (None, 500) for _, amount in outcomes), "a refund of an amount never shown"
    assert all(n <= 1 for n, _ in outcomes)


def test_R34_order_actions_carry_an_etag_and_refuse_a_stale_if_match_changing_nothing(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, ship=False)
    read = market.client.get(f"{API}/orders/{order['id']}", headers=seller.headers)
    assert read.headers["etag"] == f'"{read.json()["version"]}"'
    shipped = market.client.post(f"{API}/orders/{order['id']}/ship", json={"carrier": "DHL", "tracking_number": "JJD1"},
                                 headers={**seller.headers, "If-Match": read.headers["etag"]})
    assert shipped.status_code == 200 and shipped.headers["etag"] == f'"{read.json()["version"] + 1}"'

    stale = {"If-Match": read.headers["etag"]}
    for who, action, body in ((buyer, "cancel", None), (seller, "extend-protection", {"days": 5}),
                              (buyer, "confirm-receipt", None), (market.platform, "deliver", None)):
        refused = who.post(f"/orders/{order['id']}/{action}", body, expect=412, headers=stale).json()
        assert refused["code"] == "version_mismatch" and refused["field"] == "if-match", action
        assert (refused["version"], refused["state"]) == (shipped.json()["version"], "shipped"), action
    assert buyer.order(order["id"]) == shipped.json() and seller.payouts() == []  # nothing applied

    not_mine = buyer.post(f"/orders/{order['id']}/extend-protection", {"days": 5}, expect=403, headers=stale)
    assert not_mine.json()["code"] == "not_your_action"  # who may act is answered before the version
    extended = seller.post(f"/orders/{order['id']}/extend-protection", {"days": 5},
                           headers={"If-Match": shipped.headers["etag"]})
    confirmed = buyer.post(f"/orders/{order['id']}/confirm-receipt", headers={"If-Match": f'"{extended["version"]}"'})
    assert confirmed["state"] == "completed" and len(seller.payouts()) == 1
    bad = buyer.post(f"/orders/{order['id']}/confirm-receipt", expect=422, headers={"If-Match": "yesterday"})
    assert bad.json()["code"] == "invalid_if_match"


def test_R34_two_order_actions_on_the_same_version_at_once_apply_one_and_refuse_the_other(database_url):
    """Both read version v and pass the check; the write names v in its WHERE, so the second
    finds the order moved on and is answered 412, never applied on top of the first."""
    app = create_app(settings_for(database_url))

    async def run() -> list[tuple[list[int], int]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ombuds") as client:
            key = {"Authorization": f"Bearer {MARKETPLACE_KEY}"}
            buyer = (await client.post(f"{API}/users", json={"name": "Anna", "email": "anna@tags.test",
                                                             "role": "buyer", "country": "RU"}, headers=key)).json()
            seller = (await client.post(f"{API}/users", json={"name": "Star", "email": "star@tags.test",
                                                              "role": "seller", "country": "CN"}, headers=key)).json()
            as_seller = {"Authorization": f"Bearer {seller['token']}"}
            rounds = []
            for i in range(20):
                order = (await client.post(f"{API}/orders", headers=key, json={
                    "buyer_id": buyer["id"], "seller_id": seller["id"], "currency": "USD", "payment_method": "visa",
                    "lines": [{"title": "Dress", "unit_price": 1850, "quantity": 1}]})).json()
                shipped = await client.post(f"{API}/orders/{order['id']}/ship", headers=as_seller,
                                            json={"carrier": "DHL", "tracking_number": f"T{i}"})
                tag = {**as_seller, "If-Match": shipped.headers["etag"]}
                answers = await asyncio.gather(*[client.post(f"{API}/orders/{order['id']}/extend-protection",
                                                             json={"days": 5}, headers=tag) for _ in range(2)])
                now = (await client.get(f"{API}/orders/{order['id']}", headers=as_seller)).json()
                rounds.append((sorted(a.status_code for a in answers),
                               now["version"] - shipped.json()["version"]))
            return rounds

    rounds = asyncio.run(run())

    assert all(statuses == [200, 412] and applied == 1 for statuses, applied in rounds), rounds
