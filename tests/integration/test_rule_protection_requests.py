"""R38: the buyer asks the seller to extend protection, with a reason; the seller grants days
(R3, bounded by the policy) or declines; both are on the order's timeline and e-mailed to the
other party, in their language. One open request per order at a time, only while protection
runs. Over the API here (both databases); the pages in tests/e2e/web."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ombuds.store.tables_protection import protection_requests
from tests.integration.test_notifications import dispatch, email_of, inbox, parts, query, smtp_market, the_one  # noqa: F401

REASON = "The carrier says the parcel is held at customs for another two weeks."


def ask(buyer, order, reason=REASON, days=None, expect=201):
    body = {"reason": reason} | ({"days": days} if days is not None else {})
    return buyer.post(f"/orders/{order['id']}/protection-requests", body, expect=expect)


def answer(seller, request, how: str, body: dict, expect=200):
    return seller.post(f"/orders/{request['order_id']}/protection-requests/{request['id']}/{how}", body,
                       expect=expect)


def test_R38_the_seller_grants_days_and_protection_ends_later(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    ends = datetime.fromisoformat(market.platform.order(order["id"])["protection"]["ends_at"])

    request = ask(buyer, order, days=20)
    assert request["state"] == "open" and request["reason"] == REASON and request["days_wanted"] == 20

    granted = answer(seller, request, "grant", {"days": 15})
    assert granted["state"] == "granted" and granted["granted_days"] == 15
    after = buyer.order(order["id"])
    assert (datetime.fromisoformat(after["protection"]["ends_at"]) - ends).days == 15  # R3
    assert after["protection"]["extension_days"] == 15

    # Both parties read the request and its answer on the order.
    for person in (buyer, seller):
        items = person.get(f"/orders/{order['id']}/protection-requests")["items"]
        assert [(r["id"], r["state"], r["granted_days"]) for r in items] == [(request["id"], "granted", 15)]

    # Answered once: a second answer is refused and changes nothing.
    refused = answer(seller, request, "decline", {"answer": "Changed my mind."}, expect=409)
    assert refused.json()["code"] == "request_answered"
    assert buyer.order(order["id"])["protection"]["extension_days"] == 15


def test_R38_the_seller_declines_with_a_reason_and_the_buyer_may_ask_again(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    ends = buyer.order(order["id"])["protection"]["ends_at"]
    request = ask(buyer, order)
    declined = answer(seller, request, "decline", {"answer": "Tracking shows it was delivered."})
    assert declined["state"] == "declined" and declined["answer"] == "Tracking shows it was delivered."
    assert buyer.order(order["id"])["protection"]["ends_at"] == ends

    again = ask(buyer, order, reason="The parcel I got was someone else's.")  # the old one is answered
    assert again["state"] == "open" and again["id"] != request["id"]
    # Declining without a reason is allowed.
    assert answer(seller, again, "decline", {})["answer"] is None


def test_R38_one_open_request_per_order_at_a_time(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    first = ask(buyer, order)
    second = ask(buyer, order, reason="Please, it is still at customs.", expect=409)
    assert second.json()["code"] == "request_already_open"
    assert [r["id"] for r in buyer.get(f"/orders/{order['id']}/protection-requests")["items"]] == [first["id"]]


def test_R38_only_while_protection_runs(market):
    buyer, seller = market.buyer(), market.seller()
    unshipped = market.order(buyer, seller, ship=False)
    refused = ask(buyer, unshipped, expect=409)
    assert refused.json()["code"] == "protection_not_running"

    order = market.order(buyer, seller)
    request = ask(buyer, order)
    market.advance("61d")  # protection (60 days) ran out before the seller answered
    late = answer(seller, request, "grant", {"days": 10}, expect=409)
    assert late.json()["code"] == "protection_not_running"
    assert buyer.order(order["id"])["state"] == "completed"
    assert buyer.get(f"/orders/{order['id']}/protection-requests")["items"][0]["state"] == "lapsed"
    assert ask(buyer, order, expect=409).json()["code"] == "protection_not_running"


def test_R38_a_grant_is_bounded_by_the_policys_total(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    seller.extend_protection(order["id"], 50)  # R3: 60 days in total by default
    request = ask(buyer, order)
    too_many = answer(seller, request, "grant", {"days": 11}, expect=422)
    assert too_many.json()["code"] == "extension_too_long" and too_many.json()["remaining_days"] == 10
    assert buyer.get(f"/orders/{order['id']}/protection-requests")["items"][0]["state"] == "open"
    answer(seller, request, "grant", {"days": 10})
    assert ask(buyer, order, expect=409).json()["code"] == "extension_limit_reached"


def test_R38_who_may_ask_and_answer_and_bad_input_changes_nothing(market):
    buyer, seller, stranger = market.buyer(), market.seller(), market.buyer()
    order = market.order(buyer, seller)
    assert ask(seller, order, expect=403).json()["code"] == "not_your_action"
    assert ask(stranger, order, expect=404).status_code == 404
    blank = ask(buyer, order, reason=" \u200b ", expect=422).json()
    assert (blank["code"], blank["field"]) == ("reason_required", "reason")
    assert ask(buyer, order, days=0, expect=422).json()["field"] == "days"
    assert ask(buyer, order, days=61, expect=422).json()["code"] == "extension_too_long"
    assert query(market, select(func.count()).select_from(protection_requests))[0][0] == 0

    request = ask(buyer, order)
    assert answer(buyer, request, "grant", {"days": 5}, expect=403).json()["code"] == "not_your_action"
    assert answer(seller, request, "grant", {"days": 0}, expect=422).json()["field"] == "days"
    wrong_order = market.order(buyer, seller)
    assert seller.post(f"/orders/{wrong_order['id']}/protection-requests/{request['id']}/grant", {"days": 5},
                       expect=404).json()["code"] == "protection_request_not_found"
    assert buyer.get(f"/orders/{order['id']}/protection-requests")["items"][0]["state"] == "open"


def test_R38_a_stale_if_match_is_refused(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    version = buyer.order(order["id"])["version"]
    stale = buyer.post(f"/orders/{order['id']}/protection-requests", {"reason": REASON}, expect=412,
                       headers={"If-Match": f'"{version - 1}"'})
    assert stale.json()["code"] == "version_mismatch"
    buyer.post(f"/orders/{order['id']}/protection-requests", {"reason": REASON}, expect=201,
               headers={"If-Match": f'"{version}"'})


def test_R38_each_side_is_emailed_about_the_others_step_in_their_language(smtp_market, inbox):  # noqa: F811
    market = smtp_market
    buyer, seller = market.buyer(language="ru"), market.seller()
    buyer_email, seller_email = email_of(market, buyer), email_of(market, seller)
    order = market.order(buyer, seller)
    dispatch(market)
    inbox.messages.clear()

    request = ask(buyer, order, days=20)
    dispatch(market)
    to_seller = the_one(inbox.to(seller_email, "order.protection_requested"))
    assert to_seller["Subject"] == (f"Order #{order['id']}: the buyer asks for more protection — "
                                    "answer before 1 May 2026, 17:00 +0800")
    text, html = parts(to_seller)
    assert f"The buyer's reason: “{REASON}”" in text and "Days asked for: 20." in text
    assert f"/orders/{order['id']}" in text and "Grant more days or decline" in html
    assert inbox.to(buyer_email) == []  # R36: not about her own request

    answer(seller, request, "grant", {"days": 15})
    dispatch(market)
    to_buyer = the_one(inbox.to(buyer_email))  # one e-mail: the grant and the extension it made
    assert to_buyer["X-Ombuds-Event-Type"] == "order.protection_request_granted"
    assert to_buyer["Subject"] == (f"Заказ №{order['id']}: продавец продлил вашу защиту — "
                                   "защита действует до 16 мая 2026, 12:00 +0300")
    assert "Добавлено дней: 15." in parts(to_buyer)[0]
    assert len(inbox.to(seller_email)) == 1  # R36: nothing about the seller's own grant

    second = ask(buyer, order, reason="Still stuck at customs.")
    dispatch(market)
    answer(seller, second, "decline", {"answer": "Customs releases it tomorrow."})
    dispatch(market)
    declined = the_one(inbox.to(buyer_email, "order.protection_request_declined"))
    assert "продавец отказался продлить вашу защиту" in declined["Subject"]
    assert "Причина, которую указал продавец: «Customs releases it tomorrow.»" in parts(declined)[0]
