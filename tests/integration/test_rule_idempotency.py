"""R35: an Idempotency-Key means exactly once.

The key's record and its answer commit in the same transaction as the change: a request that
never committed leaves nothing, so its retry runs at once; a retry after a commit replays
exactly the first answer (status, body and headers); the same key sent twice at once runs
the change once. Keys are kept 24 hours. Uploads are keyed too.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from ombuds.adapters.clock import wall_now
from ombuds.bootstrap import create_app
from ombuds.services import orders
from ombuds.services.context import PLATFORM
from ombuds.store import request_transaction
from ombuds.store.tables import idempotency_keys
from tests.conftest import MARKETPLACE_KEY, T0, settings_for
from tests.evidence_files import jpeg
from tests.factories import Marketplace

API = "/api/v1"


def _order(buyer, seller, title: str = "Hair clips") -> dict:
    return {"buyer_id": buyer.id, "seller_id": seller.id, "currency": "USD", "payment_method": "visa",
            "lines": [{"title": title, "unit_price": 1850, "quantity": 1}]}


def _count_orders(market) -> int:
    return len(market.platform.get("/orders", params={"limit": 200})["items"])


def _keyed(market, key: str) -> dict:
    return {**market.platform.headers, "Idempotency-Key": key}


def test_R35_a_request_that_failed_after_its_change_leaves_nothing_and_its_retry_runs_at_once(database_url):
    """A 5xx after the change was made (the old "500 after commit") rolls the change back with it."""
    app = create_app(settings_for(database_url))
    fail = {"on": True}
    broken = APIRouter()

    @broken.post("/api/v1/test/order-then-fail")
    async def order_then_fail(body: dict) -> dict:
        ombuds = app.state.ombuds
        order = await orders.create_order(ombuds, caller=PLATFORM, buyer_id=body["buyer_id"],
                                          seller_id=body["seller_id"], currency="USD",
                                          payment_method="visa", lines=[orders.NewLine("Clips", 100, 1)])
        if fail["on"]:
            raise RuntimeError("the answer could not be rendered")
        return {"id": order.id}

    app.include_router(broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        market = Marketplace(client, MARKETPLACE_KEY)
        buyer, seller = market.buyer(), market.seller()
        body = {"buyer_id": buyer.id, "seller_id": seller.id}
        first = client.post(f"{API}/test/order-then-fail", json=body, headers=_keyed(market, "k-500"))
        assert first.status_code == 500
        assert _count_orders(market) == 0  # nothing of it was committed

        fail["on"] = False
        retry = client.post(f"{API}/test/order-then-fail", json=body, headers=_keyed(market, "k-500"))
        again = client.post(f"{API}/test/order-then-fail", json=body, headers=_keyed(market, "k-500"))
        assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "false"
        assert again.json() == retry.json() and again.headers["idempotent-replayed"] == "true"
        assert _count_orders(market) == 1


def test_R35_a_crash_before_the_commit_leaves_nothing_and_the_retry_runs_once(database_url, monkeypatch):
    """The process dies after the change and the answer, before the one commit: nothing is kept."""
    app = create_app(settings_for(database_url))
    real_finish = request_transaction.RequestTransaction.finish
    crash = {"on": True}

    async def dying_finish(self, *, commit: bool):
        if commit and crash["on"]:
            await real_finish(self, commit=False)  # what the database does when the process dies
            raise ConnectionResetError("the server died")
        await real_finish(self, commit=commit)

    monkeypatch.setattr(request_transaction.RequestTransaction, "finish", dying_finish)
    with TestClient(app, raise_server_exceptions=False) as client:
        market = Marketplace(client, MARKETPLACE_KEY)
        buyer, seller = market.buyer(), market.seller()
        lost = client.post(f"{API}/orders", json=_order(buyer, seller), headers=_keyed(market, "checkout-1"))
        assert lost.status_code == 503 and lost.json()["code"] == "not_saved"
        assert _count_orders(market) == 0

        crash["on"] = False
        first = client.post(f"{API}/orders", json=_order(buyer, seller), headers=_keyed(market, "checkout-1"))
        second = client.post(f"{API}/orders", json=_order(buyer, seller), headers=_keyed(market, "checkout-1"))
        assert first.status_code == second.status_code == 201
        assert second.content == first.content and second.headers["idempotent-replayed"] == "true"
        assert _count_orders(market) == 1


def test_R35_a_late_action_refused_after_timers_applied_keeps_both_and_replays_the_409(market):
    buyer, seller = market.buyer(), market.seller()
    d = market.open_dispute(buyer, market.order(buyer, seller))
    market.set_clock_without_sweeping(T0 + timedelta(days=6))  # respond_by passed, unswept
    key = {"Idempotency-Key": "late-accept"}

    first = seller.post(f"/disputes/{d['id']}/accept", {"proposal_id": d["proposal"]["id"]}, headers=key, expect=None)
    second = seller.post(f"/disputes/{d['id']}/accept", {"proposal_id": d["proposal"]["id"]}, headers=key, expect=None)

    assert first.status_code == second.status_code == 409
    assert first.json()["code"] == "deadline_passed" and second.content == first.content
    assert buyer.dispute(d["id"])["state"] == "closed"  # the timer it applied was kept


def test_R35_the_same_key_for_another_request_is_refused(market):
    buyer, seller = market.buyer(), market.seller()
    market.client.post(f"{API}/orders", json=_order(buyer, seller), headers=_keyed(market, "k"))
    other = market.client.post(f"{API}/orders", json=_order(buyer, seller, "Mouse"), headers=_keyed(market, "k"))
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert _count_orders(market) == 1


def test_R35_keys_are_kept_24_hours(market):
    buyer, seller = market.buyer(), market.seller()
    market.client.post(f"{API}/orders", json=_order(buyer, seller), headers=_keyed(market, "daily"))

    async def age():
        async with market.client.app.state.ombuds.engine.connect() as conn:
            await conn.execute(update(idempotency_keys).values(created_at=wall_now() - timedelta(hours=25)))
            await conn.commit()
    market.client.portal.call(age)

    again = market.client.post(f"{API}/orders", json=_order(buyer, seller), headers=_keyed(market, "daily"))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "false"
    assert _count_orders(market) == 2

    async def aged_out():  # another keyed request removes what expired
        async with market.client.app.state.ombuds.engine.connect() as conn:
            await conn.execute(update(idempotency_keys).values(created_at=wall_now() - timedelta(hours=30)))
            await conn.commit()
    market.client.portal.call(aged_out)
    market.client.post(f"{API}/orders", json=_order(buyer, seller), headers=_keyed(market, "another"))

    async def kept():
        async with market.client.app.state.ombuds.engine.connect() as conn:
            return (await conn.execute(select(idempotency_keys.c.key))).scalars().all()
    assert market.client.portal.call(kept) == ["another"]


def test_R35_a_keyed_upload_is_replayed_not_stored_twice(market):
    buyer, seller = market.buyer(), market.seller()
    d = market.open_dispute(buyer, market.order(buyer, seller))
    photo = jpeg(seed=1)
    first = market.client.post(f"{API}/disputes/{d['id']}/evidence", files={"file": ("box.jpg", photo, "image/jpeg")},
                               headers={**buyer.headers, "Idempotency-Key": "photo-1"})
    second = market.client.post(f"{API}/disputes/{d['id']}/evidence", files={"file": ("box.jpg", photo, "image/jpeg")},
                                headers={**buyer.headers, "Idempotency-Key": "photo-1"})
    other = market.client.post(f"{API}/disputes/{d['id']}/evidence",
                               files={"file": ("box.jpg", jpeg(seed=2), "image/jpeg")},
                               headers={**buyer.headers, "Idempotency-Key": "photo-1"})

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert buyer.get(f"/disputes/{d['id']}/evidence")["counts"]["buyer"] == 1


@pytest.mark.postgres
def test_R35_the_same_key_sent_twice_at_once_records_one_order_and_one_answer(postgres_url):
    app = create_app(settings_for(postgres_url))

    async def run():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ombuds") as client:
            async def post(path, body, headers):
                return await client.post(f"{API}{path}", json=body, headers=headers)
            key = {"Authorization": f"Bearer {MARKETPLACE_KEY}"}
            buyer = (await post("/users", {"name": "Anna", "email": "anna@x.test", "role": "buyer",
                                           "country": "RU"}, key)).json()
            seller = (await post("/users", {"name": "Star", "email": "star@x.test", "role": "seller",
                                            "country": "CN"}, key)).json()
            body = {"buyer_id": buyer["id"], "seller_id": seller["id"], "currency": "USD",
                    "payment_method": "visa", "lines": [{"title": "Clips", "unit_price": 100, "quantity": 1}]}
            answers = await asyncio.gather(*(post("/orders", body, {**key, "Idempotency-Key": f"twin-{i // 4}"})
                                             for i in range(8)))
            listed = (await client.get(f"{API}/orders", params={"limit": 200}, headers=key)).json()["items"]
            return answers, listed
    answers, listed = asyncio.run(run())

    assert [a.status_code for a in answers] == [201] * 8
    assert len({a.content for a in answers[:4]}) == 1 and len({a.content for a in answers[4:]}) == 1
    assert len(listed) == 2
