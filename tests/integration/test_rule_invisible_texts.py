"""R42: a text of characters that show nothing is no text — on the pages as in the API.

The rule lives in the domain (``ombuds.domain.text``) and the services call it, so every way
a person writes is held to it: the order's and the case page's chat, the dispute form, a
rejection, a verdict's reasons, a complaint, a request for more protection, a staff note.
Each form below is sent with nothing but zero-width spaces, joiners, a BOM and a Hangul
filler: it is refused and nothing is recorded.
"""

from __future__ import annotations

import pytest

from ombuds.domain.text import visible, written
from tests.integration.test_web_pages import csrf, signed_in

BLANKS = "\u200b" * 20 + "\u200d\u2060\ufeff\u3164\u115f\u200e"


@pytest.mark.parametrize("text", [BLANKS, " \u200b\n\u3164 ", "\u0301\u0301", "\x00\x01"])
def test_R42_characters_that_show_nothing_are_no_text(text):
    assert not visible(text) and written(text) == ""


@pytest.mark.parametrize("text", ["ok", "\u200bok\u200b", "e\u0301", "只收到了2个", "5"])
def test_R42_a_text_with_something_to_show_is_kept_as_written(text):
    assert visible(text) and written(f"  {text}\n") == text


def test_R42_a_chat_message_of_invisible_characters_is_refused_on_the_order_and_case_pages(client, market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    d = market.open_dispute(buyer, order)
    signed_in(client, buyer)
    for page in (f"/orders/{order['id']}", f"/disputes/{d['id']}"):  # the order's chat, shown on the case too
        r = client.post(f"/orders/{order['id']}/messages", data={"csrf_token": csrf(client, page), "body": BLANKS},
                        follow_redirects=True)
        assert "Message sent." not in r.text
    api = buyer.post(f"/orders/{order['id']}/messages", {"body": BLANKS}, expect=422).json()
    assert api["field"] == "body"
    assert market.platform.get(f"/orders/{order['id']}/messages")["items"] == []


def test_R42_a_dispute_described_with_invisible_characters_is_refused_on_the_form(client, market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    path = f"/orders/{order['id']}/lines/{order['lines'][0]['id']}/dispute"
    signed_in(client, buyer)
    r = client.post(path, data={"csrf_token": csrf(client, path), "received": "yes", "reason": "missing_items",
                                "resolution": "refund_only", "quantity": "1", "amount": "18.50",
                                "description": BLANKS}, follow_redirects=False)
    assert r.status_code == 422 and "Describe what went wrong." in r.text
    assert market.platform.get("/disputes", params={"order_id": order["id"]})["items"] == []


def test_R42_a_rejection_and_a_verdict_of_invisible_characters_are_refused_on_the_case_page(client, market):
    buyer, seller, arbitrator = market.buyer(), market.seller(), market.arbitrator()
    d = market.open_dispute(buyer, market.order(buyer, seller))
    signed_in(client, seller)
    r = client.post(f"/disputes/{d['id']}/do/reject", data={"csrf_token": csrf(client, f"/disputes/{d['id']}"),
                                                           "message": BLANKS}, follow_redirects=False)
    assert r.status_code == 422 and "Say why, in a few words." in r.text
    assert buyer.dispute(d["id"])["state"] == "awaiting_seller"

    e = market.escalated_dispute(buyer, seller)
    signed_in(client, arbitrator)
    r = client.post(f"/disputes/{e['id']}/do/decide", data={
        "csrf_token": csrf(client, f"/disputes/{e['id']}"), "refund_amount": "10.00", "message": BLANKS},
        follow_redirects=False)
    assert r.status_code == 422 and "Give the reasons for the verdict" in r.text
    assert buyer.dispute(e["id"])["state"] == "escalated"


def test_R42_a_staff_note_of_invisible_characters_is_not_kept(client, market):
    buyer, seller, arbitrator = market.buyer(), market.seller(), market.arbitrator()
    d = market.escalated_dispute(buyer, seller)
    signed_in(client, arbitrator)
    r = client.post(f"/disputes/{d['id']}/notes", data={"csrf_token": csrf(client, f"/disputes/{d['id']}"),
                                                       "body": BLANKS}, follow_redirects=True)
    assert "Note added" not in r.text
    assert market.platform.get(f"/disputes/{d['id']}/notes")["items"] == []


def test_R42_a_complaint_of_invisible_characters_is_refused_on_its_page(client, market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    buyer.confirm_receipt(order["id"])
    market.advance("16d")  # the R6 window is over: a complaint is what remains
    signed_in(client, buyer)
    path = f"/orders/{order['id']}/complaint"
    r = client.post(path, data={"csrf_token": csrf(client, path), "about": "seller", "message": BLANKS},
                    follow_redirects=False)
    assert r.status_code == 422
    assert buyer.get("/complaints")["items"] == []


def test_R42_a_request_for_more_protection_needs_a_reason_that_shows(client, market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    signed_in(client, buyer)
    r = client.post(f"/orders/{order['id']}/protection-requests", follow_redirects=True,
                    data={"csrf_token": csrf(client, f"/orders/{order['id']}"), "reason": BLANKS, "days": "5"})
    assert "Say why you need more time." in r.text
    assert buyer.get(f"/orders/{order['id']}/protection-requests")["items"] == []
