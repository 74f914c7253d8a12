"""R38 against concurrency on PostgreSQL: two requests sent at once (two tabs), a grant
racing a decline, and a grant racing the end of protection. Exactly one wins each race; the
loser hears a 409 with a stable code; nothing is applied twice or after protection ended."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from ombuds.domain.errors import Conflict
from ombuds.services import protection_requests as requests
from ombuds.services.sweeper import sweep
from tests.conftest import T0
from tests.integration.test_concurrency_postgres import SECOND, Shop, close, connected, race, run, scalar

pytestmark = pytest.mark.postgres
RACES = 15


def test_R38_one_open_request_and_one_answer_even_when_sent_at_once(postgres_url):
    url = postgres_url

    async def scenario():
        setup, one, two = await connected(url), await connected(url), await connected(url)
        try:
            shop = await Shop(setup).people()
            rng = random.Random("R38")
            for i in range(RACES):
                await setup.clock.set(T0 + timedelta(hours=i))
                order = await shop.shipped_order()
                asked = await race(rng, *(requests.ask(app, caller=shop.buyer, order_id=order.id, reason=f"Tab {n}")
                                          for n, app in ((1, one), (2, two))))
                made = [r for r in asked if isinstance(r, dict)]
                refused = [r for r in asked if isinstance(r, BaseException)]
                assert len(made) == 1 and len(refused) == 1, asked
                assert isinstance(refused[0], Conflict) and refused[0].code == "request_already_open", refused
                assert scalar(url, "SELECT count(*) FROM protection_requests WHERE order_id = %s", order.id) == 1

                request = made[0]
                answers = await race(rng, requests.grant(one, caller=shop.seller, order_id=order.id,
                                                         request_id=request["id"], days=10),
                                     requests.decline(two, caller=shop.seller, order_id=order.id,
                                                      request_id=request["id"], answer="No."))
                won = [a for a in answers if isinstance(a, dict)]
                lost = [a for a in answers if isinstance(a, BaseException)]
                assert len(won) == 1 and len(lost) == 1, answers
                assert isinstance(lost[0], Conflict) and lost[0].code in ("request_answered", "order_moved_on"), lost
                extended = scalar(url, "SELECT protection_extension_days FROM orders WHERE id = %s", order.id)
                assert extended == (10 if won[0]["state"] == "granted" else 0)
                told = scalar(url, "SELECT count(*) FROM outbox WHERE aggregate_id = %s AND type IN "
                                   "('order.protection_request_granted', 'order.protection_request_declined')",
                              order.id)
                assert told == 1
        finally:
            await close(setup, one, two)

    run(scenario())


def test_R38_a_grant_after_protection_ended_loses_to_the_timer(postgres_url):
    url = postgres_url

    async def scenario():
        setup, seller_side, worker_side = await connected(url), await connected(url), await connected(url)
        try:
            shop = await Shop(setup).people()
            rng = random.Random("R38-late")
            for i in range(RACES):
                await setup.clock.set(T0 + timedelta(hours=i))
                order = await shop.shipped_order()
                request = await requests.ask(setup, caller=shop.buyer, order_id=order.id, reason="Customs.")
                await setup.clock.set(order.protection_ends_at + SECOND)
                swept, granted = await race(rng, sweep(worker_side), requests.grant(
                    seller_side, caller=shop.seller, order_id=order.id, request_id=request["id"], days=10))
                assert not isinstance(swept, BaseException), swept
                assert isinstance(granted, Conflict), f"a grant after protection ended: {granted!r}"
                assert scalar(url, "SELECT protection_extension_days FROM orders WHERE id = %s", order.id) == 0
                assert scalar(url, "SELECT state FROM protection_requests WHERE id = %s", request["id"]) == "open"
                await sweep(worker_side)
                assert scalar(url, "SELECT state FROM orders WHERE id = %s", order.id) == "completed"
        finally:
            await close(setup, seller_side, worker_side)

    run(scenario())
