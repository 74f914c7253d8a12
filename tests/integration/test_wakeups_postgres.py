"""An idle worker on PostgreSQL is woken by LISTEN/NOTIFY instead of polling (DESIGN.md §7).

Each test runs the real loop (:func:`ombuds.worker.run_forever`) in a thread against a real
PostgreSQL, counts every statement it sends (its pool and its listening connection), and
proves what woke it: the safety interval is an hour unless the test is about it, so a row
handled in seconds was handled because a trigger's NOTIFY woke the worker. Nothing here is
timed; waits are bounds on how long to wait for something that must happen.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from ombuds.bootstrap import build_ombuds, create_app
from ombuds.services.dispatch import DispatchConfig
from ombuds.store.notify import Wakeups, listener_dsn
from ombuds.worker import Loops, run_forever
from tests.conftest import MARKETPLACE_KEY, settings_for
from tests.factories import Marketplace
from tests.receivers import wait_until

pytestmark = pytest.mark.postgres
HOUR = 3600.0
NAME = "ombuds-test-worker"


class RunningWorker:
    """The worker loop in a thread of its own, and what it has sent to the database."""

    def __init__(self, url: str, loops: Loops):
        self.url, self.loops = url, loops
        self.pool_statements = 0
        self.wakeups: Wakeups | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        app = build_ombuds(settings_for(self.url))

        @event.listens_for(app.engine.sync_engine, "before_cursor_execute")
        def count(*_args) -> None:
            self.pool_statements += 1

        self.wakeups = Wakeups(listener_dsn(app.engine.url), name=NAME)
        self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        self._ready.set()
        try:
            await run_forever(app, self.loops, wakeups=self.wakeups)
        except asyncio.CancelledError:
            pass
        finally:
            await app.engine.dispose()

    @property
    def statements(self) -> int:
        return self.pool_statements + (self.wakeups.statements if self.wakeups else 0)

    def asleep(self) -> bool:
        return bool(self.wakeups and self.wakeups.asleep)

    def wait_until_asleep(self) -> None:
        wait_until(self.asleep, seconds=60, what="the worker to run out of work and sleep")

    def __enter__(self) -> RunningWorker:
        self._thread.start()
        self._ready.wait(30)
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(30)


def loops(**overrides) -> Loops:
    return Loops(**{"sweep": True, "dispatch": DispatchConfig(), "poll_interval": 0.05,
                    "safety_interval": HOUR, "name": NAME, **overrides})


@contextmanager
def a_market(url: str) -> Iterator[Marketplace]:
    with TestClient(create_app(settings_for(url))) as client:  # no in-process loop (settings_for)
        yield Marketplace(client, MARKETPLACE_KEY)


def sql(url: str, statement: str, *params) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


def an_order(url: str) -> int:
    with a_market(url) as market:
        return market.order(market.buyer(), market.seller(), ship=False)["id"]


def an_outbox_row(url: str, order_id: int, *, notify: bool = True) -> int:
    """A committed outbox row, as a change's transaction writes it; ``notify=False`` writes it
    with triggers off (``session_replication_role = replica``), as if its wake-up were lost."""
    with psycopg.connect(url) as conn:
        if not notify:
            conn.execute("SET session_replication_role = replica")
        row = conn.execute("INSERT INTO outbox (type, aggregate, aggregate_id, payload, created_at) "
                           "VALUES ('order.delivered', 'order', %s, '{}', now()) RETURNING id", (order_id,)).fetchone()
    return row[0]


def dispatched(url: str, outbox_id: int) -> bool:
    return sql(url, "SELECT dispatched_at IS NOT NULL FROM outbox WHERE id = %s", outbox_id)[0][0]


def stays_quiet(worker: RunningWorker, seconds: float = 2.0) -> int:
    """How many statements the sleeping worker sent over ``seconds`` (a polling one: dozens)."""
    before = worker.statements
    time.sleep(seconds)
    return worker.statements - before


def test_an_idle_worker_sends_nothing_and_wakes_for_a_new_outbox_row(postgres_url):
    order = an_order(postgres_url)  # its events are work to start with
    with RunningWorker(postgres_url, loops()) as worker:
        worker.wait_until_asleep()
        assert stays_quiet(worker) == 0  # with poll_interval 0.05 s, polling would show ~40 passes
        row = an_outbox_row(postgres_url, order)
        wait_until(lambda: dispatched(postgres_url, row), seconds=30, what="the new outbox row to be fanned out")
        assert worker.wakeups.woken_by["outbox"] >= 1
        worker.wait_until_asleep()
        assert stays_quiet(worker) == 0


def test_a_refund_issued_by_a_person_wakes_the_worker_that_sends_it(postgres_url):
    with a_market(postgres_url) as market:
        buyer, seller = market.buyer(), market.seller()
        dispute = market.open_dispute(buyer, market.order(buyer, seller))
        with RunningWorker(postgres_url, loops()) as worker:
            worker.wait_until_asleep()
            seller.accept(dispute["id"])  # R12: the refund is due to the provider at once
            wait_until(lambda: sql(postgres_url, "SELECT count(*) FROM refunds WHERE next_attempt_at IS NULL")
                       == [(1,)], seconds=30, what="the refund to be sent to the payment provider")
            assert worker.wakeups.woken_by["due"] >= 1


def silences(url: str, dispute_id: int) -> int:
    return sql(url, "SELECT count(*) FROM timeline WHERE dispute_id = %s AND action = 'seller_silence'",
               dispute_id)[0][0]


def test_the_clock_moving_past_a_deadline_wakes_the_worker_that_applies_it(postgres_url):
    with a_market(postgres_url) as market:
        buyer, seller = market.buyer(), market.seller()
        dispute = market.open_dispute(buyer, market.order(buyer, seller))
        with RunningWorker(postgres_url, loops()) as worker:
            worker.wait_until_asleep()
            assert stays_quiet(worker) == 0
            # Another process moves the manual clock past the seller's deadline (R12), not sweeping.
            sql(postgres_url, """UPDATE clock SET "now" = "now" + interval '6 days'""")
            wait_until(lambda: silences(postgres_url, dispute["id"]) == 1, seconds=30,
                       what="the seller's silence to be applied")
            worker.wait_until_asleep()
            assert worker.wakeups.woken_by["clock"] >= 1
            assert sql(postgres_url, "SELECT state FROM disputes WHERE id = %s", dispute["id"]) == [("closed",)]
            assert silences(postgres_url, dispute["id"]) == 1


def test_the_worker_listens_again_after_its_connection_is_dropped(postgres_url):
    order = an_order(postgres_url)
    with RunningWorker(postgres_url, loops()) as worker:
        worker.wait_until_asleep()
        killed = sql(postgres_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE application_name = %s AND datname = current_database()", NAME)
        assert killed == [(True,)]
        wait_until(lambda: worker.wakeups.connections == 2, seconds=60, what="the listener to reconnect")
        worker.wait_until_asleep()
        row = an_outbox_row(postgres_url, order)
        wait_until(lambda: dispatched(postgres_url, row), seconds=30, what="the outbox row to be fanned out")
        assert worker.wakeups.woken_by["outbox"] >= 1


def test_a_lost_wakeup_is_caught_by_the_slow_safety_poll(postgres_url):
    order = an_order(postgres_url)
    with RunningWorker(postgres_url, loops(safety_interval=1.0, poll_interval=HOUR)) as worker:
        worker.wait_until_asleep()
        row = an_outbox_row(postgres_url, order, notify=False)
        wait_until(lambda: dispatched(postgres_url, row), seconds=30, what="the safety poll to find the row")
        assert worker.wakeups.woken_by["outbox"] == 0


def test_a_busy_worker_is_not_notified(postgres_url):
    """Writers notify only while a worker waits: NOTIFY serialises commits, so under load nobody
    pays for it. With no worker waiting, the flag is down and a write sends no NOTIFY."""
    order = an_order(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as listener:
        listener.execute("LISTEN ombuds_wake")
        an_outbox_row(postgres_url, order)
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
        sql(postgres_url, "UPDATE worker_wakeups SET waiting_until = now() + interval '1 minute'")
        an_outbox_row(postgres_url, order)
        woken = list(listener.notifies(timeout=10, stop_after=1))
        assert [(n.channel, n.payload) for n in woken] == [("ombuds_wake", "outbox")]


def test_with_the_wall_clock_an_idle_worker_sleeps_until_its_next_deadline_at_most(postgres_url):
    """No NOTIFY is sent for a deadline days away; the worker wakes for it by itself."""
    from ombuds.worker import _sleep_for

    order = an_order(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # set quietly: no wake-up for it
        conn.execute("UPDATE orders SET deadline_at = now() + interval '10 minutes' WHERE id = %s", (order,))
        conn.execute("UPDATE orders SET deadline_at = NULL WHERE id <> %s", (order,))
        conn.execute("UPDATE outbox SET dispatched_at = now()")

    async def sleeps(safety: float) -> float:
        app = build_ombuds(settings_for(postgres_url).model_copy(update={"clock": "wall"}))
        try:
            return await _sleep_for(app, loops(safety_interval=safety))
        finally:
            await app.engine.dispose()

    assert 540 < asyncio.run(sleeps(HOUR)) <= 600  # until protection ends, not an hour
    assert asyncio.run(sleeps(30)) == 30  # never longer than the safety interval
