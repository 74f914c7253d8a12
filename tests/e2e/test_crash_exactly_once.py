"""Exactly once under SIGKILL (R35, R36, DESIGN §8), on PostgreSQL.

A keyed workload (users, orders, shipments, messages, disputes, acceptances) runs against a
real ``ombuds serve`` while two real ``ombuds worker`` processes sweep deadlines and send
e-mail and webhooks. The server is SIGKILLed in the middle of one request of each kind of
keyed write (the checkout, the shipment, the message, the dispute, the acceptance — at a
random checkout and a random moment of the request); a killer thread SIGKILLs each worker at
random moments, several times; each is started again. The client retries every request with
its key until it gets an answer that is not a 5xx, as a marketplace's backend would.

Afterwards: the ledger check is clean; every keyed request was applied once (one order per
checkout, one message per key, one dispute per line, one refund per dispute); every
deadline fired once; every e-mail and webhook was delivered at least once, and e-mails came
twice at most for the messages in flight when a worker died.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, update

from ombuds.bootstrap import build_ombuds
from ombuds.services.ledger_check import check_ledger
from ombuds.store.db import sync_url
from ombuds.store.tables import clock, disputes, orders, outbox, refunds, timeline
from ombuds.store.tables_evidence import order_messages
from ombuds.store.tables_notify import mail_messages, webhook_deliveries
from tests.conftest import MARKETPLACE_KEY, T0, settings_for
from tests.e2e.conftest import OMBUDS_CLI, free_port, show_log_if_failed
from tests.receivers import SmtpInbox, WebhookReceiver, wait_until

pytestmark = pytest.mark.postgres

CHECKOUTS = 6
KILLED_WRITES = ("order", "ship", "message", "dispute", "accept")  # the server dies during one of each
WORKER_KILLS = 3  # each worker, at random moments
SEED = int(os.environ.get("OMBUDS_CRASH_SEED", "0")) or random.randrange(1, 10**6)


class Restartable:
    """A process of ours that the test may kill with SIGKILL and start again."""

    def __init__(self, name: str, args: list[str], env: dict, tmp_path: Path):
        self.name, self.args, self.env, self.cwd = name, args, env, tmp_path
        self.log = tmp_path / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.args, env=self.env, cwd=self.cwd, stdout=out,
                                            stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self.kills += 1

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)


class Client:
    """The marketplace's backend: every write keyed, retried until it is answered (not 5xx).

    For the keys in ``kill_during`` the server is SIGKILLed while it works on the request (a
    few milliseconds after it was sent), then started again."""

    def __init__(self, url: str, server: Restartable, kill_during: set[str], rng: random.Random):
        self.http = httpx.Client(base_url=f"{url}/api/v1", timeout=20, trust_env=False)
        self.retries = 0
        self.server, self.kill_during, self.rng = server, kill_during, rng

    def _killing_the_server_during(self, method: str, path: str, body, headers) -> None:
        def doomed():
            with contextlib.suppress(httpx.TransportError):
                self.http.request(method, path, json=body, headers=headers)
        attempt = threading.Thread(target=doomed)
        attempt.start()
        time.sleep(self.rng.uniform(0.002, 0.06))
        self.server.kill()
        attempt.join(30)
        self.server.start()

    def send(self, method: str, path: str, body: dict | None = None, *, key: str | None = None,
             token: str = MARKETPLACE_KEY, on_behalf_of: int | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        if on_behalf_of:
            headers["On-Behalf-Of"] = str(on_behalf_of)
        if key in self.kill_during:
            self._killing_the_server_during(method, path, body, headers)  # its answer is lost
        give_up = time.monotonic() + 120
        while time.monotonic() < give_up:
            try:
                r = self.http.request(method, path, json=body, headers=headers)
                if r.status_code < 500:
                    return r
            except httpx.TransportError:
                pass
            self.retries += 1
            time.sleep(0.2)
        raise AssertionError(f"{method} {path} was never answered")

    def write(self, path: str, body: dict | None, key: str, expect: int = 200, **kw) -> dict:
        r = self.send("POST", path, body, key=key, **kw)
        assert r.status_code == expect, f"POST {path} ({key}) → {r.status_code}: {r.text}"
        return r.json()


def _db(url: str):
    return create_engine(sync_url(url))


def _ledger_problems(url: str) -> list:
    async def run():
        ombuds = build_ombuds(settings_for(url))
        try:
            return await check_ledger(ombuds)
        finally:
            await ombuds.engine.dispose()
    return asyncio.run(run())


def _scalar(engine, statement):
    with engine.connect() as conn:
        return conn.execute(statement).scalar()


def test_sigkilled_server_and_workers_apply_each_keyed_request_once_and_deliver_everything(
        request, postgres_url, tmp_path):
    env = {**os.environ, "OMBUDS_DATABASE_URL": postgres_url, "OMBUDS_CLOCK": "manual",
           "OMBUDS_CLOCK_START": T0.isoformat(), "OMBUDS_MARKETPLACE_KEY": MARKETPLACE_KEY,
           "OMBUDS_WORKER_IN_PROCESS": "false", "OMBUDS_DISPATCH_LEASE_SECONDS": "4",
           "OMBUDS_SMTP_TIMEOUT_SECONDS": "2", "OMBUDS_WEBHOOK_TIMEOUT_SECONDS": "2",
           "OMBUDS_DELIVERY_RETRY_BASE_SECONDS": "0", "OMBUDS_SMTP_TLS": "none"}
    rng = random.Random(SEED)  # the database is a copy of the migrated template
    with SmtpInbox() as inbox, WebhookReceiver() as hooks:
        env.update(OMBUDS_SMTP_HOST="127.0.0.1", OMBUDS_SMTP_PORT=str(inbox.port))
        port = free_port()
        server = Restartable("server", [str(OMBUDS_CLI), "serve", "--port", str(port)], env, tmp_path)
        workers = [Restartable(f"worker-{n}", [str(OMBUDS_CLI), "worker", "--interval", "0.1"], env, tmp_path)
                   for n in "ab"]
        everyone = [server, *workers]
        for p in everyone:
            show_log_if_failed(request, p.log)
            p.start()
        accepted = range(0, CHECKOUTS, 2)  # the other disputes are decided by the seller's silence
        doomed = {f"{kind}-{rng.choice(accepted if kind == 'accept' else range(CHECKOUTS))}" for kind in KILLED_WRITES}
        client = Client(f"http://127.0.0.1:{port}", server, doomed, rng)
        stop_killing = threading.Event()

        def killer():
            plan = [w for w in workers for _ in range(WORKER_KILLS)]
            rng.shuffle(plan)
            for victim in plan:
                if stop_killing.wait(rng.uniform(0.5, 3.0)):
                    return
                victim.kill()
                time.sleep(rng.uniform(0.0, 0.5))
                victim.start()

        killing = threading.Thread(target=killer, daemon=True)
        try:
            killing.start()
            hooks.secret = client.write("/webhooks", {"url": hooks.url, "event_types": ["*"]}, "hook", 201)["secret"]
            buyer = client.write("/users", {"name": "Anna", "email": "anna@example.test", "role": "buyer",
                                            "country": "RU"}, "user-anna", 201)
            seller = client.write("/users", {"name": "Star", "email": "star@example.test", "role": "seller",
                                             "country": "CN"}, "user-star", 201)
            assert buyer["token"] and seller["token"]  # replayed answers carry the token shown once
            dispute_ids = []
            checkouts = CHECKOUTS
            for i in range(checkouts):
                order = client.write("/orders", {
                    "buyer_id": buyer["id"], "seller_id": seller["id"], "currency": "USD",
                    "payment_method": "visa", "external_ref": f"checkout-{i}",
                    "lines": [{"title": "Hair clips", "unit_price": 1000 + i, "quantity": 2}]}, f"order-{i}", 201)
                client.write(f"/orders/{order['id']}/ship", {"carrier": "China Post",
                                                              "tracking_number": f"LP{i:09d}CN"},
                             f"ship-{i}", token=seller["token"])
                client.write(f"/orders/{order['id']}/messages", {"body": f"Where is parcel {i}?"},
                             f"message-{i}", 201, token=buyer["token"])
                d = client.write("/disputes", {
                    "order_id": order["id"], "line_id": order["lines"][0]["id"], "received": True,
                    "reason": "missing_items", "description": f"Only one of two clips arrived ({i})."},
                    f"dispute-{i}", 201, token=buyer["token"])
                dispute_ids.append(d["id"])
                if i in accepted:
                    client.write(f"/disputes/{d['id']}/accept", {"proposal_id": d["proposal"]["id"]}, f"accept-{i}",
                                 token=seller["token"])
            # Six days later the seller's silence decides the other half (R12), applied by the
            # workers while they are still being killed.
            db = _db(postgres_url)
            with db.begin() as conn:
                conn.execute(update(clock).values(now=T0 + timedelta(days=6)))
            wait_until(lambda: _scalar(db, select(func.count()).select_from(disputes)
                                       .where(disputes.c.state != "closed")) == 0,
                       seconds=120, what="every silent seller's deadline to be applied")
            killing.join(120)
            stop_killing.set()
            for p in everyone:
                if p.process.poll() is not None:
                    p.start()

            def drained() -> bool:
                return (_scalar(db, select(func.count()).select_from(outbox)
                                .where(outbox.c.dispatched_at.is_(None))) == 0
                        and _scalar(db, select(func.count()).select_from(mail_messages)
                                    .where(mail_messages.c.status != "sent")) == 0
                        and _scalar(db, select(func.count()).select_from(webhook_deliveries)
                                    .where(webhook_deliveries.c.status != "succeeded")) == 0)
            wait_until(drained, seconds=180, what="every e-mail and webhook to be delivered")
        finally:
            stop_killing.set()
            for p in everyone:
                p.stop()

        assert _ledger_problems(postgres_url) == [], f"seed {SEED}"  # what `ombuds ledger check` runs
        assert server.kills == len(KILLED_WRITES) and all(w.kills == WORKER_KILLS for w in workers)

        with db.connect() as conn:
            # Each keyed request applied once.
            refs = Counter(conn.execute(select(orders.c.external_ref)).scalars())
            assert refs == Counter({f"checkout-{i}": 1 for i in range(checkouts)}), f"seed {SEED}"
            bodies = Counter(conn.execute(select(order_messages.c.body)).scalars())
            assert bodies == Counter({f"Where is parcel {i}?": 1 for i in range(checkouts)}), f"seed {SEED}"
            assert conn.execute(select(func.count()).select_from(disputes)).scalar() == checkouts
            per_dispute = Counter(conn.execute(select(refunds.c.dispute_id)).scalars())
            assert per_dispute == Counter({d: 1 for d in dispute_ids}), f"seed {SEED}"
            # Each deadline once; each accept once.
            actions = Counter((r.dispute_id, r.action) for r in conn.execute(
                select(timeline.c.dispute_id, timeline.c.action)))
            for i, d in enumerate(dispute_ids):
                assert actions[(d, "open")] == 1
                assert actions[(d, "accept")] == (1 if i in accepted else 0), f"seed {SEED}"
                assert actions[(d, "seller_silence")] == (0 if i in accepted else 1), f"seed {SEED}"
                assert actions[(d, "reminder")] <= 1
            message_ids = set(conn.execute(select(mail_messages.c.message_id)).scalars())
            event_ids = {f"evt_{e}" for e in conn.execute(select(webhook_deliveries.c.event_id)).scalars()}

    # Every e-mail and webhook at least once; an e-mail twice only if it was in flight when
    # its worker died (one per kill at most).
    arrived = Counter(m["Message-ID"] for m in inbox.messages)
    assert message_ids <= set(arrived), f"seed {SEED}"
    twice = [m for m, n in arrived.items() if n > 1]
    assert len(twice) <= sum(w.kills for w in workers), (twice, f"seed {SEED}")
    assert event_ids <= hooks.received(), f"seed {SEED}"
    assert hooks.bad_signatures == 0
