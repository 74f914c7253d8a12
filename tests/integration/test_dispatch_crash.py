"""Killing a dispatcher loses and doubles nothing (DESIGN.md §8): real `ombuds worker`
processes, a real webhook receiver, events straight in the outbox as changes write them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, insert, select

from ombuds.bootstrap import create_app
from ombuds.store.db import sync_url
from ombuds.store.tables import outbox
from ombuds.store.tables_notify import mail_messages, webhook_deliveries
from tests.conftest import MARKETPLACE_KEY, T0, settings_for
from tests.factories import Marketplace
from tests.receivers import WebhookReceiver, wait_until

OMBUDS = Path(sys.executable).parent / "ombuds"


def write_events(url: str, order_id: int, n: int) -> set[str]:
    """``n`` committed outbox rows about one order, as a change's transaction writes them."""
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        ids = conn.execute(insert(outbox).returning(outbox.c.id, sort_by_parameter_order=True), [
            {"type": "order.delivered", "aggregate": "order", "aggregate_id": order_id,
             "payload": {"order_id": order_id, "n": i}, "created_at": T0} for i in range(n)]).scalars().all()
    engine.dispose()
    return {f"evt_{i}" for i in ids}


def counts(url: str) -> dict[str, int]:
    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        found = {
            "undispatched": conn.execute(select(func.count()).select_from(outbox)
                                         .where(outbox.c.dispatched_at.is_(None))).scalar(),
            "pending": conn.execute(select(func.count()).select_from(webhook_deliveries)
                                    .where(webhook_deliveries.c.status != "succeeded")).scalar(),
            "mails": conn.execute(select(func.count()).select_from(mail_messages)).scalar(),
        }
    engine.dispose()
    return found


def start_worker(url: str, tmp_path: Path, name: str, **env) -> subprocess.Popen:
    environment = {**os.environ, "OMBUDS_DATABASE_URL": url, "OMBUDS_CLOCK": "manual",
                   "OMBUDS_CLOCK_START": T0.isoformat(), **{f"OMBUDS_{k.upper()}": str(v) for k, v in env.items()}}
    with open(tmp_path / f"worker-{name}.log", "wb") as log:  # the worker holds its own copy
        return subprocess.Popen([str(OMBUDS), "worker", "--interval", "0.05"], env=environment, cwd=tmp_path,
                                stdout=log, stderr=subprocess.STDOUT)


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.kill()
    worker.wait(30)


def a_market(url: str) -> tuple[TestClient, Marketplace]:
    client = TestClient(create_app(settings_for(url)))
    return client, Marketplace(client, MARKETPLACE_KEY)


def test_a_dispatcher_killed_mid_batch_is_restarted_and_every_event_arrives(database_url, tmp_path):
    n = 120
    client, market = a_market(database_url)
    # Request 25 is in the third batch of 10: it hangs until the sender has been killed.
    with client, WebhookReceiver(hold_on=25) as receiver:
        receiver.secret = market.platform.post("/webhooks", {"url": receiver.url, "event_types": ["order.*"]},
                                               expect=201)["secret"]
        order = market.order(market.buyer(), market.seller(), ship=False)
        expected = write_events(database_url, order["id"], n)
        fast = {"dispatch_lease_seconds": 3, "webhook_timeout_seconds": 3, "delivery_retry_base_seconds": 0}

        first = start_worker(database_url, tmp_path, "first", **fast)
        try:
            wait_until(receiver.held.is_set, seconds=60, what="the first worker to reach request 25")
            first.send_signal(signal.SIGKILL)
        finally:
            stop(first)
        assert first.returncode == -signal.SIGKILL
        before_restart = receiver.received()
        assert 25 <= len(before_restart) < n + 1  # it died mid-way
        receiver.release()

        second = start_worker(database_url, tmp_path, "second", **fast)
        try:
            wait_until(lambda: expected <= receiver.received(), seconds=120,
                       what="every event to reach the receiver after the restart")
            wait_until(lambda: counts(database_url)["pending"] == 0, seconds=60,
                       what="every delivery to be recorded as succeeded")
        finally:
            stop(second)

    assert receiver.bad_signatures == 0
    assert {e for e in receiver.received() if e in expected} == expected  # none lost
    assert all(receiver.accepted[e] >= 1 for e in expected)
    # Only the batch in flight when the worker died (10 at most) came twice, same webhook-id.
    assert sum(1 for tries in receiver.tries.values() if tries > 1) <= 10
    left = counts(database_url)
    assert left["undispatched"] == 0
    assert left["mails"] == n + 1  # one e-mail per event to the buyer, and her order.paid


@pytest.mark.postgres
def test_two_dispatchers_share_1000_events_and_send_none_twice(postgres_url, tmp_path):
    n = 1000
    client, market = a_market(postgres_url)
    with client, WebhookReceiver() as receiver:
        receiver.secret = market.platform.post("/webhooks", {"url": receiver.url, "event_types": ["*"]},
                                               expect=201)["secret"]
        order = market.order(market.buyer(), market.seller(), ship=False)
        workers = [start_worker(postgres_url, tmp_path, name) for name in ("a", "b")]
        try:
            expected = write_events(postgres_url, order["id"], n)
            wait_until(lambda: expected <= receiver.received(), seconds=240,
                       what="1,000 events to reach the receiver")
            wait_until(lambda: counts(postgres_url)["pending"] == 0, seconds=60,
                       what="every delivery to be recorded as succeeded")
        finally:
            for w in workers:
                stop(w)

    assert receiver.bad_signatures == 0
    assert expected <= receiver.received()
    assert max(receiver.tries.values()) == 1, "an event was delivered twice"
    left = counts(postgres_url)
    assert left["undispatched"] == 0 and left["mails"] == n + 1
