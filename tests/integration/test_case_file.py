"""R41: a dispute's whole case as one PDF, read back as text.

The marketplace and staff get everything, staff notes included; a party gets the same case
without staff notes; anyone else gets 404. The PDF speaks the reader's language with the pages'
own words, names every evidence file with its SHA-256 and carries the photos' thumbnails.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from ombuds.bootstrap import create_app
from tests.conftest import MARKETPLACE_KEY, T0, settings_for
from tests.evidence_files import jpeg, pdf
from tests.factories import Marketplace
from tests.integration.test_tracking import SECRET, carrier

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NOTE = "Seller photos look staged; check the box label."


@pytest.fixture
def market(database_url, tmp_path):
    settings = settings_for(database_url, evidence_dir=tmp_path / "evidence", tracking_webhook_secret=SECRET)
    with TestClient(create_app(settings)) as client:
        yield Marketplace(client, MARKETPLACE_KEY)


@pytest.fixture
def case(market):
    """The seed's second dispute, decided: a broken phone case, evidence on both sides, a
    message, proposals, a tracking checkpoint, a staff note, a verdict and its refund."""
    buyer, seller, arbitrator = market.buyer(language="ru"), market.seller(), market.arbitrator()
    order = market.order(buyer, seller, lines=((1850, 1), (650, 1)))
    carrier(market, order["shipment"]["tracking_number"], "delivered", T0 + timedelta(days=2))
    buyer.post(f"/orders/{order['id']}/messages", {"body": "The case arrived cracked, can you help?"}, expect=201)
    d = market.open_dispute(buyer, order, 1, reason="damaged", description="The phone case arrived cracked.")
    photo, video = jpeg(seed=7), pdf()
    upload(buyer, d["id"], "cracked.jpg", photo, "image/jpeg")
    upload(seller, d["id"], "packing-list.pdf", video, "application/pdf")
    seller.propose(d["id"], amount=200, message="We can refund two dollars.")
    buyer.reject(d["id"], message="Two dollars does not cover a broken case.")
    market.advance("7d")  # R14: the platform escalates
    arbitrator.post(f"/disputes/{d['id']}/notes", {"body": NOTE}, expect=201)
    arbitrator.post(f"/disputes/{d['id']}/verdict", {"refund_amount": 400, "return_required": False,
                                                     "message": "Partial refund for the crack."})
    buyer.post(f"/disputes/{d['id']}/verdict-replies", {"agree": True})
    seller.post(f"/disputes/{d['id']}/verdict-replies", {"agree": True})
    return {"buyer": buyer, "seller": seller, "arbitrator": arbitrator, "dispute": d, "order": order,
            "hashes": [hashlib.sha256(photo).hexdigest(), hashlib.sha256(video).hexdigest()]}


def upload(person, dispute_id: int, name: str, data: bytes, content_type: str) -> dict:
    r = person.market.client.post(f"/api/v1/disputes/{dispute_id}/evidence", headers=person.headers,
                                  files={"file": (name, data, content_type)})
    assert r.status_code == 201, r.text
    return r.json()


def case_file(person, dispute_id: int, expect: int = 200, **params):
    r = person.market.client.get(f"/api/v1/disputes/{dispute_id}/case-file", headers=person.headers,
                                 params=params)
    assert r.status_code == expect, r.text[:500]
    return r


def text_of(response) -> tuple[str, PdfReader]:
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split()), reader  # table cells wrap: compare words, not line breaks


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_R41_the_marketplace_gets_the_whole_case_with_every_files_hash_and_the_staff_notes(market, case):
    d = case["dispute"]
    text, reader = text_of(case_file(market.platform, d["id"], lang="en"))
    for words in (f"Case file: dispute #{d['id']}", "Parties", "Buyer", "Seller", "Item 2", "$6.50",
                  "Damaged", "The phone case arrived cracked.",  # the claim
                  "The case arrived cracked, can you help?",  # the order's messages
                  "We can refund two dollars.", "Two dollars does not cover a broken case.",  # proposals
                  "Partial refund for the crack.", "Refund $4.00",  # the verdict
                  "cracked.jpg", "packing-list.pdf", "Parcel tracking", "Delivered",
                  "Timeline", "escalated by the platform", "Staff notes", NOTE):
        assert words in text, words
    for sha in case["hashes"]:
        assert sha in flat(text), "every file is named with its SHA-256"
    refund = market.platform.refunds(order_id=case["order"]["id"])[0]
    assert refund["amount"] == 400
    assert "Refunds" in text and "Mar 2026" in text  # the refund with its expected dates (R20)
    assert sum(len(page.images) for page in reader.pages) >= 1, "the photo's thumbnail"


def test_R41_a_party_gets_their_own_view_without_staff_notes(market, case):
    d = case["dispute"]
    for party in (case["buyer"], case["seller"]):
        text, _ = text_of(case_file(party, d["id"], lang="en"))
        assert "We can refund two dollars." in text
        assert NOTE not in text and "Staff notes" not in text  # R32
    staff, _ = text_of(case_file(case["arbitrator"], d["id"], lang="en"))
    assert NOTE in staff


def test_R41_the_case_file_speaks_the_readers_language_with_the_pages_words(market, case):
    d = case["dispute"]
    text, _ = text_of(case_file(case["buyer"], d["id"]))  # her language: Russian
    for words in (f"Дело: спор №{d['id']}", "Стороны", "Покупатель", "Продавец", "История", "Предложения",
                  "Отслеживание посылки", "Вручена", "We can refund two dollars."):
        assert words in text, words
    english, _ = text_of(case_file(case["buyer"], d["id"], lang="en"))
    assert "Parties" in english and "Стороны" not in english


def test_R41_nobody_else_gets_the_case(market, case):
    d = case["dispute"]
    stranger = market.buyer()
    assert case_file(stranger, d["id"], expect=404).json()["code"] == "dispute_not_found"
    assert market.client.get(f"/api/v1/disputes/{d['id']}/case-file").status_code == 401
    assert case_file(market.platform, 999999, expect=404).json()["code"] == "dispute_not_found"
    assert case_file(market.platform, d["id"], expect=422, lang="de").json()["code"] == "invalid_request"


def test_R41_the_dispute_page_links_the_case_file_in_the_readers_language(market, case):
    d, buyer = case["dispute"], case["buyer"]
    client = market.client
    token = CSRF.search(client.get("/signin").text).group(1)
    client.post("/signin/demo", data={"csrf_token": token, "user_id": buyer.id}, follow_redirects=False)
    page = client.get(f"/disputes/{d['id']}")
    assert f'href="/disputes/{d["id"]}/case-file.pdf"' in page.text
    text, _ = text_of(client.get(f"/disputes/{d['id']}/case-file.pdf"))
    assert "Стороны" in text and NOTE not in text
    assert client.get("/disputes/999999/case-file.pdf").status_code == 404
