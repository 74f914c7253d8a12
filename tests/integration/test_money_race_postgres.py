"""R1 under a race, checked in the ledger: protection ends (a worker pays the seller) while
the buyer opens a dispute on the same line, many times, on PostgreSQL.

Each side has its own engine (its own connections, as separate processes would). The
worker's clock is a second past protection's end, the buyer's a second before it, so both
are entitled to act. Whoever gets the order first decides the road:

- the dispute first: the line is held in escrow (R1); when the seller's silence closes the
  dispute (R12) the buyer is refunded from escrow and the seller is paid nothing for it;
- the payout first: the line is paid out, the dispute is one opened in the R6 window after
  completion, and its refund comes back from the seller's balance, commission credited back
  (R30) — never from escrow, which is already empty.

Never both: the seller paid the full line *and* the buyer refunded from its escrow. At the
end every escrow is empty, payout + refunds from escrow = the line's price, no escrow or
refund account ever went negative, and ``ombuds ledger check`` is clean.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import random
from collections import defaultdict
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import text

from ombuds.bootstrap import build_ombuds
from ombuds.domain import commands as c
from ombuds.domain.disputes import Reason, Resolution
from ombuds.domain.errors import Conflict
from ombuds.domain.policy import Policy
from ombuds.services import disputes, orders
from ombuds.services.context import PLATFORM, Caller, Ombuds
from ombuds.services.ledger_check import check_ledger
from ombuds.services.orders import NewLine
from ombuds.services.sweeper import sweep
from ombuds.services.users import create_user
from tests.conftest import T0, settings_for

pytestmark = pytest.mark.postgres

RACES = 40
DRESS, CASE = 1850, 499
COMMISSION_BPS = 500  # 5%: a refund after the payout must give the platform's share back (R30)
SECOND = timedelta(seconds=1)
MOVED_ON_CODES = {"order_moved_on", "order_state_conflict", "deadline_passed"}


async def connected(url: str) -> Ombuds:
    app = dataclasses.replace(build_ombuds(settings_for(url)), policy=Policy(commission_bps=COMMISSION_BPS))
    async with app.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    await app.now()
    return app


async def jittered(coro, rng: random.Random):
    await asyncio.sleep(rng.uniform(0, 0.015))
    return await coro


def sql(url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def cut(amount: int) -> int:
    return amount * COMMISSION_BPS // 10_000


def test_R1_protection_ending_and_a_dispute_on_the_same_line_never_both_pay_the_seller_and_refund_from_escrow(
        postgres_url, monkeypatch):
    url = postgres_url
    tally = collections.Counter()
    made, opened = [], {}
    real_retry = disputes.retry_if_order_moved

    async def counting_retry(attempt):
        """Counts the races the buyer lost mid-way: her save found the order moved on."""
        tries = []

        async def counted():
            tries.append(1)
            return await attempt()
        try:
            return await real_retry(counted)
        finally:
            if len(tries) > 1:
                tally["(the buyer's first try lost the order to the worker and was retried)"] += 1
    monkeypatch.setattr(disputes, "retry_if_order_moved", counting_retry)

    async def scenario():
        setup, buyer_side, worker = await connected(url), await connected(url), await connected(url)
        try:
            b, _ = await create_user(setup, name="Buyer", email="buyer@example.test", role="buyer", country="RU")
            s, _ = await create_user(setup, name="Seller", email="seller@example.test", role="seller",
                                     country="CN")
            buyer, seller = Caller("buyer", b["id"]), Caller("seller", s["id"])
            for i in range(RACES):  # shipped an hour apart: one protection end per race
                await setup.clock.set(T0 + timedelta(hours=i))
                order = await orders.create_order(setup, caller=PLATFORM, buyer_id=buyer.user_id,
                                                  seller_id=seller.user_id, currency="USD", payment_method="visa",
                                                  lines=[NewLine("Dress", DRESS, 1), NewLine("Case", CASE, 1)])
                made.append(await orders.ship(setup, caller=seller, order_id=order.id, carrier="China Post",
                                              tracking_number=f"LP{order.id:09d}CN"))
            rng = random.Random("R1 ledger race")
            for order in made:
                await setup.clock.set(order.protection_ends_at - SECOND)
                claim = c.OpenDispute(order_id=order.id, line_id=order.lines[0].id, received=True,
                                      reason=Reason.missing_items, resolution=Resolution.refund_only,
                                      description="The dress is missing from the parcel.")
                paid, claimed = await asyncio.gather(
                    jittered(sweep(worker, until=order.protection_ends_at + SECOND), rng),
                    jittered(disputes.open_dispute(buyer_side, caller=buyer, cmd=claim), rng),
                    return_exceptions=True)
                assert not isinstance(paid, BaseException), f"order {order.id}: the worker failed: {paid!r}"
                if isinstance(claimed, BaseException):
                    assert isinstance(claimed, Conflict) and claimed.code in MOVED_ON_CODES, \
                        f"order {order.id}: the buyer got {claimed!r}"
                    tally[f"dispute refused ({claimed.code})"] += 1
                else:
                    opened[order.id] = claimed.id
                # The worker's next round, if it skipped the order the buyer held locked.
                await sweep(worker, until=order.protection_ends_at + SECOND)
            # Then months pass: the seller never answers (R12 refunds in full), the orders
            # close (R6), every refund is sent and lands (R20).
            end = made[-1].protection_ends_at + timedelta(days=120)
            await sweep(worker, until=end)
            await setup.clock.set(end)
            assert await check_ledger(setup) == [], "ombuds ledger check found problems"
        finally:
            for app in (setup, buyer_side, worker):
                await app.engine.dispose()

    asyncio.run(asyncio.wait_for(scenario(), 300))
    check_the_books(url, made, opened, tally)
    print("\nR1 ledger races: " + ", ".join(f"{k}={v}" for k, v in sorted(tally.items())))
    assert sum(v for k, v in tally.items() if k.startswith(("dispute first", "payout first"))) == len(opened)


def check_the_books(url: str, made: list, opened: dict[int, int], tally: collections.Counter) -> None:
    # No escrow or refund account ever went negative: running balances, entry by entry.
    running: dict[str, int] = defaultdict(int)
    for entry_id, account, amount in sql(url, "SELECT entry_id, account, sum(amount) FROM postings "
                                              "WHERE account LIKE 'escrow:%%' OR account LIKE 'refund:%%' "
                                              "GROUP BY entry_id, account ORDER BY entry_id"):
        running[account] += amount
        assert running[account] >= 0, f"entry {entry_id} took {account} to {running[account]}"
    assert sql(url, "SELECT e.id, sum(p.amount) FROM journal_entries e JOIN postings p ON p.entry_id = e.id "
                    "GROUP BY e.id HAVING sum(p.amount) <> 0") == []

    def moved(kind: str, account: str, line_id: int) -> int:
        """What entries of ``kind`` on this line posted to ``account``."""
        return sql(url, "SELECT coalesce(sum(p.amount), 0) FROM journal_entries e JOIN postings p "
                        "ON p.entry_id = e.id WHERE e.kind = %s AND e.line_id = %s AND p.account = %s",
                   kind, line_id, account)[0][0]

    seller_id = made[0].seller_id
    for order in made:
        dress, case = order.lines[0].id, order.lines[1].id
        escrow = f"escrow:line:{dress}"
        assert sql(url, "SELECT state FROM orders WHERE id = %s", order.id) == [("closed",)]
        assert sql(url, "SELECT coalesce(sum(amount), 0) FROM postings WHERE account IN (%s, %s)",
                   escrow, f"escrow:line:{case}") == [(0,)], f"order {order.id}: money left in escrow"
        assert sql(url, "SELECT amount FROM payouts WHERE line_id = %s", case) == [(CASE,)]
        payout = -moved("payout", escrow, dress)
        from_escrow = -moved("refund_issued", escrow, dress)
        from_seller = -moved("refund_issued", f"seller:{seller_id}", dress)
        assert not (payout == DRESS and from_escrow > 0), \
            f"order {order.id}: the seller was paid the full dress AND the buyer refunded it from escrow"
        assert payout + from_escrow == DRESS, f"order {order.id}: payout {payout} + refunded from escrow " \
                                              f"{from_escrow} != {DRESS}"
        assert len(sql(url, "SELECT id FROM payouts WHERE line_id = %s", dress)) == (1 if payout else 0)
        refunds = sql(url, "SELECT amount FROM refunds WHERE line_id = %s", dress)
        if order.id not in opened:
            assert (payout, refunds) == (DRESS, []), f"order {order.id}: no dispute, yet {refunds}"
            continue
        assert refunds == [(DRESS,)], f"order {order.id}: the missing dress was refunded {refunds}"
        if payout == 0:  # the dispute got in first: the dress never left escrow (R1)
            assert from_escrow == DRESS and from_seller == 0
            tally["dispute first: dress held, refunded from escrow"] += 1
        else:  # completion got in first: paid, then refunded from the seller (R6, R30)
            assert from_escrow == 0 and from_seller == DRESS - cut(DRESS)
            assert moved("refund_issued", "platform:commission", dress) == -cut(DRESS)
            tally["payout first: dress paid, refunded from the seller"] += 1
    # Every refund has landed, and the seller keeps exactly the undisputed lines, less commission.
    assert sql(url, "SELECT count(*) FROM refunds r WHERE NOT EXISTS (SELECT 1 FROM journal_entries e "
                    "WHERE e.refund_id = r.id AND e.kind = 'refund_settled')") == [(0,)]
    kept = len(made) * (CASE - cut(CASE)) + (len(made) - len(opened)) * (DRESS - cut(DRESS))
    assert sql(url, "SELECT sum(amount) FROM postings WHERE account = %s", f"seller:{seller_id}") == [(kept,)]
