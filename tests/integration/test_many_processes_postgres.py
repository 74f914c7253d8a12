"""Many processes, one PostgreSQL (DESIGN.md §7): every timer applied once, every outbox row
dispatched once.

Two ``ombuds serve`` processes (each dispatching in-process, as a manual clock has them do)
and two ``ombuds worker`` processes (sweeping and dispatching) share one database, a real
SMTP server (aiosmtpd) and a real webhook receiver. The marketplace records, ships and
disputes orders through both servers at once while the manual clock is advanced through both
— each advance sweeps in its server while the workers sweep too — and sellers answer disputes
as their deadlines pass. Then every timer must have fired exactly once (one completion and one
close per order, one decision per dispute, one refund per refunded line, one payout per paid
line), and every outbox row must have been sent exactly once: one signed webhook per event,
one e-mail per person told, no repeats.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import MARKETPLACE_KEY, T0
from tests.e2e.conftest import running_server
from tests.factories import Marketplace, Person
from tests.receivers import SmtpInbox, WebhookReceiver, wait_until

pytestmark = pytest.mark.postgres
OMBUDS = Path(sys.executable).parent / "ombuds"
ORDERS, DISPUTED, ACCEPTED, CONFIRMED = 24, 12, 5, 6


def start_worker(url: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    environment = {**os.environ, "OMBUDS_DATABASE_URL": url, "OMBUDS_CLOCK": "manual",
                   "OMBUDS_CLOCK_START": T0.isoformat(), **env}
    with open(log, "wb") as out:
        return subprocess.Popen([str(OMBUDS), "worker"], env=environment, cwd=log.parent, stdout=out,
                                stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(15)


def rows(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params or None).fetchall()


def one(url: str, sql: str, *params):
    return rows(url, sql, *params)[0][0]


def on(person: Person, market: Marketplace) -> Person:
    """The same person, talking to the other server."""
    return dataclasses.replace(person, market=market)


def test_two_servers_and_two_workers_apply_each_timer_once_and_send_each_event_once(postgres_url, tmp_path):
    url = postgres_url
    with ExitStack() as stack:
        inbox = stack.enter_context(SmtpInbox())
        receiver = stack.enter_context(WebhookReceiver())
        env = {"OMBUDS_SMTP_HOST": "127.0.0.1", "OMBUDS_SMTP_PORT": str(inbox.port), "OMBUDS_SMTP_TLS": "none",
               "OMBUDS_MARKETPLACE_KEY": MARKETPLACE_KEY}
        bases = []
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            base, _ = stack.enter_context(running_server(
                url, tmp_path / name, worker_in_process="true",
                **{k.removeprefix("OMBUDS_").lower(): v for k, v in env.items()}))
            bases.append(base)
        workers = [start_worker(url, env, tmp_path / f"worker-{name}.log") for name in ("c", "d")]
        for w in workers:
            stack.callback(stop, w)
        clients = [stack.enter_context(httpx.Client(base_url=base, timeout=60, trust_env=False)) for base in bases]
        a, b = (Marketplace(client, MARKETPLACE_KEY) for client in clients)

        receiver.secret = a.platform.post("/webhooks", {"url": receiver.url, "event_types": ["*"]},
                                          expect=201)["secret"]
        sellers = [a.seller() for _ in range(3)]
        buyers = [b.buyer() for _ in range(6)]

        def record_and_ship(i: int) -> dict:
            market = (a, b)[i % 2]
            buyer, seller = on(buyers[i % len(buyers)], market), on(sellers[i % len(sellers)], market)
            return market.order(buyer, seller, lines=((1850, 1), (990, 2)))

        pool = stack.enter_context(ThreadPoolExecutor(max_workers=6))
        orders = list(pool.map(record_and_ship, range(ORDERS)))

        def open_dispute(order: dict) -> dict:
            market = (a, b)[order["id"] % 2]
            buyer = on(next(p for p in buyers if p.id == order["buyer_id"]), market)
            return market.open_dispute(buyer, order)

        disputes = list(pool.map(open_dispute, orders[:DISPUTED]))
        undisputed = orders[DISPUTED:]

        # People act while the clock is advanced through both servers and the workers sweep.
        def sellers_answer() -> Counter:
            seen: Counter = Counter()
            for d in disputes[:ACCEPTED]:
                seller = on(next(p for p in sellers if p.id == d["seller_id"]), random.choice((a, b)))
                seen[seller.accept(d["id"], expect=None).status_code] += 1
            return seen

        def buyers_confirm() -> Counter:
            seen: Counter = Counter()
            for o in undisputed[:CONFIRMED]:
                buyer = on(next(p for p in buyers if p.id == o["buyer_id"]), random.choice((a, b)))
                seen[buyer.confirm_receipt(o["id"], expect=None).status_code] += 1
            return seen

        answers, confirmations = pool.submit(sellers_answer), pool.submit(buyers_confirm)
        for step, market in zip(("1d", "1d", "1d", "1d", "1d", "1d"), (a, b, a, b, a, b), strict=True):
            market.advance(step)
        assert set(answers.result()) <= {200, 409} and set(confirmations.result()) <= {200, 409}
        a.advance("61d")  # protection ends for every order still shipped: completed, paid out
        b.advance("16d")  # the dispute windows close; refunds have settled

        def settled() -> bool:
            """Nothing due at the clock's time is left (a row a worker holds is still due until it
            commits), and every event is fanned out and sent."""
            return one(url, """
                WITH c AS (SELECT "now" FROM clock)
                SELECT (SELECT count(*) FROM orders, c WHERE deadline_at <= c.now)
                     + (SELECT count(*) FROM disputes, c WHERE due_at <= c.now)
                     + (SELECT count(*) FROM refunds, c WHERE next_attempt_at <= c.now OR settles_at <= c.now)
                     + (SELECT count(*) FROM outbox WHERE dispatched_at IS NULL)
                     + (SELECT count(*) FROM mail_messages WHERE status <> 'sent')
                     + (SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded')""") == 0
        wait_until(settled, seconds=120, what="every deadline applied, every event fanned out and sent")
        events = {f"evt_{i}": (t, agg, agg_id) for i, t, agg, agg_id in
                  rows(url, "SELECT id, type, aggregate, aggregate_id FROM outbox")}
        wait_until(lambda: set(events) <= receiver.received(), seconds=60, what="every webhook to arrive")
        mails = one(url, "SELECT count(*) FROM mail_messages")
        wait_until(lambda: len(inbox.messages) >= mails, seconds=60, what="every e-mail to arrive")
        for w in workers:
            assert w.poll() is None, "a worker died"

    # Each timer applied once: one completion and one close per order, one decision per dispute.
    assert rows(url, "SELECT state, count(*) FROM orders GROUP BY state") == [("closed", ORDERS)]
    happened = Counter(events.values())
    for o in orders:
        for kind in ("order.shipped", "order.completed", "order.closed"):
            assert happened[(kind, "order", o["id"])] == 1, (kind, o["id"])
    for d in disputes:
        decided = (happened[("dispute.accept", "dispute", d["id"])]
                   + happened[("dispute.seller_silence", "dispute", d["id"])])
        assert decided == 1 and happened[("dispute.closed", "dispute", d["id"])] == 1, d["id"]
    assert all(happened[("dispute.seller_silence", "dispute", d["id"])] == 1 for d in disputes[ACCEPTED:])
    timers = rows(url, "SELECT dispute_id, action, count(*) FROM timeline WHERE actor = 'system' "
                       "GROUP BY dispute_id, action HAVING count(*) > 1")
    assert timers == [], "a timer fired twice"
    # Money once: a refund per disputed line, issued and settled once; a payout per other line.
    assert one(url, "SELECT count(*) FROM refunds") == DISPUTED
    assert rows(url, "SELECT count(*), count(DISTINCT line_id) FROM payouts") == [(2 * ORDERS - DISPUTED,) * 2]
    assert rows(url, "SELECT kind, count(*) FROM journal_entries WHERE kind LIKE 'refund%' GROUP BY kind "
                     "ORDER BY kind") == [("refund_issued", DISPUTED), ("refund_settled", DISPUTED)]
    # Each outbox row dispatched once: one webhook per event, one e-mail per person told.
    assert receiver.bad_signatures == 0
    assert set(receiver.received()) == set(events)
    assert max(receiver.tries.values()) == 1, "an event was posted twice"
    sent = Counter(m["Message-ID"] for m in inbox.messages)
    assert len(sent) == mails and max(sent.values()) == 1, "an e-mail was sent twice"
