"""The sweeper works in sets, one kind of timer at a time, on SQLite and PostgreSQL.

- a row that fails is set aside with its error (listed for the operator, counted on
  ``/metrics``, logged) while the rest of its batch is applied, and later claims skip it
  until it is released;
- each kind of timer commits on its own: a failure among order timers does not undo the
  dispute deadlines applied before it;
- a refund is sent to the payment provider outside any transaction, under a lease: a worker
  that dies between the provider's answer and its record leaves the refund to be sent again
  under the same idempotency key once the lease runs out — one refund at the provider.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from ombuds.domain import engine, ledger
from ombuds.services import money
from ombuds.store import sweep_store
from tests.integration import test_money
from tests.integration.test_cli import ombuds
from tests.integration.test_money import (
    CountingProvider,  # noqa: F401
    accepted_refund,
    ombuds_of,
    on_app_loop,
    refund_of,
)

# The money tests' fixtures, which the tests here take by name.
books, commission_bps, market, money_client = (test_money.books, test_money.commission_bps, test_money.market,
                                               test_money.money_client)

PRICE = 1850


def set_aside_rows(market) -> list[dict]:
    async def read():
        async with ombuds_of(market).engine.connect() as conn:
            return await sweep_store.list_set_aside(conn)
    return on_app_loop(market, read)


def release(market, kind: str, row_id: int) -> bool:
    async def work():
        async with ombuds_of(market).engine.begin() as conn:
            return await sweep_store.release(conn, kind, row_id)
    return on_app_loop(market, work)


def set_aside_count(kind: str) -> float:
    return REGISTRY.get_sample_value("ombuds_sweep_set_aside_total", {"kind": kind}) or 0.0


def test_R1_an_order_whose_payout_fails_is_set_aside_while_the_rest_of_its_batch_is_paid_out(
        market, books, monkeypatch, database_url, tmp_path):
    buyer, seller = market.buyer(), market.seller()
    orders = [market.order(buyer, seller, lines=((PRICE, 1), (PRICE, 2))) for _ in range(4)]
    bad = orders[1]
    real_payout, tried = ledger.payout, []

    def payout_that_fails_for_one_order(order, line_id, amount, bps):
        if order.id == bad["id"]:
            tried.append(line_id)
            raise ValueError("this order's payout account is broken")
        return real_payout(order, line_id, amount, bps)

    monkeypatch.setattr(ledger, "payout", payout_that_fails_for_one_order)
    before = set_aside_count("order")
    market.advance("61d")  # protection ends for every order in one batch

    for order in orders:
        if order is not bad:
            assert buyer.order(order["id"])["state"] == "completed"
            assert market.paid_out(order) == {order["lines"][0]["id"]: PRICE, order["lines"][1]["id"]: 2 * PRICE}
    assert buyer.order(bad["id"])["state"] == "shipped"  # nothing of it was written
    assert market.paid_out(bad) == {}
    assert books.escrow(bad["lines"][0]) == PRICE
    [row] = set_aside_rows(market)
    assert (row["kind"], row["row_id"]) == ("order", bad["id"])
    assert "payout account is broken" in row["error"]
    assert set_aside_count("order") == before + 1
    code, out = ombuds("sweeps", "set-aside", cwd=tmp_path, OMBUDS_DATABASE_URL=database_url)
    assert code == 1 and f"│ order │ {bad['id']} │" in out and "payout account is broken" in out

    # Later sweeps skip it: it does not hold back anything, nor is it tried again and again.
    tried.clear()
    market.advance("1d")
    assert tried == [] and buyer.order(bad["id"])["state"] == "shipped"

    # The operator fixes the cause and releases it: the next sweep applies its timer, at its time.
    monkeypatch.setattr(ledger, "payout", real_payout)
    code, out = ombuds("sweeps", "release", "order", str(bad["id"]), cwd=tmp_path, OMBUDS_DATABASE_URL=database_url)
    assert code == 0 and f"Released order {bad['id']}" in out
    market.advance("1m")
    order = buyer.order(bad["id"])
    assert order["state"] == "completed"
    assert order["completed_at"] == bad["protection"]["ends_at"]  # at its own time, though applied late
    assert market.paid_out(bad) == {bad["lines"][0]["id"]: PRICE, bad["lines"][1]["id"]: 2 * PRICE}
    assert set_aside_rows(market) == []


def state_of(books, dispute: dict) -> str:
    return books.sql("SELECT state FROM disputes WHERE id = :i", i=dispute["id"])[0][0]


def test_R12_a_dispute_the_lifecycle_refuses_is_set_aside_while_the_others_close_with_their_refunds(
        market, books, monkeypatch):
    buyer, seller = market.buyer(), market.seller()
    disputes = [market.open_dispute_with(buyer, market.order(buyer, seller)) for _ in range(3)]
    bad = disputes[0]
    real_fire_due = engine.fire_due

    def fire_due_refusing_one(d, *, now, policy):
        if d.id == bad["id"]:
            raise RuntimeError("this dispute's row is damaged")
        return real_fire_due(d, now=now, policy=policy)

    monkeypatch.setattr(engine, "fire_due", fire_due_refusing_one)
    market.advance("6d")  # R12: the seller stayed silent past the answer deadline

    # (read with SQL: the API's views apply due timers to what they show, through the same function)
    for d in disputes[1:]:
        assert state_of(books, d) == "closed"
        assert len(books.entries("refund_issued", dispute_id=d["id"])) == 1
    assert state_of(books, bad) == "awaiting_seller"
    assert books.entries("refund_issued", dispute_id=bad["id"]) == []
    assert [(r["kind"], r["row_id"]) for r in set_aside_rows(market)] == [("dispute", bad["id"])]

    monkeypatch.setattr(engine, "fire_due", real_fire_due)
    release(market, "dispute", bad["id"])
    market.advance("1m")
    assert buyer.dispute(bad["id"])["state"] == "closed"
    assert len(books.entries("refund_issued", dispute_id=bad["id"])) == 1


def test_R1_each_kind_of_timer_commits_on_its_own_so_a_failure_among_order_timers_keeps_the_closed_disputes(
        market, books, monkeypatch):
    buyer, seller = market.buyer(), market.seller()
    disputed = market.order(buyer, seller)
    d = market.open_dispute_with(buyer, disputed)
    plain = market.order(buyer, seller)
    from ombuds.services import order_timers
    real_apply = order_timers.apply

    async def database_gone(*args, **kw):
        raise ConnectionResetError("the database connection dropped")

    monkeypatch.setattr(order_timers, "apply", database_gone)
    with pytest.raises(ConnectionResetError):
        market.advance("61d")  # the dispute's deadline (day 5), then protection's end (day 60)

    # The disputes' transaction committed before the order timers failed: kept.
    assert buyer.dispute(d["id"])["state"] == "closed"
    assert len(books.entries("refund_issued", dispute_id=d["id"])) == 1
    # The order timers' batch rolled back; nothing was set aside: it was not the rows' fault.
    assert buyer.order(plain["id"])["state"] == "shipped"
    assert set_aside_rows(market) == []

    monkeypatch.setattr(order_timers, "apply", real_apply)
    market.advance("1m")
    assert buyer.order(plain["id"])["state"] == "completed"
    assert market.paid_out(plain) == {plain["lines"][0]["id"]: PRICE}


def test_R20_a_worker_that_dies_between_sending_a_refund_and_recording_it_leaves_it_to_be_sent_again_under_its_key(
        market, books, monkeypatch):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    provider = CountingProvider()
    ombuds_of(market).payments = provider
    refund = accepted_refund(market, buyer, seller, order)
    key = books.refund_row(refund["id"]).idempotency_key

    # The worker sends the refund, the provider books it, and the worker dies before it records
    # the answer: its lease on the refund is left to run out.
    real_record = money.record_submissions

    async def dies(*args, **kw):
        raise ConnectionResetError("the worker was killed")

    async def no_release(app, ids):
        return None  # a dead process gives nothing back

    monkeypatch.setattr(money, "record_submissions", dies)
    monkeypatch.setattr(money, "_release", no_release)
    with pytest.raises(ConnectionResetError):
        market.advance("1m")
    assert provider.calls == [key]
    assert books.refund_row(refund["id"]).claimed_until is not None
    monkeypatch.setattr(money, "record_submissions", real_record)

    # While the lease runs, no other sweep sends it (the first worker could still be alive).
    market.advance("1m")
    assert provider.calls == [key]
    assert refund_of(buyer, order)["status"] == "pending"

    # Once it has run out, the refund is claimed again and sent under the same key.
    real_wall_now = money.wall_now
    monkeypatch.setattr(money, "wall_now", lambda: real_wall_now() + money.LEASE + timedelta(seconds=1))
    market.advance("1m")
    assert provider.calls == [key, key]
    assert list(provider.simulator.book) == [key]  # one refund at the provider
    assert refund_of(buyer, order)["status"] == "submitted"
    assert books.refund_row(refund["id"]).claimed_until is None

    market.advance("30d")
    assert refund_of(buyer, order)["status"] == "settled"
    assert len(books.entries("refund_settled", refund_id=refund["id"])) == 1
    assert books.balance(ledger.buyer_payments(buyer.id)) == 0
