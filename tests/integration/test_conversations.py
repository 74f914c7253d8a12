"""R4 order messages, R32 staff-only notes, and the R9 live language check, over HTTP."""

from __future__ import annotations

import pytest

from tests.factories import Marketplace


@pytest.fixture
def people(market: Marketplace):
    return market.buyer(), market.seller(), market.arbitrator()


# R4: buyer and seller talk on the order before any dispute --------------------------------

def test_r4_buyer_and_seller_message_each_other_on_the_order_before_any_dispute(market, people):
    buyer, seller, arbitrator = people
    order = market.order(buyer, seller)
    asked = buyer.post(f"/orders/{order['id']}/messages", {"body": "Hello, one dress is missing."},
                       expect=201)
    seller.post(f"/orders/{order['id']}/messages", {"body": "Sorry, we will check the warehouse."},
                expect=201)
    assert (asked["author_id"], asked["author_role"], asked["order_id"]) == (buyer.id, "buyer", order["id"])
    for reader in (buyer, seller, arbitrator, market.platform):
        thread = reader.get(f"/orders/{order['id']}/messages")["items"]
        assert [(m["author_role"], m["body"]) for m in thread] == [
            ("buyer", "Hello, one dress is missing."), ("seller", "Sorry, we will check the warehouse.")]
    assert [d for d in buyer.order(order["id"])["lines"] if d["dispute_id"]] == []


def test_r4_messages_page_forward_from_the_last_one_seen(market, people):
    buyer, seller, _ = people
    order = market.order(buyer, seller)
    ids = [buyer.post(f"/orders/{order['id']}/messages", {"body": f"Message {i}"}, expect=201)["id"]
           for i in range(3)]
    newer = seller.get(f"/orders/{order['id']}/messages", params={"after_id": ids[0]})["items"]
    assert [m["id"] for m in newer] == ids[1:]


def test_r4_someone_elses_order_conversation_does_not_exist_for_you(market, people):
    buyer, seller, _ = people
    order = market.order(buyer, seller)
    buyer.post(f"/orders/{order['id']}/messages", {"body": "Where is my parcel?"}, expect=201)
    for stranger in (market.buyer(), market.seller()):
        assert stranger.get(f"/orders/{order['id']}/messages", expect=404).json()["code"] == "order_not_found"
        stranger.post(f"/orders/{order['id']}/messages", {"body": "Hi"}, expect=404)
    assert len(buyer.get(f"/orders/{order['id']}/messages")["items"]) == 1


def test_r4_an_empty_message_is_refused(market, people):
    buyer, seller, _ = people
    order = market.order(buyer, seller)
    r = buyer.post(f"/orders/{order['id']}/messages", {"body": "   "}, expect=422)
    assert r.json()["code"] == "message_required" and r.json()["field"] == "body"


# R32: notes only staff see -----------------------------------------------------------------

def test_r32_arbitrators_keep_notes_the_parties_never_see(market, people):
    buyer, seller, arbitrator = people
    d = market.open_dispute(buyer, market.order(buyer, seller))
    secret = "Buyer has 4 similar claims this month; ask the carrier for the weight."
    note = arbitrator.post(f"/disputes/{d['id']}/notes", {"body": secret}, expect=201)
    market.platform.post(f"/disputes/{d['id']}/notes", {"body": "Seller asked for more time."}, expect=201)
    assert (note["author_id"], note["author_role"]) == (arbitrator.id, "arbitrator")
    for staff in (arbitrator, market.platform):
        assert [n["body"] for n in staff.get(f"/disputes/{d['id']}/notes")["items"]] == [
            secret, "Seller asked for more time."]

    unknown_route = market.client.get("/api/v1/no-such-page", headers=buyer.headers)
    for party in (buyer, seller):
        for r in (party.get(f"/disputes/{d['id']}/notes", expect=404),
                  party.post(f"/disputes/{d['id']}/notes", {"body": "Let me see"}, expect=404)):
            assert r.json()["code"] == unknown_route.json()["code"] == "not_found"
        seen = str(party.dispute(d["id"])) + str(party.get(f"/disputes/{d['id']}/timeline")) \
            + str(party.get(f"/disputes/{d['id']}/evidence"))
        assert secret not in seen and "Seller asked for more time." not in seen
    assert [n["body"] for n in arbitrator.get(f"/disputes/{d['id']}/notes")["items"]][0] == secret


def test_r32_a_note_on_an_unknown_dispute_is_404(market, people):
    _, _, arbitrator = people
    assert arbitrator.post("/disputes/999999/notes", {"body": "?"}, expect=404).json()["code"] \
        == "dispute_not_found"


# Arguments (R15) are in the timeline the parties read ------------------------------------------

def test_r15_arguments_go_to_the_timeline_and_notes_do_not(market, people):
    buyer, seller, arbitrator = people
    d = market.escalated_dispute(buyer, seller)
    buyer.post(f"/disputes/{d['id']}/arguments", {"message": "The unboxing video shows one dress."})
    arbitrator.post(f"/disputes/{d['id']}/notes", {"body": "Check the video at 0:35."}, expect=201)
    actions = [(e["action"], e["details"].get("message")) for e in seller.dispute(d["id"])["timeline"]]
    assert ("argue", "The unboxing video shows one dress.") in actions
    assert "Check the video at 0:35." not in str(actions)


# R9: the live language check the dispute form uses ------------------------------------------

@pytest.mark.parametrize(("text", "ok", "found"), [
    ("One dress is missing from parcel LP00123456789CN.", True, "en"),
    ("В посылке не хватает одного платья.", False, "ru"),
    ("Item missing, товар не пришёл", False, "ru"),
    ("包裹没有收到", False, "zh"),
    ("Das Paket ist nicht angekommen, bitte erstatten Sie mir das Geld.", False, "de"),
])
def test_r9_the_form_checks_the_language_as_the_buyer_types(market, people, text, ok, found):
    buyer, _, _ = people
    answer = buyer.post("/language-check", {"text": text, "field": "description"})
    assert (answer["ok"], answer["found"], answer["field"]) == (ok, found, "description")
    if ok:
        assert answer["message"] is None
    else:
        assert "please write it in English" in answer["message"]
