"""What the dispute and case pages offer and keep, read from the HTML the app serves (the
browser tests cover the same pages in Chromium; these run in-process on both databases)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.factories import Person


def signed_in(client, person: Person, lang: str = "en"):
    """A page session for ``person`` (the demo's "sign in as…", allowed with a manual clock)."""
    client.cookies.clear()
    client.cookies.set("ombuds_lang", lang)
    html = client.get("/signin").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = client.post("/signin/demo", data={"csrf_token": token, "user_id": str(person.id)}, follow_redirects=False)
    assert r.status_code == 303
    return client


def csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_a_refused_rejection_comes_back_with_what_was_typed_and_why(client, market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    d = market.open_dispute(buyer, order)
    seller.propose(d["id"], amount=900, message="Half of it.")
    signed_in(client, buyer, "ru")
    page = client.get(f"/disputes/{d['id']}").text
    # The reason box is required and live-checked: its attributes are not glued together.
    box = re.search(r'<textarea id="msg-reject"[^>]*>', page).group(0)
    assert re.search(r"\srequired\s", box) and re.search(r"\shx-post=", box) and "requiredhx" not in page
    typed = "Это платье так и не пришло, половина меня не устраивает."
    r = client.post(f"/disputes/{d['id']}/do/reject", data={"csrf_token": csrf(client, f"/disputes/{d['id']}"),
                                                           "message": typed}, follow_redirects=False)
    assert r.status_code == 422
    assert typed in r.text  # what she wrote is still in the box, beside the refusal (R9)
    assert 'data-testid="refusal-reject"' in r.text and "английск" in r.text
    assert "<details style=\"margin-top:.6rem\" open>" in r.text
    assert buyer.dispute(d["id"])["state"] == "negotiating"


def test_an_amount_out_of_range_is_said_as_money(client, market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, lines=((360, 1),))
    d = market.open_dispute(buyer, order, amount=200)
    signed_in(client, buyer, "ru")
    r = client.post(f"/disputes/{d['id']}/do/amend", data={
        "csrf_token": csrf(client, f"/disputes/{d['id']}"), "resolution": "refund_only", "amount": "5,00",
        "message": "More."}, follow_redirects=False)
    assert r.status_code == 422
    assert "не больше 3,60\xa0$" in r.text and "360" not in re.sub(r"3,60", "", r.text.split("refusal-amend")[1][:400])
    assert 'value="5,00"' in r.text  # her amount stays as she typed it


def test_the_verdict_form_names_no_amount_and_needs_reasons(client, market):
    buyer, seller, arbitrator = market.buyer(), market.seller(), market.arbitrator()
    d = market.escalated_dispute(buyer, seller)
    signed_in(client, arbitrator)
    page = client.get(f"/disputes/{d['id']}").text
    assert re.search(r'name="refund_amount" id="refund-amount" required value=""', page)
    assert re.search(r'<textarea id="msg-decide"[^>]* required', page)
    r = client.post(f"/disputes/{d['id']}/do/decide", data={
        "csrf_token": csrf(client, f"/disputes/{d['id']}"), "refund_amount": "10.00", "message": " "},
        follow_redirects=False)
    assert r.status_code == 422 and "Give the reasons for the verdict" in r.text and 'value="10.00"' in r.text
    assert buyer.dispute(d["id"])["state"] == "escalated"


def test_withdraw_is_not_offered_after_a_refunding_verdict_nor_disagree_after_a_final_one(client, market):
    buyer, seller, arbitrator = market.buyer(), market.seller(), market.arbitrator()
    d = market.decided_dispute(buyer, seller, arbitrator)  # a full refund
    signed_in(client, buyer)
    page = client.get(f"/disputes/{d['id']}").text
    assert "withdraw" in buyer.dispute(d["id"])["allowed_actions"]  # the lifecycle allows it (R17)...
    assert 'data-testid="withdraw"' not in page  # ...the page does not offer to throw the refund away
    assert 'data-testid="disagree"' in page
    buyer.post(f"/disputes/{d['id']}/verdict-replies", {"agree": False, "message": "The amount is wrong."})
    arbitrator.post(f"/disputes/{d['id']}/verdict", {"refund_amount": 100, "return_required": False,
                                                     "message": "Looked again."})
    page = client.get(f"/disputes/{d['id']}").text
    assert "This verdict is final" in page
    assert 'data-testid="disagree"' not in page  # R42: a final verdict offers no "disagree"


def test_the_form_for_a_line_with_an_open_dispute_leads_to_that_dispute(client, market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    d = market.open_dispute(buyer, order)
    signed_in(client, buyer)
    r = client.get(f"/orders/{order['id']}/lines/{order['lines'][0]['id']}/dispute")
    assert r.status_code == 409
    assert f'href="/disputes/{d["id"]}"' in r.text and "already has an open dispute" in r.text
    assert "complaint" not in r.text  # R24 is for when no dispute is possible, not for this


def test_the_case_page_shows_the_order_chat_and_the_inbox_an_unanswered_message(client, market):
    buyer, seller, arbitrator = market.buyer(), market.seller(), market.arbitrator()
    order = market.order(buyer, seller)
    buyer.post(f"/orders/{order['id']}/messages", {"body": "Where is the blue dress?"}, expect=201)
    signed_in(client, seller)
    inbox = client.get("/inbox").text
    assert 'data-testid="unanswered"' in inbox and "Where is the blue dress?" in inbox
    d = market.escalated_dispute(buyer, seller, order)
    signed_in(client, arbitrator)
    case = client.get(f"/disputes/{d['id']}").text
    assert 'data-testid="order-chat"' in case and "Where is the blue dress?" in case


@pytest.mark.parametrize("path", ["/disputes/abc", "/no/such/page", "/orders/99999999",
                                  "/orders/69148809814301745348608", "/disputes/69148809814301745348608/case-file"])
def test_a_wrong_address_is_a_page_in_the_readers_language(client, market, path):
    signed_in(client, market.buyer(language="ru"), "ru")
    r = client.get(path, headers={"accept": "text/html"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Не найдено" in r.text and 'href="/"' in r.text
    api = client.get("/api/v1/disputes/abc", headers={"accept": "application/json"})
    assert api.headers["content-type"].startswith("application/json")


def test_r33_users_get_a_time_zone_over_the_api_and_the_account_page(client, market):
    platform = market.platform
    anna = platform.post("/users", {"name": "Anna", "email": "anna.tz@example.ru", "role": "buyer",
                                    "country": "RU", "language": "ru"}, expect=201)
    assert anna["time_zone"] == "Europe/Moscow"  # her country's main zone
    hans = platform.post("/users", {"name": "Hans", "email": "hans.tz@example.de", "role": "buyer",
                                    "country": "DE", "time_zone": "Europe/Berlin"}, expect=201)
    assert hans["time_zone"] == "Europe/Berlin"
    bad = platform.post("/users", {"name": "X", "email": "x.tz@example.de", "role": "buyer", "country": "DE",
                                   "time_zone": "Mars/Olympus"}, expect=422)
    bad = bad.json() if hasattr(bad, "json") else bad
    assert bad["code"] == "invalid_time_zone" and bad["field"] == "time_zone"
    # The marketplace moves a user to another zone (null: back to the country's).
    r = client.put(f"/api/v1/users/{anna['id']}/time-zone", json={"time_zone": "Asia/Vladivostok"},
                   headers={"Authorization": f"Bearer {platform.token}"})
    assert r.status_code == 200 and r.json()["time_zone"] == "Asia/Vladivostok"
    person = type("P", (), {"id": anna["id"]})
    signed_in(client, person, "ru")
    page = client.get("/account").text
    assert "Asia/Vladivostok" in page and "+1000" in page  # the demo bar's clock, in her zone
    r = client.post("/account/time-zone", data={"csrf_token": csrf(client, "/account"), "time_zone": ""},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "Europe/Moscow" in client.get("/account").text


def test_r33_r20_a_refund_counts_business_days_from_the_buyers_local_date(client, market):
    """Late on Thursday 5 March 2026 in UTC it is already Friday in Moscow."""
    buyer, seller = market.buyer(country="RU"), market.seller()
    order = market.order(buyer, seller)
    market.set_clock_without_sweeping(datetime(2026, 3, 5, 22, 30, tzinfo=UTC))
    d = market.open_dispute(buyer, order)
    seller.accept(d["id"])
    [refund] = buyer.refunds(order_id=order["id"])
    assert refund["expected_earliest"][:10] == "2026-03-12"  # from Friday 6 (Mon 9 is a holiday)
