"""Every form of the pages refuses a missing or wrong CSRF token; a buyer's session cannot
see another buyer's order or dispute (404, exactly as for a page that does not exist)."""

from __future__ import annotations

import re

import httpx

from ombuds.web import form_files, routes_account, routes_dispute_form, routes_disputes, routes_orders, routes_trust
from tests.e2e.web.conftest import csrf_of

MODULES = (routes_account, routes_orders, routes_dispute_form, form_files, routes_disputes, routes_trust)


def form_paths(order: dict, dispute_id: int) -> list[str]:
    """Every POST route the pages have, with real ids filled in."""
    ids = {"order_id": order["id"], "line_id": order["lines"][0]["id"], "dispute_id": dispute_id,
           "action": "accept"}
    paths = [r.path for m in MODULES for r in m.router.routes if "POST" in getattr(r, "methods", ())]
    assert len(paths) >= 15, paths
    return [re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), p) for p in paths]


def session_of(site, person) -> httpx.Client:
    """A browser-like session signed in from the demo list (with its CSRF token)."""
    client = httpx.Client(base_url=site.url, trust_env=False, follow_redirects=False, timeout=30)
    token = csrf_of(client.get("/signin").text)
    signed = client.post("/signin/demo", data={"csrf_token": token, "user_id": str(person.id)})
    assert signed.status_code == 303, signed.text
    return client


def test_every_form_refuses_a_missing_or_wrong_csrf_token(site):
    market = site.market
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, lines=((1850, 1), (650, 2)))
    dispute = market.open_dispute(buyer, order, 1)
    other = session_of(site, market.buyer())
    stolen = csrf_of(other.get("/account").text)  # a real token, of another session

    anonymous = httpx.Client(base_url=site.url, trust_env=False, follow_redirects=False, timeout=30)
    anonymous.get("/signin")  # it has a session (and a token) too
    session = session_of(site, buyer)
    token = csrf_of(session.get("/orders").text)
    for path in form_paths(order, dispute["id"]):
        for client in (anonymous, session):
            for sent in ({}, {"csrf_token": ""}, {"csrf_token": "not-the-token"}, {"csrf_token": stolen}):
                answer = client.post(path, data={**sent, "body": "hello", "days": "1", "lang": "ru"})
                assert answer.status_code == 403, f"POST {path} with {sent or 'no token'} → {answer.status_code}"
                assert "expired or did not come from Ombuds" in answer.text
                assert "set-cookie" not in answer.headers or "ombuds_lang" not in answer.headers["set-cookie"]
            header = client.post(path, data={"body": "hello"}, headers={"X-CSRF-Token": "not-the-token"})
            assert header.status_code == 403, f"POST {path} with a wrong header token"
    # Nothing happened: the order is still shipped, the dispute still waits for the seller.
    assert buyer.order(order["id"])["state"] == "shipped"
    assert buyer.dispute(dispute["id"])["state"] == "awaiting_seller"
    assert market.now().startswith("2026-03-02")
    # The same forms work with the session's own token (the test above is not vacuous).
    confirmed = session.post(f"/orders/{order['id']}/confirm", data={"csrf_token": token})
    assert confirmed.status_code == 303
    assert buyer.order(order["id"])["state"] == "completed"
    checked = session.post("/check/language", data={"description": "Hello there, the item is broken.",
                                                    "field": "description"}, headers={"X-CSRF-Token": token})
    assert checked.status_code == 200
    for client in (anonymous, session, other):
        client.close()


def test_a_buyer_cannot_open_another_buyers_order_or_dispute(site):
    market = site.market
    anna, ben, seller = market.buyer(), market.buyer(), market.seller()
    order = market.order(anna, seller)
    dispute = market.open_dispute(anna, order)
    page = site.visitor()
    page.goto("/signin")
    page.click(f"form[action='/signin/demo']:has(input[name=user_id][value='{ben.id}']) button")
    line = order["lines"][0]["id"]
    for path in (f"/orders/{order['id']}", f"/disputes/{dispute['id']}",
                 f"/orders/{order['id']}/lines/{line}/dispute", f"/orders/{order['id']}/complaint",
                 "/orders/999999", "/disputes/999999"):
        answer = page.goto(path)
        assert answer.status == 404, path
        assert page.locator("h1").inner_text() == "Not found"
        assert "Item 1" not in page.content() and "One item is missing" not in page.content()
    # His own pages do not list her order or dispute either.
    page.goto("/orders")
    assert page.locator(f"[data-testid=order-{order['id']}]").count() == 0
    page.goto("/inbox")
    assert page.locator(f"[data-testid=inbox-{dispute['id']}]").count() == 0
    # Acting on her dispute with his own valid token is refused the same way.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    acted = page.request.post(f"/disputes/{dispute['id']}/do/withdraw", form={"csrf_token": token},
                              max_redirects=0)
    assert acted.status == 404
    assert anna.dispute(dispute["id"])["state"] == "awaiting_seller"
    # Arbitrators' pages are not a buyer's either.
    assert page.goto("/arbitration").status == 404
    page.context.close()
