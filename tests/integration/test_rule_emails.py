"""R36: e-mails worth reading, over a real SMTP server (aiosmtpd), on both databases.

Nobody is e-mailed about their own action (except the receipt of the dispute or complaint
they opened, saying what happens next and by when); each e-mail carries its substance (the
amount, the proposal, the verdict, the refund's dates) and what to do next with a link;
arbitrators hear of new escalations, appeals and cases near their limit; complaints,
penalties and seller flags have words; once she agreed to a verdict, the buyer is not told to
reply by a date."""

from __future__ import annotations

from tests.evidence_files import jpeg
from tests.integration.test_notifications import dispatch, email_of, inbox, parts, smtp_market, the_one  # noqa: F401


def subjects(inbox, address: str) -> list[str]:  # noqa: F811
    return [m["Subject"] for m in inbox.to(address)]


def test_R36_nobody_is_emailed_about_their_own_step_but_the_opener_gets_a_receipt(smtp_market, inbox):  # noqa: F811
    market = smtp_market
    buyer, seller = market.buyer(), market.seller()
    b, s = email_of(market, buyer), email_of(market, seller)
    order = market.order(buyer, seller, [(1850, 1)])
    dispatch(market)
    inbox.messages.clear()

    d = market.open_dispute(buyer, order, amount=1200, description="One sleeve is torn.")
    dispatch(market)
    receipt = the_one(inbox.to(b, "dispute.opened"))  # the receipt: what happens next and by when
    assert "the seller must respond by" in receipt["Subject"]
    to_seller = parts(the_one(inbox.to(s, "dispute.opened")))[0]
    assert "The buyer asks for a refund without return, $12.00." in to_seller
    assert "The buyer's description: “One sleeve is torn.”" in to_seller

    # Her message on the order, and the seller's proposal: only the other side hears.
    buyer.post(f"/orders/{order['id']}/messages", {"body": "Please answer soon."}, expect=201)
    seller.propose(d["id"], amount=900, message="Most of it back, keep the shirt.")
    dispatch(market)
    assert inbox.to(b, "order.message") == [] and len(inbox.to(s, "order.message")) == 1
    assert "Their message: “Please answer soon.”" in parts(inbox.to(s, "order.message")[0])[0]
    assert inbox.to(s, "dispute.propose") == []
    proposal = parts(the_one(inbox.to(b, "dispute.propose")))[0]
    assert "The proposal: a refund without return, $9.00." in proposal
    assert "Their message: “Most of it back, keep the shirt.”" in proposal

    # She accepts: the seller hears what was agreed; the refund e-mail says how much and when.
    buyer.accept(d["id"])
    dispatch(market)
    assert inbox.to(b, "dispute.accept") == []
    agreed = parts(the_one(inbox.to(s, "dispute.accept")))[0]
    assert "Agreed: a refund without return, $9.00." in agreed and "Refunded: $9.00." in agreed
    refund = parts(the_one(inbox.to(b, "refund.issued")))[0]
    assert "Amount: $9.00, back to the original payment method." in refund
    assert "Expect it between " in refund and f"/orders/{order['id']}" in refund


def test_R36_arbitrators_hear_of_escalations_and_appeals_and_the_agreeing_buyer_is_not_asked_again(
        smtp_market, inbox):  # noqa: F811
    market = smtp_market
    buyer, seller, mara = market.buyer(language="ru"), market.seller(), market.arbitrator()
    b, s, a = email_of(market, buyer), email_of(market, seller), email_of(market, mara)
    d = market.escalated_dispute(buyer, seller)
    dispatch(market)
    escalated = the_one(inbox.to(a, "dispute.negotiation_over"))
    assert escalated["Subject"].startswith(f"Dispute #{d['id']}: negotiation time is over — decide by ")
    text = parts(escalated)[0]
    assert "A case is waiting in the arbitration queue." in text and f"/disputes/{d['id']}" in text
    assert "one of the platform's arbitrators" in text

    mara.post(f"/disputes/{d['id']}/verdict", {"refund_amount": 1000, "return_required": False,
                                               "message": "Half, on the photos."})
    dispatch(market)
    assert inbox.to(a, "dispute.decide") == []  # her own verdict
    verdict = parts(the_one(inbox.to(b, "dispute.decide")))[0]
    assert "Решение: вернуть 10,00\xa0$." in verdict and "Обоснование арбитра: «Half, on the photos.»" in verdict
    assert "Согласитесь с решением или оспорьте его до " in verdict  # her move, with its date

    # She agrees: she hears nothing of her own reply; when the seller adds evidence, her
    # e-mail no longer asks her to reply by a date.
    buyer.post(f"/disputes/{d['id']}/verdict-replies", {"agree": True})
    dispatch(market)
    assert inbox.to(b, "dispute.agree_verdict") == []
    the_one(inbox.to(s, "dispute.agree_verdict"))
    market.client.post(f"/api/v1/disputes/{d['id']}/evidence", headers=seller.headers,
                       files={"file": ("label.jpg", jpeg(seed=3), "image/jpeg")}).raise_for_status()
    dispatch(market)
    argued = the_one(inbox.to(b, "dispute.evidence_added"))
    text = parts(argued)[0]
    assert "Согласитесь с решением или оспорьте его" not in text
    assert "Вы согласились с решением — больше ничего делать не нужно." in text
    assert "вы согласились с решением" in argued["Subject"]

    # The seller disagrees: an appeal — back to the arbitrators, who are told.
    seller.post(f"/disputes/{d['id']}/verdict-replies", {"agree": False, "message": "It was another shirt."})
    dispatch(market)
    appeal = the_one(inbox.to(a, "dispute.disagree_verdict"))
    assert "Why they disagree: “It was another shirt.”" in parts(appeal)[0]
    assert inbox.to(s, "dispute.disagree_verdict") == []

    # Left undecided, the case nears its review limit (R15): the arbitrators are told by when.
    market.advance("58d")
    dispatch(market)
    near = the_one(inbox.to(a, "arbitration.near_limit"))
    assert near["Subject"].startswith(f"Dispute #{d['id']}: a case is near its review limit — decide by ")
    assert "at the latest" in near["Subject"] and f"/disputes/{d['id']}" in parts(near)[0]
    assert inbox.to(b, "arbitration.near_limit") == [] and inbox.to(s, "arbitration.near_limit") == []


def test_R36_complaints_penalties_and_flags_are_worded_for_their_reader(smtp_market, inbox):  # noqa: F811
    market = smtp_market
    buyer, seller, mara = market.buyer(), market.seller(), market.arbitrator()
    b, s, a = email_of(market, buyer), email_of(market, seller), email_of(market, mara)
    order = market.order(buyer, seller)
    buyer.confirm_receipt(order["id"])
    market.advance("16d")  # the R6 window is over: only a complaint remains (R24)
    dispatch(market)
    inbox.messages.clear()

    complaint = buyer.post("/complaints", {"order_id": order["id"], "about": "seller",
                                           "message": "The seller was rude."}, expect=201)
    dispatch(market)
    receipt = the_one(inbox.to(b, "complaint.opened"))
    assert receipt["Subject"].startswith(f"Complaint #{complaint['id']}: complaint received — the platform aims "
                                         "to answer by ")
    assert f"/orders/{order['id']}/complaint" in parts(receipt)[0]
    assert the_one(inbox.to(a, "complaint.opened"))["Subject"].startswith(
        f"Complaint #{complaint['id']}: complaint received — answer by ")

    mara.post(f"/complaints/{complaint['id']}/goodwill-refund", {"amount": 300, "message": "Sorry about that."})
    mara.post(f"/complaints/{complaint['id']}/penalty", {"kind": "warning", "reason": "Rude to a buyer."})
    dispatch(market)
    goodwill = parts(the_one(inbox.to(b, "complaint.grant_goodwill")))[0]
    assert "A goodwill refund of $3.00, paid by the platform." in goodwill
    assert "The platform's answer: “Sorry about that.”" in goodwill
    warned = the_one(inbox.to(s, "seller.warned"))
    assert warned["Subject"] == "Your store: a warning from the platform"
    assert "The platform's reason: “Rude to a buyer.”" in parts(warned)[0] and "/rating" in parts(warned)[0]
    assert inbox.to(a, "complaint.grant_goodwill") == [] and inbox.to(a, "complaint.penalise_seller") == []


def test_R36_order_steps_are_told_to_the_other_party_only(smtp_market, inbox):  # noqa: F811
    market = smtp_market
    buyer, seller = market.buyer(), market.seller()
    b, s = email_of(market, buyer), email_of(market, seller)
    shipped = market.order(buyer, seller)
    unshipped = market.order(buyer, seller, [(700, 2)], ship=False)
    dispatch(market)
    inbox.messages.clear()

    buyer.confirm_receipt(shipped["id"])
    buyer.post(f"/orders/{unshipped['id']}/cancel")
    dispatch(market)
    assert inbox.to(b, "order.completed") == [] and len(inbox.to(s, "order.completed")) == 1
    assert inbox.to(b, "order.cancelled") == []
    assert "Refunded to the buyer: $14.00." in parts(the_one(inbox.to(s, "order.cancelled")))[0]
    refund = parts(the_one(inbox.to(b, "refund.issued")))[0]  # her money: how much, and when
    assert "Amount: $14.00, back to the original payment method." in refund and "Expect it between " in refund


def test_R36_R43_an_arbitrators_email_links_to_the_case_without_signing_anyone_in(database_url, inbox,  # noqa: F811
                                                                                   tmp_path):
    from fastapi.testclient import TestClient

    from ombuds.bootstrap import create_app
    from tests.conftest import MARKETPLACE_KEY, settings_for
    from tests.factories import Marketplace
    policy = tmp_path / "policy.toml"
    policy.write_text("sign_in_links_in_emails = true\n")
    settings = settings_for(database_url, smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_tls="none"
                            ).model_copy(update={"policy_file": policy})
    with TestClient(create_app(settings)) as client:
        market = Marketplace(client, MARKETPLACE_KEY)
        buyer, seller, mara = market.buyer(), market.seller(), market.arbitrator()
        d = market.escalated_dispute(buyer, seller)
        dispatch(market)
        to_mara = parts(the_one(inbox.to(email_of(market, mara), "dispute.negotiation_over")))[0]
        assert f"http://127.0.0.1:8000/disputes/{d['id']}" in to_mara and "/signin/link/" not in to_mara
        assert "/signin/link/" in parts(inbox.to(email_of(market, buyer), "dispute.negotiation_over")[0])[0]
