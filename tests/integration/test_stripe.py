"""R39: Stripe Connect as the payment provider.

Refunds go back on the order's PaymentIntent at a real local Stripe-compatible server
(localstripe); the ``Idempotency-Key`` (which localstripe ignores) and payouts as transfers to the
seller's connected account (which localstripe lacks) are checked at the HTTP boundary with a
capturing server. Stripe's signed webhooks settle, fail and reverse, and a card chargeback holds
the payout of the lines it covers and is posted to the ledger when it closes. Every bad webhook —
no or a wrong or stale signature, a replayed event, something Ombuds does not know, a malformed
body — is a 4xx and changes nothing.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ombuds.bootstrap import create_app
from ombuds.domain import ledger
from ombuds.services.ledger_check import check_ledger
from ombuds.store import tables as t
from ombuds.store.tables_stripe import payout_transfers, provider_events
from tests.conftest import MARKETPLACE_KEY, settings_for
from tests.factories import Marketplace
from tests.stripe_servers import capturing_stripe, event, localstripe, paid_intent, refunds_at, signed_event

WHSEC = "whsec_test_ombuds_stripe"
DRESS = 1850


@pytest.fixture(scope="module")
def local_stripe():
    with localstripe() as url:
        yield url


@pytest.fixture
def capture():
    with capturing_stripe() as (url, captured):
        yield url, captured


def stripe_market(database_url, api_base: str):
    settings = settings_for(database_url, payment_provider="stripe", stripe_api_key="sk_test_ombuds",
                            stripe_webhook_secret=WHSEC, stripe_api_base=api_base)
    return TestClient(create_app(settings))


@pytest.fixture
def market(database_url, capture):
    with stripe_market(database_url, capture[0]) as client:
        yield Marketplace(client, MARKETPLACE_KEY)


def stripe_order(market: Marketplace, buyer, seller, payment_ref: str, lines=((DRESS, 1),)) -> dict:
    body = {"buyer_id": buyer.id, "seller_id": seller.id, "currency": "USD", "payment_method": "visa",
            "payment_ref": payment_ref,
            "lines": [{"title": f"Item {i + 1}", "unit_price": p, "quantity": q} for i, (p, q) in enumerate(lines)]}
    order = market.platform.post("/orders", body, expect=201)
    return seller.post(f"/orders/{order['id']}/ship",
                       {"carrier": "China Post", "tracking_number": f"LP{order['id']}CN"})


def connected_seller(market: Marketplace, account: str = "acct_1SellerTest"):
    body = {"name": "Star", "email": f"star{time.monotonic_ns()}@example.cn", "role": "seller", "country": "CN",
            "payout_account": account}
    created = market.platform.post("/users", body, expect=201)
    from tests.factories import Person
    return Person(market, created["id"], "seller", created["token"], "CN")


def query(market: Marketplace, statement):
    async def run():
        async with market.client.app.state.ombuds.engine.connect() as conn:
            return (await conn.execute(statement)).all()
    return market.client.portal.call(run)


def balance(market: Marketplace, account: str) -> int:
    rows = query(market, select(func.coalesce(func.sum(t.postings.c.amount), 0)).where(t.postings.c.account == account))
    return int(rows[0][0])


def post_event(market: Marketplace, kind: str, obj: dict, *, event_id: str | None = None, expect: int = 200, **sign):
    body, headers = signed_event(WHSEC, event(kind, obj, event_id), **sign)
    r = market.client.post("/api/v1/stripe/webhooks", content=body, headers=headers)
    assert r.status_code == expect, r.text
    return r.json()


def ledger_clean(market: Marketplace) -> None:
    assert market.client.portal.call(check_ledger, market.client.app.state.ombuds) == []


# Refunds ------------------------------------------------------------------------------------

def test_R39_a_refund_goes_back_on_the_orders_payment_intent_at_stripe(database_url, local_stripe):
    with stripe_market(database_url, local_stripe) as client:
        market = Marketplace(client, MARKETPLACE_KEY)
        buyer, seller = market.buyer(), market.seller()
        intent = paid_intent(local_stripe, DRESS + 650)
        order = stripe_order(market, buyer, seller, intent, lines=((DRESS, 1), (650, 1)))
        d = market.open_dispute(buyer, order, 0)
        seller.accept(d["id"])
        market.advance("1m")  # the worker sends it; localstripe answers "succeeded"
        market.advance("1m")
        [refund] = buyer.refunds(order_id=order["id"])
        [at_stripe] = refunds_at(local_stripe, intent)
        assert (at_stripe.amount, at_stripe.status, at_stripe.payment_intent) == (DRESS, "succeeded", intent)
        assert at_stripe.metadata["ombuds_refund"].startswith("refund-")
        assert refund["status"] == "settled"
        ledger_clean(market)


def test_R39_the_refunds_idempotency_key_is_sent_as_stripes_and_again_on_a_retry(market, capture):
    _, captured = capture
    buyer, seller = market.buyer(), market.seller()
    order = stripe_order(market, buyer, seller, "pi_3TestIntent")
    seller.accept(market.open_dispute(buyer, order)["id"])
    captured.fail_next = 1  # Stripe is down once: the refund backs off and is sent again
    market.advance("1m")
    market.advance("3m")
    key = query(market, select(t.refunds.c.idempotency_key))[0][0]
    sent = captured.to("/v1/refunds")
    assert len(sent) == 2
    assert [r["headers"]["Idempotency-Key"] for r in sent] == [key, key]
    assert sent[-1]["form"]["payment_intent"] == "pi_3TestIntent" and sent[-1]["form"]["amount"] == str(DRESS)
    [refund] = buyer.refunds(order_id=order["id"])
    assert refund["status"] == "submitted"  # Stripe said pending: its webhook settles it


def test_R39_stripes_webhook_settles_a_refund_and_a_failure_reaches_the_operator(market, capture):
    buyer, seller = market.buyer(), market.seller()
    settled_order = stripe_order(market, buyer, seller, "ch_3Settled")
    failing_order = stripe_order(market, buyer, seller, "ch_3Failing")
    for order in (settled_order, failing_order):
        seller.accept(market.open_dispute(buyer, order)["id"])
    market.advance("1m")
    refs = dict(query(market, select(t.refunds.c.order_id, t.refunds.c.provider_ref)))
    done = post_event(market, "refund.updated", {"id": refs[settled_order["id"]], "object": "refund",
                                                  "status": "succeeded", "amount": DRESS})
    assert done["result"] == "settled"
    assert buyer.refunds(order_id=settled_order["id"])[0]["status"] == "settled"
    failed = post_event(market, "charge.refund.updated", {
        "id": refs[failing_order["id"]], "object": "refund", "status": "failed",
        "failure_reason": "expired_or_canceled_card"})
    assert failed["result"] == "failed"
    [refund] = buyer.refunds(order_id=failing_order["id"])
    assert refund["status"] == "failed" and "expired_or_canceled_card" in refund["last_error"]
    market.platform.post(f"/refunds/{refund['id']}/retry")  # the operator retries: a new refund at Stripe
    market.advance("1m")
    keys = [r["headers"]["Idempotency-Key"] for r in capture[1].to("/v1/refunds")]
    assert len(set(keys)) == 3
    ledger_clean(market)


# Payouts as transfers -------------------------------------------------------------------------

def test_R39_a_payout_is_a_transfer_to_the_sellers_connected_account_with_its_key(market, capture):
    _, captured = capture
    buyer, seller = market.buyer(), connected_seller(market, "acct_1StarStore")
    order = stripe_order(market, buyer, seller, "ch_3PaidByCard", lines=((DRESS, 1), (650, 2)))
    buyer.confirm_receipt(order["id"])  # R1: both lines are paid out
    market.advance("1m")
    sent = sorted(captured.to("/v1/transfers"), key=lambda r: int(r["form"]["amount"]))
    assert [(r["form"]["destination"], r["form"]["amount"], r["form"]["currency"]) for r in sent] == [
        ("acct_1StarStore", "1300", "usd"), ("acct_1StarStore", str(DRESS), "usd")]
    assert {r["headers"]["Idempotency-Key"] for r in sent} == {f"payout-line-{line['id']}" for line in order["lines"]}
    assert all(r["form"]["source_transaction"] == "ch_3PaidByCard" for r in sent)
    rows = query(market, select(payout_transfers.c.provider_ref, payout_transfers.c.sent_at))
    assert all(ref.startswith("tr_") and at is not None for ref, at in rows)
    market.advance("1m")
    assert len(captured.to("/v1/transfers")) == 2, "a payout is transferred once"


def test_R39_a_reversed_transfer_is_taken_back_from_the_seller_in_the_ledger(market, capture):
    buyer, seller = market.buyer(), connected_seller(market)
    order = stripe_order(market, buyer, seller, "ch_3Reversal")
    buyer.confirm_receipt(order["id"])
    market.advance("1m")
    [(transfer,)] = query(market, select(payout_transfers.c.provider_ref))
    assert balance(market, ledger.seller(seller.id)) == DRESS
    post_event(market, "transfer.reversed", {"id": transfer, "object": "transfer", "amount": DRESS,
                                             "amount_reversed": 500})
    assert balance(market, ledger.seller(seller.id)) == DRESS - 500
    assert balance(market, "platform:transfer_reversals") == 500
    ledger_clean(market)


# Chargebacks --------------------------------------------------------------------------------

def dispute_object(charge: str, amount: int, status: str = "needs_response", dp: str = "dp_1Test") -> dict:
    return {"id": dp, "object": "dispute", "charge": charge, "amount": amount, "currency": "usd",
            "reason": "fraudulent", "status": status, "created": int(time.time()) - 60}


def test_R39_a_chargeback_holds_the_payout_of_the_lines_it_covers_until_it_closes(market):
    buyer, seller, arbitrator = market.buyer(), market.seller(), market.arbitrator()
    order = stripe_order(market, buyer, seller, "ch_3Chargeback", lines=((DRESS, 1), (650, 1)))
    dress, case = order["lines"]
    assert post_event(market, "charge.dispute.created", dispute_object("ch_3Chargeback", DRESS))["result"] == "opened"
    buyer.confirm_receipt(order["id"])
    assert market.paid_out(order) == {case["id"]: 650}, "the dress's payout waits for the chargeback (R1)"
    [shown] = arbitrator.get(f"/orders/{order['id']}/chargebacks")["items"]
    assert (shown["line_ids"], shown["status"], shown["amount"]) == ([dress["id"]], "needs_response", DRESS)
    assert buyer.get(f"/orders/{order['id']}/chargebacks", expect=403).json()["code"] == "staff_only"

    post_event(market, "charge.dispute.closed", dispute_object("ch_3Chargeback", DRESS, "won"))
    assert market.paid_out(order) == {case["id"]: 650, dress["id"]: DRESS}, "won: released and paid"
    ledger_clean(market)


def test_R39_a_lost_chargeback_is_posted_to_the_ledger_and_the_line_is_never_paid_out(market):
    buyer, seller = market.buyer(), market.seller()
    order = stripe_order(market, buyer, seller, "ch_3Lost", lines=((DRESS, 1), (650, 1)))
    dress, case = order["lines"]
    post_event(market, "charge.dispute.created", dispute_object("ch_3Lost", DRESS, dp="dp_1Lost"))
    buyer.confirm_receipt(order["id"])
    assert post_event(market, "charge.dispute.closed",
                      dispute_object("ch_3Lost", DRESS, "lost", dp="dp_1Lost"))["result"] == "lost"
    assert balance(market, ledger.escrow(dress["id"])) == 0
    assert balance(market, ledger.buyer_payments(buyer.id)) == -650  # the bank gave the dress back
    assert market.paid_out(order) == {case["id"]: 650}
    [entry] = query(market, select(t.journal_entries.c.kind).where(t.journal_entries.c.kind == "chargeback_lost"))
    assert entry == ("chargeback_lost",)
    ledger_clean(market)


# Bad webhooks change nothing ---------------------------------------------------------------

def events_kept(market: Marketplace) -> int:
    return query(market, select(func.count()).select_from(provider_events))[0][0]


def test_R39_a_missing_wrong_or_stale_signature_is_refused_and_changes_nothing(market):
    body, headers = signed_event(WHSEC, event("charge.dispute.created", dispute_object("ch_x", 100)))
    url = "/api/v1/stripe/webhooks"
    missing = market.client.post(url, content=body, headers={"content-type": "application/json"})
    wrong = market.client.post(url, content=body, headers=signed_event("whsec_other", {})[1])
    stale = market.client.post(url, content=body,
                               headers=signed_event(WHSEC, {}, at=int(time.time()) - 600)[1])
    _, good = signed_event(WHSEC, {"tampered": True})
    tampered = market.client.post(url, content=body, headers=good)
    for r in (missing, wrong, stale, tampered):
        assert r.status_code == 401 and r.json()["code"] == "invalid_signature", r.text
    assert events_kept(market) == 0


def test_R39_a_replayed_event_is_acknowledged_and_applied_once(market):
    """Stripe retries any answer that is not 2xx: a repeat is answered 200 and changes nothing."""
    buyer, seller = market.buyer(), market.seller()
    order = stripe_order(market, buyer, seller, "ch_3Replay")
    post_event(market, "charge.dispute.created", dispute_object("ch_3Replay", DRESS, dp="dp_1Replay"),
               event_id="evt_replayed")
    before = market.platform.get(f"/orders/{order['id']}/chargebacks")
    assert len(before["items"]) == 1
    again = post_event(market, "charge.dispute.created", dispute_object("ch_3Replay", DRESS, dp="dp_1Replay"),
                       event_id="evt_replayed")
    assert again["result"] == "already_received"
    assert events_kept(market) == 1
    assert market.platform.get(f"/orders/{order['id']}/chargebacks") == before


def test_R39_an_event_about_something_ombuds_does_not_know_is_acknowledged_and_changes_nothing(market):
    """The account's other business: 200, so that Stripe stops resending it, and nothing is kept."""
    refund = post_event(market, "refund.updated", {"id": "re_unknown", "object": "refund", "status": "succeeded"})
    charge = post_event(market, "charge.dispute.created", dispute_object("ch_unknown", 100))
    transfer = post_event(market, "transfer.reversed", {"id": "tr_unknown", "object": "transfer",
                                                        "amount_reversed": 1})
    assert {refund["result"], charge["result"], transfer["result"]} == {"not_ours"}
    assert (refund["code"], charge["code"], transfer["code"]) == ("refund_not_found", "order_not_found",
                                                                  "transfer_not_found")
    assert events_kept(market) == 0


@pytest.mark.parametrize("body", [b"not json", b'{"id": "evt_1", "type": "refund.updated"}', b"[]",
                                  b'{"id": 5, "type": "refund.updated", "data": {"object": {"id": "re_1"}}}'])
def test_R39_a_malformed_event_is_422_and_changes_nothing(market, body):
    import hashlib
    import hmac
    at = int(time.time())
    signature = hmac.new(WHSEC.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    r = market.client.post("/api/v1/stripe/webhooks", content=body,
                           headers={"stripe-signature": f"t={at},v1={signature}"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request", r.text
    assert events_kept(market) == 0


def test_R39_without_its_secret_the_webhook_is_not_there(database_url):
    with TestClient(create_app(settings_for(database_url))) as client:
        r = client.post("/api/v1/stripe/webhooks", content=b"{}")
        assert r.status_code == 404 and r.json()["code"] == "webhook_not_configured"


def test_R39_stripe_orders_need_their_payment_and_only_sellers_have_payout_accounts(market):
    buyer, seller = market.buyer(), market.seller()
    body = {"buyer_id": buyer.id, "seller_id": seller.id, "currency": "USD", "payment_method": "visa",
            "lines": [{"title": "Dress", "unit_price": DRESS, "quantity": 1}]}
    assert market.platform.post("/orders", body, expect=422).json()["code"] == "payment_ref_required"
    bad_ref = market.platform.post("/orders", {**body, "payment_ref": "ch 1; drop"}, expect=422).json()
    assert bad_ref["field"] == "payment_ref"
    person = {"name": "B", "email": "b@example.test", "role": "buyer", "country": "RU", "payout_account": "acct_1X"}
    assert market.platform.post("/users", person, expect=422).json()["code"] == "payout_account_for_sellers"
    assert market.platform.post("/users", {**person, "role": "seller", "payout_account": "iban"},
                                expect=422).json()["field"] == "payout_account"


def test_R39_staff_see_the_chargeback_beside_the_ombuds_dispute_on_the_order(market):
    import re
    buyer, seller, arbitrator = market.buyer(), market.seller(), market.arbitrator()
    order = stripe_order(market, buyer, seller, "ch_3Beside", lines=((DRESS, 1), (650, 1)))
    d = market.escalated_dispute(buyer, seller, order)
    post_event(market, "charge.dispute.created", dispute_object("ch_3Beside", DRESS, dp="dp_1Beside"))
    client = market.client
    for person, path, shown in ((arbitrator, f"/disputes/{d['id']}", True),
                                (arbitrator, f"/orders/{order['id']}", True),
                                (buyer, f"/orders/{order['id']}", False)):
        client.cookies.clear()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
        client.post("/signin/demo", data={"csrf_token": token, "user_id": person.id}, follow_redirects=False)
        page = client.get(path).text
        assert ("Card chargebacks" in page and "dp_1Beside" in page) is shown, path


def test_R39_an_event_with_an_impossible_amount_is_422_and_changes_nothing(market):
    buyer, seller = market.buyer(), market.seller()
    stripe_order(market, buyer, seller, "ch_3Bounds")
    for amount in ("lots", 10**19, -5):
        r = post_event(market, "charge.dispute.created", {**dispute_object("ch_3Bounds", 1), "amount": amount},
                       expect=422)
        assert r["field"] == "data.object.amount"
    assert events_kept(market) == 0


def test_R39_a_transfer_that_keeps_failing_reaches_the_operator_who_retries_it_with_the_same_key(market, capture):
    _, captured = capture
    buyer, seller = market.buyer(), connected_seller(market, "acct_1Retry")
    order = stripe_order(market, buyer, seller, "pi_3Retry")
    captured.fail_next = 6
    buyer.confirm_receipt(order["id"])
    for wait in ("1m", "3m", "5m", "9m", "17m", "33m"):  # 2, 4, 8, 16, 32 minutes of backoff
        market.advance(wait)
    [transfer] = market.platform.get(f"/orders/{order['id']}/transfers")["items"]
    assert (transfer["status"], transfer["attempts"]) == ("failed", 6)
    assert seller.get(f"/orders/{order['id']}/transfers")["items"][0]["status"] == "failed"
    assert buyer.get(f"/orders/{order['id']}/transfers", expect=403).json()["code"] == "not_your_payouts"
    assert seller.post(f"/transfers/{transfer['id']}/retry", expect=403).json()["code"] == "marketplace_only"
    market.platform.post(f"/transfers/{transfer['id']}/retry")
    market.advance("1m")
    [sent] = market.platform.get(f"/orders/{order['id']}/transfers")["items"]
    assert sent["status"] == "sent" and sent["transfer"].startswith("tr_")
    keys = {r["headers"]["Idempotency-Key"] for r in captured.to("/v1/transfers")}
    assert keys == {f"payout-line-{order['lines'][0]['id']}"} and len(captured.to("/v1/transfers")) == 7
    again = market.platform.post(f"/transfers/{transfer['id']}/retry", expect=409).json()
    assert again["code"] == "transfer_not_failed"
    assert market.platform.post("/transfers/999999/retry", expect=404).json()["code"] == "transfer_not_found"
