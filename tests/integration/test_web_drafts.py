"""A form sent after its session ended leads to sign-in and back, with what was typed put back
into the same form — never sent on its own, never shown to someone else, never kept for a
forged request."""

from __future__ import annotations

import re

from tests.integration.test_web_pages import csrf, signed_in

ORIGIN = {"origin": "http://testserver"}


def back_from(client, path: str) -> dict:
    return {**ORIGIN, "referer": f"http://testserver{path}"}


def sign_in_from(client, location: str, person) -> str:
    """Follow a redirect to the sign-in page and sign in there as ``person`` (the demo's list)."""
    page = client.get(location)
    assert page.status_code == 200 and "/signin" in str(page.url), page.url
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    nexts = re.findall(r'name="next" value="([^"]*)"', page.text)
    r = client.post("/signin/demo", data={"csrf_token": token, "user_id": str(person.id), "next": nexts[-1]},
                    follow_redirects=False)
    assert r.status_code == 303
    return r.headers["location"]


def test_a_rejection_sent_after_the_session_ended_comes_back_after_signing_in(client, market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    d = market.open_dispute(buyer, order)
    seller.propose(d["id"], amount=900, message="Half of it.")
    path = f"/disputes/{d['id']}"
    signed_in(client, buyer)
    token = csrf(client, path)
    client.cookies.delete("ombuds_session")  # the session expired while she was writing
    typed = "Half is not enough: the whole dress is missing."
    r = client.post(f"{path}/do/reject", data={"csrf_token": token, "message": typed},
                    headers=back_from(client, path), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == path
    assert buyer.dispute(d["id"])["state"] == "negotiating"  # nothing was sent
    gate = client.get(path, follow_redirects=False)
    assert gate.status_code == 303 and gate.headers["location"].startswith("/signin?next=")
    landing = sign_in_from(client, gate.headers["location"], buyer)
    assert landing == path
    page = client.get(landing).text
    box = re.search(r'<textarea id="msg-reject"[^>]*>([^<]*)</textarea>', page).group(1)
    assert box == typed
    assert "back in the form" in page
    assert "back in the form" not in client.get(path).text  # put back once
    assert buyer.dispute(d["id"])["state"] == "negotiating"


def test_the_dispute_form_comes_back_whole_after_signing_in_again(client, market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, lines=((1850, 2),))
    path = f"/orders/{order['id']}/lines/{order['lines'][0]['id']}/dispute"
    signed_in(client, buyer, "ru")
    token = csrf(client, path)
    client.cookies.delete("ombuds_session")
    r = client.post(path, data={"csrf_token": token, "received": "yes", "reason": "damaged",
                                "resolution": "refund_only", "quantity": "1", "amount": "12.00",
                                "description": "One of the two mugs arrived cracked."},
                    headers=back_from(client, path), follow_redirects=False)
    assert r.status_code == 303
    landing = sign_in_from(client, client.get(path, follow_redirects=False).headers["location"], buyer)
    page = client.get(landing).text
    assert "One of the two mugs arrived cracked." in page
    assert re.search(r'<option value="damaged" selected>', page) and 'value="12.00"' in page
    assert market.platform.get("/disputes", params={"order_id": order["id"]})["items"] == []


def test_a_form_renewed_in_another_tab_comes_back_at_once(client, market):
    """Signed in again elsewhere (a new CSRF token): the old tab's message is put back, no sign-in."""
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    path = f"/orders/{order['id']}"
    signed_in(client, buyer)
    old_token = csrf(client, path)
    signed_in(client, buyer)  # the other tab
    r = client.post(f"{path}/messages", data={"csrf_token": old_token, "body": "Where is my parcel?"},
                    headers=back_from(client, path), follow_redirects=True)
    assert r.status_code == 200 and str(r.url).endswith(path)
    assert ">Where is my parcel?</textarea>" in r.text
    assert market.platform.get(f"/orders/{order['id']}/messages")["items"] == []


def test_nothing_is_kept_for_a_form_from_another_site(client, market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    signed_in(client, buyer)
    r = client.post(f"/orders/{order['id']}/messages", data={"body": "Send me money"},
                    headers={"origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403 and "did not come from Ombuds" in r.text
    assert "Send me money" not in client.get(f"/orders/{order['id']}").text


def test_what_one_person_typed_is_never_shown_to_another(client, market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    path = f"/orders/{order['id']}"
    signed_in(client, buyer)
    old_token = csrf(client, path)
    signed_in(client, buyer)  # a new session: the old form is refused and its text kept for her...
    client.post(f"{path}/messages", data={"csrf_token": old_token, "body": "My private words"},
                headers=back_from(client, path), follow_redirects=False)
    draft = client.cookies.get("ombuds_session")
    signed_in(client, seller)  # ...but the seller signs in on this browser
    client.cookies.set("ombuds_session", draft)
    client.post("/signin/demo", data={"csrf_token": csrf(client, "/signin"), "user_id": str(seller.id)})
    assert "My private words" not in client.get(path).text
