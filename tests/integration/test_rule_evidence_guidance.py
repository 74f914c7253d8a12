"""R37: the evidence that helps each reason, from the policy, on the dispute form; which of it
each side supplied, for the arbitrator. R10 on the form: files chosen there survive every
round of the form, several at once, and become evidence when the dispute opens."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ombuds.bootstrap import create_app
from ombuds.domain.evidence_guidance import Proof
from ombuds.domain.policy import DEFAULT_POLICY, InvalidPolicy, policy_from_mapping
from ombuds.store.tables_evidence import evidence_uploads
from tests import evidence_files as files
from tests.conftest import MARKETPLACE_KEY, settings_for
from tests.factories import Marketplace
from tests.integration.test_web_pages import csrf, signed_in

RUSSIAN = "Платье не пришло, в посылке только чехол."
ENGLISH = "The blue dress was not in the parcel; only the phone case was."


@pytest.fixture
def client(database_url, tmp_path):
    app = create_app(settings_for(database_url, evidence_dir=tmp_path / "evidence"))
    with TestClient(app, raise_server_exceptions=True) as c:
        yield c


def form_path(order: dict, line: int = 0) -> str:
    return f"/orders/{order['id']}/lines/{order['lines'][line]['id']}/dispute"


def the_form(**fields) -> dict:
    return {"received": "yes", "reason": "missing_items", "resolution": "refund_only", "quantity": "1",
            "amount": "18.50", "description": ENGLISH, **fields}


def waiting_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'name="shows_(\d+)"', html)]


def test_R37_the_policy_holds_per_reason_the_evidence_that_helps():
    g = DEFAULT_POLICY.evidence_guidance
    assert g["missing_items"] == (Proof.everything_received, Proof.packing_list, Proof.unpacking_video)
    assert {Proof.item_label, Proof.measurement} <= set(g["wrong_item"])  # the label and a ruler
    assert {Proof.damage, Proof.packaging} <= set(g["damaged"])  # the damage and the box
    assert g["not_received"] == ()  # none needed
    policy = policy_from_mapping({"evidence_guidance": {"damaged": ["damage"], "other": []}})
    assert policy.evidence_guidance == {"damaged": (Proof.damage,), "other": ()}
    with pytest.raises(InvalidPolicy) as refused:
        policy_from_mapping({"evidence_guidance": {"broken": ["damage"], "damaged": ["a selfie"]}})
    said = str(refused.value)
    assert "unknown dispute reason(s) broken" in said or "a selfie" in said


def test_R37_the_dispute_form_lists_what_helps_for_the_chosen_reason(client):
    market = Marketplace(client, MARKETPLACE_KEY)
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    assert market.policy()["evidence_guidance"]["wrong_item"] == ["item_label", "measurement", "listing"]
    signed_in(client, buyer)
    page = client.get(form_path(order)).text  # missing items is the first reason offered
    helps = re.search(r'data-testid="evidence-helps">(.*?)</div>', page, re.S).group(1)
    assert "Everything that arrived, laid out together" in helps and "packing list" in helps
    assert "video of opening the parcel" in helps
    redrawn = client.get(form_path(order) + "/claim", params={"received": "yes", "reason": "wrong_item"}).text
    assert "label: size, colour, model" in redrawn and "ruler" in redrawn
    assert "packing list" not in redrawn
    nothing = client.get(form_path(order) + "/claim", params={"received": "no"}).text
    assert "No evidence is needed" in nothing
    signed_in(client, buyer, "ru")
    assert "Всё, что пришло, разложенное вместе" in client.get(form_path(order)).text


def test_R37_the_arbitrator_sees_which_helpful_evidence_each_side_supplied(client):
    market = Marketplace(client, MARKETPLACE_KEY)
    buyer, seller, arbitrator = market.buyer(), market.seller(), market.arbitrator()
    d = market.open_dispute(buyer, market.order(buyer, seller), reason="missing_items")

    def upload(person, name, data, shows=None, expect=201):
        form = {"shows": shows} if shows else {}
        r = client.post(f"/api/v1/disputes/{d['id']}/evidence", headers=person.headers, data=form,
                        files={"file": (name, data, "application/octet-stream")})
        assert r.status_code == expect, r.text
        return r.json()

    photo = upload(buyer, "all-of-it.jpg", files.jpeg(1), "everything_received")
    assert photo["shows"] == "everything_received"
    upload(buyer, "video.mp4", files.mp4(), "unpacking_video")
    upload(buyer, "label.png", files.png(2))  # says nothing: evidence all the same, not ticked
    upload(seller, "packing-list.pdf", files.pdf(), "packing_list")
    refused = upload(seller, "x.jpg", files.jpeg(5), "a selfie", expect=422)
    assert refused["code"] == "unknown_proof" and refused["field"] == "shows"

    checklist = {row["proof"]: row for row in arbitrator.get(f"/disputes/{d['id']}/evidence")["checklist"]}
    assert list(checklist) == ["everything_received", "packing_list", "unpacking_video"]
    assert len(checklist["everything_received"]["buyer"]) == 1 and checklist["everything_received"]["seller"] == []
    assert checklist["packing_list"]["buyer"] == [] and len(checklist["packing_list"]["seller"]) == 1
    assert len(checklist["unpacking_video"]["buyer"]) == 1

    signed_in(client, arbitrator)
    case = client.get(f"/disputes/{d['id']}").text
    table = re.search(r'data-testid="evidence-checklist">(.*?)</table>', case, re.S).group(1)
    row = re.search(r'data-testid="proof-packing_list">(.*?)</tr>', table, re.S).group(1)
    assert re.search(r'class="missing">\s*<span class="muted">not supplied', row)  # the buyer's cell
    assert "✓ 1 file" in row  # the seller's


def test_R10_files_chosen_on_the_form_survive_every_round_and_open_with_the_dispute(client):
    market = Marketplace(client, MARKETPLACE_KEY)
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    signed_in(client, buyer)
    path = form_path(order)
    chosen = [("evidence", ("parcel.jpg", files.jpeg(11), "image/jpeg")),
              ("evidence", ("unboxing.mp4", files.mp4(), "video/mp4")),
              ("evidence", ("setup.exe", files.windows_program(), "application/octet-stream"))]
    # Round 1: a description in Russian is refused (R9); two files wait, the program is refused.
    r = client.post(path, data=the_form(csrf_token=csrf(client, path), description=RUSSIAN), files=chosen)
    assert r.status_code == 422
    assert "parcel.jpg" in r.text and "unboxing.mp4" in r.text and RUSSIAN in r.text
    assert "The file setup.exe was not added" in r.text
    first, second = waiting_ids(r.text)

    # Round 2, without sending the files again: she says what they show and writes in English.
    r = client.post(path, data=the_form(csrf_token=csrf(client, path), **{
        f"shows_{first}": "everything_received", f"shows_{second}": "unpacking_video"}), follow_redirects=False)
    assert r.status_code == 303, r.text
    dispute_id = int(r.headers["location"].rsplit("/", 1)[1])
    listed = buyer.get(f"/disputes/{dispute_id}/evidence")
    assert [(e["file_name"], e["shows"]) for e in listed["items"]] == [
        ("parcel.jpg", "everything_received"), ("unboxing.mp4", "unpacking_video")]
    assert listed["items"][0]["thumbnail_url"]  # decoded and thumbnailed when it became evidence
    left = client.portal.call(_count_waiting, client)
    assert left == 0
    assert "2 files are added to the evidence." in client.get(f"/disputes/{dispute_id}").text


async def _count_waiting(client) -> int:
    async with client.app.state.ombuds.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(evidence_uploads))).scalar_one()


def test_R10_a_file_sent_at_once_by_the_page_waits_and_can_be_taken_back(client):
    market = Marketplace(client, MARKETPLACE_KEY)
    buyer, seller, stranger = market.buyer(), market.seller(), market.buyer()
    order = market.order(buyer, seller)
    path = form_path(order)
    signed_in(client, buyer)
    token = csrf(client, path)
    r = client.post(path + "/files", headers={"X-CSRF-Token": token},
                    files=[("file", ("a.jpg", files.jpeg(21), "image/jpeg")),
                           ("file", ("b.png", files.png(22), "image/png"))])
    assert r.status_code == 200 and 'data-testid="waiting-files"' in r.text
    a, b = waiting_ids(r.text)
    # The form lists them whenever it is drawn; "remove" takes one back.
    assert waiting_ids(client.get(path).text) == [a, b]
    r = client.post(path, data=the_form(csrf_token=token, remove_file=str(a)))
    assert r.status_code == 200 and waiting_ids(r.text) == [b] and ENGLISH in r.text
    # Another buyer cannot put files on her line, nor see them.
    signed_in(client, stranger)
    r = client.post(path + "/files", headers={"X-CSRF-Token": csrf(client, "/orders")},
                    files=[("file", ("c.jpg", files.jpeg(23), "image/jpeg"))])
    assert r.status_code == 404
