"""``ombuds ledger check`` (§4): clean after the seed's story (DESIGN.md §9) has been played
through the API, and exit 1 naming the entry when one posting has been tampered with.

The check runs as an operator runs it: the real CLI in a subprocess, pointed at the
database by ``OMBUDS_DATABASE_URL``, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ombuds.store.db import sync_url
from tests.factories import Marketplace

OMBUDS_CLI = Path(sys.executable).with_name("ombuds")
DRESS, CASE = 1850, 499
PARTIAL_ASKED, SELLER_OFFER, VERDICT = 300, 150, 250


def play_the_seed_story(market: Marketplace) -> dict:
    """DESIGN.md §9 over the API (as tests/e2e/test_seed_story_http.py, without its checks)."""
    buyer, seller, arbitrator = market.buyer(country="RU", language="ru"), market.seller(), market.arbitrator()
    order = market.order(buyer, seller, lines=((DRESS, 1), (DRESS, 1), (CASE, 1)))
    market.platform.post(f"/orders/{order['id']}/deliver")
    # The blue dress is missing; the seller stays silent for 5 days: refunded in full (R12).
    market.open_dispute(buyer, order, 0, description="The blue dress is missing from the parcel.")
    market.advance("5d")
    # She confirms receipt: the red dress and the case are paid out (R1).
    buyer.confirm_receipt(order["id"])
    # Ten days later the case is broken: a partial refund, negotiated, escalated, decided (R6, R13–R16).
    market.advance("10d")
    second = market.open_dispute(buyer, order, 2, reason="damaged", amount=PARTIAL_ASKED,
                                 description="The phone case cracked after a week of normal use.")
    seller.propose(second["id"], amount=SELLER_OFFER, message="We can refund half of what you ask.")
    buyer.reject(second["id"], message="That does not cover a broken case.")
    market.advance("7d")
    arbitrator.post(f"/disputes/{second['id']}/verdict",
                    {"refund_amount": VERDICT, "return_required": False,
                     "message": "The photos show a crack; a partial refund is fair."})
    buyer.post(f"/disputes/{second['id']}/verdict-replies", {"agree": True})
    seller.post(f"/disputes/{second['id']}/verdict-replies", {"agree": True})
    # A month later: both refunds have landed; the order is closed.
    market.advance("30d")
    assert market.refunded(order) == {order["lines"][0]["id"]: DRESS, order["lines"][2]["id"]: VERDICT}
    assert market.paid_out(order) == {order["lines"][1]["id"]: DRESS, order["lines"][2]["id"]: CASE}
    assert {r["status"] for r in market.platform.refunds(order_id=order["id"])} == {"settled"}
    assert buyer.order(order["id"])["state"] == "closed"
    return order


def ledger_check(database_url: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMBUDS_DATABASE_URL": database_url, "COLUMNS": "200", "NO_COLOR": "1"}
    # cwd is a scratch directory so that no developer's .env leaks into the check.
    return subprocess.run([str(OMBUDS_CLI), "ledger", "check"], check=False, env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def execute(database_url: str, statement: str, **params) -> list:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


def test_ledger_check_passes_after_the_seed_story(market, database_url, tmp_path):
    play_the_seed_story(market)
    checked = ledger_check(database_url, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "consistent" in checked.stdout


@pytest.mark.parametrize("kind", ["order_paid", "payout", "refund_issued", "refund_settled"])
def test_ledger_check_fails_naming_the_entry_whose_posting_was_corrupted(market, database_url, tmp_path, kind):
    play_the_seed_story(market)
    [(entry_id, posting_id)] = execute(
        database_url, "SELECT e.id, min(p.id) FROM journal_entries e JOIN postings p ON p.entry_id = e.id "
                      "WHERE e.kind = :kind GROUP BY e.id ORDER BY e.id LIMIT 1", kind=kind)

    execute(database_url, "UPDATE postings SET amount = amount + 1 WHERE id = :id", id=posting_id)

    checked = ledger_check(database_url, tmp_path)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    named = [line for line in checked.stdout.splitlines() if f"entry {entry_id}:" in line]
    assert any("does not balance" in line for line in named), checked.stdout
    assert "consistent" not in checked.stdout


def test_ledger_check_names_a_running_balance_that_differs_from_its_postings(market, database_url, tmp_path):
    """The running balances are kept beside the postings; the postings are the truth."""
    order = play_the_seed_story(market)
    seller_account = f"seller:{order['seller_id']}"
    [(before,)] = execute(database_url, "SELECT balance FROM account_balances WHERE account = :a",
                          a=seller_account)

    execute(database_url, "UPDATE account_balances SET balance = balance - 1 WHERE account = :a",
            a=seller_account)

    checked = ledger_check(database_url, tmp_path)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    named = [line for line in checked.stdout.splitlines() if seller_account in line]
    assert any(f"running balance of {seller_account} is {before - 1} USD but its postings sum to "
               f"{before} USD" in line for line in named), checked.stdout
    assert "consistent" not in checked.stdout


def test_ledger_check_names_postings_that_have_no_running_balance(market, database_url, tmp_path):
    order = play_the_seed_story(market)
    escrow = f"escrow:line:{order['lines'][1]['id']}"  # paid in, paid out: its balance is 0
    execute(database_url, "DELETE FROM account_balances WHERE account = :a", a=f"seller:{order['seller_id']}")

    checked = ledger_check(database_url, tmp_path)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"running balance of seller:{order['seller_id']} is 0 USD but its postings sum to" in checked.stdout
    assert escrow not in checked.stdout, "an emptied account with a row of 0 is consistent"
