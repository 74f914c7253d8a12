"""Money over the HTTP API, on SQLite and PostgreSQL: escrow and payouts (R1), commission
credited back on refunds (R30), refunds to the in-platform balance (R31), refunds dated in
business days and settled inside their window (R20), cancellation, the guard that refuses
money without journal entries, and refunds that survive a crash or a failing provider.

People act through the API with their own tokens; the ledger itself (escrow and commission
accounts have no endpoint) is read with plain SQL.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from itertools import pairwise

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from ombuds.adapters.payments import (
    ProviderError,
    ProviderRefund,
    RefundRequest,
    SimulatedProvider,
)
from ombuds.bootstrap import create_app
from ombuds.domain import ledger
from ombuds.domain.business_days import is_business_day
from ombuds.store.db import sync_url
from ombuds.store.repository import UnrecordedMoney
from ombuds.store.uow import UnitOfWork
from tests.conftest import MARKETPLACE_KEY, T0, settings_for
from tests.factories import Marketplace

DRESS, CASE = 1850, 499  # USD cents


# Fixtures: the API with a policy file (commission), and the ledger read back with SQL -----

@pytest.fixture
def commission_bps() -> int:
    """The policy's commission (§4); a test parametrizes it to change it."""
    return 0


@pytest.fixture
def money_client(database_url, tmp_path, commission_bps):
    policy = tmp_path / "policy.toml"
    policy.write_text(f"commission_bps = {commission_bps}\n")
    settings = settings_for(database_url).model_copy(update={"policy_file": policy})
    with TestClient(create_app(settings), raise_server_exceptions=True) as c:
        yield c


@pytest.fixture
def market(money_client) -> Marketplace:
    return Marketplace(money_client, MARKETPLACE_KEY)


@pytest.fixture
def books(database_url):
    reader = Books(database_url)
    yield reader
    reader.close()


class Books:
    """The ledger as the database holds it, read with plain SQL."""

    def __init__(self, url: str):
        self.engine = create_engine(sync_url(url))

    def close(self) -> None:
        self.engine.dispose()

    def sql(self, query: str, **params) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(query), params).all()

    def balance(self, account: str) -> int:
        return int(self.sql("SELECT COALESCE(SUM(amount), 0) FROM postings WHERE account = :a", a=account)[0][0])

    def escrow(self, line: dict) -> int:
        return self.balance(ledger.escrow(line["id"]))

    def entries(self, kind: str, **where) -> list:
        conditions = "".join(f" AND {column} = :{column}" for column in where)
        return self.sql(f"SELECT id FROM journal_entries WHERE kind = :kind{conditions} ORDER BY id",
                        kind=kind, **where)

    def postings(self, entry_id: int) -> dict[str, int]:
        return {a: int(m) for a, m in self.sql("SELECT account, amount FROM postings WHERE entry_id = :e",
                                               e=entry_id)}

    def refund_row(self, refund_id: int):
        return self.sql("SELECT * FROM refunds WHERE id = :r", r=refund_id)[0]


def utc(moment: datetime | str) -> datetime:
    """A timestamp read with plain SQL (SQLite gives text), as an aware UTC datetime."""
    moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ombuds_of(market: Marketplace):
    return market.client.app.state.ombuds


def on_app_loop(market: Marketplace, fn, *args):
    """Run a coroutine function on the TestClient's event loop (where the app's engine lives)."""
    return market.client.portal.call(fn, *args)


def refund_of(person, order: dict) -> dict:
    [refund] = person.refunds(order_id=order["id"])
    return refund


def accepted_refund(market: Marketplace, buyer, seller, order: dict, line: int = 0, **open_kw) -> dict:
    """The buyer claims the line's item is missing; the seller accepts: a refund is issued."""
    d = market.open_dispute_with(buyer, order, line, **open_kw)
    seller.accept(d["id"])
    return refund_of(market.platform, order)


# R1: escrow, then payout minus commission ------------------------------------------------

@pytest.mark.parametrize("commission_bps", [250])
def test_R1_the_money_waits_in_escrow_until_the_buyer_confirms_then_the_seller_is_paid_less_commission(
        market, books):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, lines=((DRESS, 2), (CASE, 1)))
    dresses, case = order["lines"]

    # Paid and shipped: every cent is held, line by line; the seller has nothing yet.
    assert (books.escrow(dresses), books.escrow(case)) == (2 * DRESS, CASE)
    assert books.balance(ledger.buyer_payments(buyer.id)) == -(2 * DRESS + CASE)
    assert seller.payouts(order_id=order["id"]) == []
    assert seller.get(f"/balances/sellers/{seller.id}")["balances"] == {}

    buyer.confirm_receipt(order["id"])

    # Each line is paid out whole; 2.5% commission is taken per line, rounded down so the
    # seller never loses a fraction: 3700 → 92 (92.5), 499 → 12 (12.475).
    assert market.paid_out(order) == {dresses["id"]: 2 * DRESS, case["id"]: CASE}
    assert seller.get(f"/balances/sellers/{seller.id}")["balances"] == {"USD": 3700 - 92 + 499 - 12}
    assert books.balance(ledger.COMMISSION) == 92 + 12
    assert (books.escrow(dresses), books.escrow(case)) == (0, 0)
    assert [len(books.entries("payout", line_id=line["id"])) for line in (dresses, case)] == [1, 1]


def test_R1_protection_ending_pays_the_undisputed_line_and_the_disputed_one_waits_for_its_verdict(
        market, books):
    buyer, seller, arbitrator = market.buyer(), market.seller(), market.arbitrator()
    order = market.order(buyer, seller, lines=((DRESS, 1), (CASE, 1)))
    dress, case = order["lines"]
    d = market.open_dispute(buyer, order, 0)
    seller.reject(d["id"])

    market.advance("60d")  # negotiation ran out (R14) and protection ended (R2)
    assert buyer.order(order["id"])["state"] == "completed"
    assert buyer.dispute(d["id"])["state"] == "escalated"
    assert market.paid_out(order) == {case["id"]: CASE}, "the disputed dress was paid out (R1)"
    assert books.escrow(dress) == DRESS

    arbitrator.post(f"/disputes/{d['id']}/verdict", {"refund_amount": 600, "return_required": False,
                                                     "message": "Part of the order was missing."})
    buyer.post(f"/disputes/{d['id']}/verdict-replies", {"agree": True})
    seller.post(f"/disputes/{d['id']}/verdict-replies", {"agree": True})

    # Closed: the dress's escrow is split as decided, 600 back to her, the rest to the seller.
    assert market.refunded(order) == {dress["id"]: 600}
    assert market.paid_out(order) == {case["id"]: CASE, dress["id"]: DRESS - 600}
    assert books.escrow(dress) == 0
    assert seller.get(f"/balances/sellers/{seller.id}")["balances"] == {"USD": CASE + DRESS - 600}


# R30: commission on a refunded amount goes back to the seller ----------------------------

@pytest.mark.parametrize("commission_bps", [1000])
@pytest.mark.parametrize("refund_comes", ["before_the_payout", "after_the_payout"])
def test_R30_the_commission_on_a_refunded_amount_is_credited_back_to_the_seller(market, books, refund_comes):
    """10% commission on a 2000 line, 500 of it refunded. Before the payout the refund comes
    out of escrow and only 1500 is paid out (commission 150); after the payout it comes back
    from the seller (450) and the platform (its 50 of commission). Either way the seller ends
    with 1350, the platform with 150, and the buyer has 500 back."""
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, lines=((2000, 1),))
    if refund_comes == "after_the_payout":
        buyer.confirm_receipt(order["id"])
        assert seller.get(f"/balances/sellers/{seller.id}")["balances"] == {"USD": 1800}
        assert books.balance(ledger.COMMISSION) == 200
    refund = accepted_refund(market, buyer, seller, order, amount=500,
                             description="One of the two straps is missing.")
    if refund_comes == "before_the_payout":
        buyer.confirm_receipt(order["id"])

    [issued] = books.entries("refund_issued", refund_id=refund["id"])
    if refund_comes == "after_the_payout":
        assert books.postings(issued[0]) == {ledger.refund_account(refund["id"]): 500,
                                             ledger.seller(seller.id): -450, ledger.COMMISSION: -50}
        assert market.paid_out(order) == {order["lines"][0]["id"]: 2000}
    else:
        assert books.postings(issued[0]) == {ledger.refund_account(refund["id"]): 500,
                                             ledger.escrow(order["lines"][0]["id"]): -500}
        assert market.paid_out(order) == {order["lines"][0]["id"]: 1500}
    assert seller.get(f"/balances/sellers/{seller.id}")["balances"] == {"USD": 1350}
    assert books.balance(ledger.COMMISSION) == 150
    assert refund["amount"] == 500 and books.escrow(order["lines"][0]) == 0


# R31: the in-platform balance ---------------------------------------------------------

def test_R31_a_refund_to_the_in_platform_balance_lands_at_once(market, books):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    assert buyer.get(f"/balances/buyers/{buyer.id}")["balances"] == {}

    refund = accepted_refund(market, buyer, seller, order, refund_to="platform_balance")

    # No provider, no waiting: it is on her balance now, and the refund says so.
    assert buyer.get(f"/balances/buyers/{buyer.id}")["balances"] == {"USD": DRESS}
    today = datetime.fromisoformat(market.now()).date().isoformat()
    assert (refund["status"], refund["destination"]) == ("settled", "platform_balance")
    assert refund["expected_earliest"] == refund["expected_latest"] == today
    assert refund["settled_at"] == market.now()
    assert books.balance(ledger.refund_account(refund["id"])) == 0
    # The card was not refunded as well.
    assert books.balance(ledger.buyer_payments(buyer.id)) == -DRESS
    # Only she (and staff) may see her balance.
    assert market.buyer().get(f"/balances/buyers/{buyer.id}", expect=404)


# R20: refunds dated in business days of the buyer's country -------------------------------

def test_R20_a_visa_refund_issued_on_the_friday_before_womens_day_is_dated_in_russian_business_days(
        market, books):
    buyer, seller = market.buyer(country="RU"), market.seller()
    order = market.order(buyer, seller)  # shipped Monday 2 March 2026
    market.advance("4d")  # Friday 6 March 2026

    refund = accepted_refund(market, buyer, seller, order)

    # Visa lands in 3–15 business days. 8 March 2026 (International Women's Day) is a Sunday,
    # so Russia rests on Monday 9 March: business days 1–3 are 10, 11, 12 March; days 4–15
    # run on to Monday 30 March.
    assert (refund["payment_method"], refund["created_at"][:10]) == ("visa", "2026-03-06")
    assert (refund["expected_earliest"], refund["expected_latest"]) == ("2026-03-12", "2026-03-30")
    assert refund["status"] == "pending"  # waiting for the worker to send it to the provider
    assert [r["id"] for r in buyer.refunds(status="pending")] == [refund["id"]]

    market.advance("1m")
    refund = refund_of(buyer, order)
    assert refund["status"] == "submitted" and refund["attempts"] == 1
    assert [r["id"] for r in market.platform.refunds(buyer_id=buyer.id, status="submitted")] == [refund["id"]]
    assert books.balance(ledger.refund_account(refund["id"])) == DRESS  # in flight

    market.advance("25d")  # past 30 March
    refund = refund_of(buyer, order)
    settled_on = datetime.fromisoformat(refund["settled_at"]).date()
    assert refund["status"] == "settled"
    assert date(2026, 3, 12) <= settled_on <= date(2026, 3, 30)
    assert is_business_day(settled_on, "RU") and settled_on != date(2026, 3, 9)
    assert books.balance(ledger.refund_account(refund["id"])) == 0
    assert books.balance(ledger.buyer_payments(buyer.id)) == 0  # the dress's money is back on her Visa


def test_R20_an_alipay_refund_lands_the_same_day(market):
    buyer, seller = market.buyer(country="CN"), market.seller()
    order = market.order(buyer, seller, method="alipay_balance")
    refund = accepted_refund(market, buyer, seller, order)
    today = datetime.fromisoformat(market.now()).date().isoformat()
    assert refund["expected_earliest"] == refund["expected_latest"] == today
    market.advance("1d")
    refund = refund_of(buyer, order)
    assert refund["status"] == "settled" and refund["settled_at"][:10] == today


# Cancelling before shipping -----------------------------------------------------------

def test_cancelling_before_shipping_refunds_every_line_in_full(market, books):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, lines=((DRESS, 2), (CASE, 1)), ship=False)
    buyer.post(f"/orders/{order['id']}/cancel")

    refunds = buyer.refunds(order_id=order["id"])
    assert {r["line_id"]: r["amount"] for r in refunds} == {order["lines"][0]["id"]: 2 * DRESS,
                                                           order["lines"][1]["id"]: CASE}
    assert {r["reason"] for r in refunds} == {"cancelled"}
    assert [books.escrow(line) for line in order["lines"]] == [0, 0]
    assert market.paid_out(order) == {}

    market.advance("30d")
    assert {r["status"] for r in buyer.refunds(order_id=order["id"])} == {"settled"}
    assert books.balance(ledger.buyer_payments(buyer.id)) == 0, "the buyer is not whole again"
    assert seller.get(f"/balances/sellers/{seller.id}")["balances"] == {}
    market.advance("90d")
    assert market.paid_out(order) == {}, "a cancelled order was paid out"


# The guard: no money without its journal entry --------------------------------------------

def test_the_unit_of_work_refuses_to_commit_a_refund_or_payout_without_its_journal_entry(market, books):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    line_id = order["lines"][0]["id"]
    ombuds = ombuds_of(market)
    row = {"dispute_id": None, "order_id": order["id"], "line_id": line_id, "buyer_id": buyer.id,
           "amount": DRESS, "currency": "USD", "payment_method": "visa", "destination": "original_method",
           "reason": "test", "created_at": T0, "expected_earliest": T0.date(),
           "expected_latest": T0.date(), "next_attempt_at": None}

    async def refund_without_entry():
        async with ombuds.uow() as uow:
            await uow.repo.add_refund({**row, "idempotency_key": "refund-unrecorded"})
            with pytest.raises(UnrecordedMoney) as refused:
                await uow.commit()
            return refused.value.missing

    async def payout_without_entry():
        async with ombuds.uow() as uow:
            domain_order = await uow.repo.get_order(order["id"])
            await uow.repo.add_payout(domain_order, line_id, DRESS, T0)
            with pytest.raises(UnrecordedMoney) as refused:
                await uow.commit()
            return refused.value.missing

    async def refund_with_entry():
        async with ombuds.uow() as uow:
            domain_order = await uow.repo.get_order(order["id"])
            refund_id = await uow.repo.add_refund({**row, "idempotency_key": "refund-recorded"})
            source = ledger.refund_source(DRESS, DRESS)
            await uow.repo.post(ledger.refund_issued(refund_id=refund_id, order=domain_order, line_id=line_id,
                                                     amount=DRESS, source=source, dispute_id=None), T0)
            await uow.commit()
            return refund_id

    [(kind, _)] = on_app_loop(market, refund_without_entry)
    assert kind == "refund"
    assert on_app_loop(market, payout_without_entry) == [("payout", line_id)]
    assert books.sql("SELECT count(*) FROM refunds")[0][0] == 0, "a refund without its entry was committed"
    assert books.sql("SELECT count(*) FROM payouts")[0][0] == 0, "a payout without its entry was committed"
    # The control: the same refund with its entry commits.
    refund_id = on_app_loop(market, refund_with_entry)
    assert books.balance(ledger.refund_account(refund_id)) == DRESS and books.escrow(order["lines"][0]) == 0


# Refunds and the payment provider: idempotency, failure, retry ---------------------------

class CountingProvider:
    """The built-in simulator, counting the calls it gets."""

    def __init__(self) -> None:
        self.simulator = SimulatedProvider()
        self.calls: list[str] = []

    async def create_refund(self, request: RefundRequest) -> ProviderRefund:
        self.calls.append(request.idempotency_key)
        return await self.simulator.create_refund(request)


def test_a_crash_between_the_provider_call_and_our_commit_yields_one_refund_and_one_settlement(
        market, books, monkeypatch):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    provider = CountingProvider()
    ombuds_of(market).payments = provider
    refund = accepted_refund(market, buyer, seller, order)
    key = books.refund_row(refund["id"]).idempotency_key

    # The worker sends the refund; the provider books it; then our commit fails (the
    # database connection dropped): none of what we learnt from the provider is kept.
    real_commit = UnitOfWork.commit

    async def commit_that_crashes_once_the_provider_answered(uow):
        if provider.calls and not crashed:
            crashed.append(True)
            raise ConnectionResetError("the database connection dropped before COMMIT")
        await real_commit(uow)

    crashed: list[bool] = []
    monkeypatch.setattr(UnitOfWork, "commit", commit_that_crashes_once_the_provider_answered)
    with pytest.raises(ConnectionResetError):
        market.advance("1m")
    assert crashed and list(provider.simulator.book) == [key]
    assert refund_of(buyer, order)["status"] == "pending"  # we never heard the answer

    # The next sweep sends it again, with the same key: the provider has one refund.
    market.advance("1m")
    assert provider.calls == [key, key]
    assert list(provider.simulator.book) == [key]
    assert refund_of(buyer, order)["status"] == "submitted"

    market.advance("30d")
    assert refund_of(buyer, order)["status"] == "settled"
    assert len(books.entries("refund_settled", refund_id=refund["id"])) == 1
    assert books.balance(ledger.buyer_payments(buyer.id)) == 0  # the dress came back once, not twice
    assert books.balance(ledger.refund_account(refund["id"])) == 0


class FailingProvider:
    """A payment provider that refuses every refund until it is ``healthy`` again."""

    def __init__(self) -> None:
        self.healthy = False
        self.calls: list[str] = []
        self.simulator = SimulatedProvider()

    async def create_refund(self, request: RefundRequest) -> ProviderRefund:
        self.calls.append(request.idempotency_key)
        if not self.healthy:
            raise ProviderError("issuer_unavailable: the card issuer did not answer")
        return await self.simulator.create_refund(request)


def test_a_refund_the_provider_keeps_refusing_backs_off_then_reaches_the_operator_who_retries_it(
        market, books):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    provider = FailingProvider()
    ombuds_of(market).payments = provider
    refund = accepted_refund(market, buyer, seller, order)

    waits = []
    for _ in range(5):
        market.advance("1h")  # one attempt per sweep: the next one is not due yet
        next_attempt = books.refund_row(refund["id"]).next_attempt_at
        waits.append(utc(next_attempt) - datetime.fromisoformat(market.now()))
        assert refund_of(buyer, order)["status"] == "pending"
    assert all(a < b for a, b in pairwise(waits)), f"the waits do not grow: {waits}"
    assert len(provider.calls) == 5

    market.advance("1h")  # the sixth failure: given up, and the operator is told
    failed = refund_of(market.platform, order)
    assert failed["status"] == "failed" and failed["attempts"] == 6
    assert "issuer_unavailable" in failed["last_error"]
    assert books.refund_row(refund["id"]).next_attempt_at is None
    [(payload,)] = books.sql("SELECT payload FROM outbox WHERE type = 'refund.failed'")
    payload = payload if isinstance(payload, dict) else json.loads(payload)
    assert (payload["refund_id"], payload["attempts"], payload["amount"]) == (refund["id"], 6, DRESS)
    assert [r["id"] for r in market.platform.refunds(status="failed")] == [refund["id"]]
    market.advance("30d")
    assert len(provider.calls) == 6, "a failed refund was retried without the operator"
    # Never silently lost: the money waits in the refund's account.
    assert books.balance(ledger.refund_account(refund["id"])) == DRESS

    # The operator retries it (only the marketplace may); the provider is back.
    buyer.post(f"/refunds/{refund['id']}/retry", expect=403)
    provider.healthy = True
    retried = market.platform.post(f"/refunds/{refund['id']}/retry")
    assert (retried["status"], retried["attempts"]) == ("pending", 0)
    market.advance("1m")
    assert provider.calls[-1] == provider.calls[0], "the retry used another idempotency key"
    assert list(provider.simulator.book) == [provider.calls[0]]
    market.advance("30d")
    assert refund_of(buyer, order)["status"] == "settled"
    assert len(books.entries("refund_settled", refund_id=refund["id"])) == 1
    assert books.balance(ledger.refund_account(refund["id"])) == 0
    assert books.balance(ledger.buyer_payments(buyer.id)) == 0
    conflict = market.platform.post(f"/refunds/{refund['id']}/retry", expect=409).json()
    assert conflict["code"] == "refund_not_failed"


def test_R20_a_refund_retried_after_its_window_settles_after_the_retry_not_before_it(market):
    """A refund that failed for a month and is then sent again cannot have landed before it
    was sent: its settlement is dated after the retry."""
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    provider = FailingProvider()
    ombuds_of(market).payments = provider
    refund = accepted_refund(market, buyer, seller, order)
    for _ in range(6):
        market.advance("1h")
    assert refund_of(buyer, order)["status"] == "failed"
    market.advance("30d")  # the R20 window (3–15 business days) has gone by meanwhile

    provider.healthy = True
    market.platform.post(f"/refunds/{refund['id']}/retry")
    retried_at = datetime.fromisoformat(market.now())
    market.advance("1m")
    market.advance("30d")
    refund = refund_of(buyer, order)
    assert refund["status"] == "settled"
    assert datetime.fromisoformat(refund["settled_at"]) >= retried_at, \
        f"settled {refund['settled_at']}, before it was sent again at {retried_at.isoformat()}"


def test_the_operator_finds_a_failed_refund_however_many_refunds_came_after_it(market):
    """A failed refund surfaces to the operator; it never disappears from the list of failed
    refunds because newer refunds were issued after it."""
    buyer, seller = market.buyer(), market.seller()
    provider = FailingProvider()
    ombuds_of(market).payments = provider
    failed = accepted_refund(market, buyer, seller, market.order(buyer, seller))
    for _ in range(6):
        market.advance("1h")
    provider.healthy = True
    for _ in range(10):  # ten more refunds, all fine: orders cancelled before shipping
        order = market.order(buyer, seller, ship=False)
        buyer.post(f"/orders/{order['id']}/cancel")
    assert [r["id"] for r in market.platform.refunds(status="failed")] == [failed["id"]]
    assert [r["id"] for r in market.platform.refunds(status="failed", limit=1)] == [failed["id"]]


def test_R30_only_the_commission_actually_taken_is_credited_back_when_the_policy_changed(
        market, books, database_url, tmp_path):
    """The payout was made at 0% commission; the operator then sets 10%. A refund after the
    payout must not 'credit back' commission the platform never took."""
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller, lines=((2000, 1),))
    buyer.confirm_receipt(order["id"])
    assert seller.get(f"/balances/sellers/{seller.id}")["balances"] == {"USD": 2000}

    policy = tmp_path / "policy-10.toml"
    policy.write_text("commission_bps = 1000\n")
    settings = settings_for(database_url).model_copy(update={"policy_file": policy})
    with TestClient(create_app(settings), raise_server_exceptions=True) as later:
        later_market = Marketplace(later, MARKETPLACE_KEY)
        later_buyer = dataclasses.replace(buyer, market=later_market)
        later_seller = dataclasses.replace(seller, market=later_market)
        accepted_refund(later_market, later_buyer, later_seller, order, amount=500,
                        description="One of the two straps is missing.")
        assert later_seller.get(f"/balances/sellers/{seller.id}")["balances"] == {"USD": 1500}
    assert books.balance(ledger.COMMISSION) == 0, "the platform gave back commission it never took"
