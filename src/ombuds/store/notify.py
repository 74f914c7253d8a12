"""Wake-ups for idle workers on PostgreSQL: LISTEN/NOTIFY instead of polling every second.

Writers do nothing here. Triggers (migration 0009_worker_wakeups) send ``NOTIFY ombuds_wake`` from every
transaction that writes an outbox row (payload ``outbox``), makes a row due within a minute
of the service's clock (``due``: a dispute's or complaint's deadline or reminder, an order's
timer, a refund to submit or settle, an e-mail or webhook to send) or moves the manual clock
(``clock``). PostgreSQL delivers a notification only when its transaction commits, so a
worker woken by one finds the rows it is about.

A NOTIFY is not free — PostgreSQL serialises the commits of notifying transactions — so the
triggers notify only while a worker says it is waiting: :meth:`Wakeups.waiting` sets
``worker_wakeups.waiting_until`` before a worker sleeps and clears it when it wakes. Under
load every worker is busy and writers notify nobody. The flag expires by itself (PostgreSQL's
time), so a worker that died asleep does not leave writers notifying forever.

Nothing is lost when a wake-up is: a worker also wakes at the earliest time something it
knows of falls due (:func:`outlook`) and at least every ``safety_interval`` seconds, and
after its listening connection comes back (it reconnects by itself) it looks once at once.
The one window a wake-up can miss — a row committed between a worker's last look and its
flag — is closed by the look a worker takes right after raising the flag.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog
from sqlalchemy import exists, false, func, null, select, union_all
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.store.sweep_store import not_set_aside
from ombuds.store.tables import disputes, orders, outbox, refunds
from ombuds.store.tables_notify import mail_messages, webhook_deliveries
from ombuds.store.tables_trust import complaints

CHANNEL = "ombuds_wake"
log = structlog.get_logger("ombuds.wakeups")


def listener_dsn(url: URL) -> str:
    """The engine's database as a plain libpq URL, for a connection of its own."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Wakeups:
    """One listening connection of one worker, kept open (reconnected with backoff) until closed.

    ``wait(timeout)`` returns the reason it woke (``outbox``, ``due``, ``clock``,
    ``connected`` after a reconnection) or ``None`` when the timeout passed. ``statements``
    counts what this connection has sent, for tests that prove an idle worker is quiet.
    """

    def __init__(self, dsn: str, *, name: str = "ombuds-worker", reconnect_max: float = 30.0):
        self._dsn = dsn
        self._name = name
        self._reconnect_max = reconnect_max
        self._conn: asyncpg.Connection | None = None
        self._woken = asyncio.Event()
        self._reasons: list[str] = []
        self._keeper: asyncio.Task | None = None
        self.statements = 0
        self.connections = 0  # how many times it (re)connected
        self.woken_by: Counter[str] = Counter()  # every wake-up received, by reason
        self.asleep = False  # inside wait()

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def start(self) -> None:
        """Connect in the background; a worker polls (``safety_interval``) until it is."""
        if self._keeper is None:
            self._keeper = asyncio.create_task(self._keep_listening(), name="ombuds-wakeups")

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 5)
            self._conn = None

    async def _keep_listening(self) -> None:
        delay = 0.5
        while True:
            try:
                conn = await asyncpg.connect(self._dsn, timeout=10,
                                             server_settings={"application_name": self._name})
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                log.warning("wakeups_connect_failed", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._reconnect_max)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
            try:
                await conn.add_listener(CHANNEL, self._on_notify)
                self.statements += 1
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("wakeups_listen_failed", error=str(exc))
                conn.terminate()
                await asyncio.sleep(delay)
                continue
            delay = 0.5
            self._conn = conn
            self.connections += 1
            if self.connections > 1:
                log.info("wakeups_reconnected")
            self._wake("connected")  # what was written while nobody listened is found by one look
            await lost.wait()
            self._conn = None
            log.warning("wakeups_connection_lost")

    def _on_notify(self, _conn, _pid, _channel, payload: str) -> None:
        self._wake(payload)

    def _wake(self, reason: str) -> None:
        self.woken_by[reason] += 1
        self._reasons.append(reason)
        self._woken.set()

    def clear(self) -> None:
        """Forget wake-ups so far: the worker is about to look for work itself."""
        self._woken.clear()
        self._reasons.clear()

    async def wait(self, timeout: float) -> str | None:
        self.asleep = True
        try:
            await asyncio.wait_for(self._woken.wait(), max(timeout, 0))
        except TimeoutError:
            return None
        finally:
            self.asleep = False
        reason = self._reasons[0] if self._reasons else "woken"
        self.clear()
        return reason

    async def waiting(self, seconds: float | None) -> bool:
        """Ask writers to notify for the next ``seconds`` (None: stop asking). False when not
        connected: the worker then sleeps on its timers alone."""
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            self.statements += 1
            if seconds is None:
                await conn.execute("UPDATE worker_wakeups SET waiting_until = NULL WHERE channel = $1",
                                   CHANNEL, timeout=10)
            else:
                await conn.execute("UPDATE worker_wakeups SET waiting_until = now() + make_interval(secs => $2) "
                                   "WHERE channel = $1", CHANNEL, float(seconds), timeout=10)
            return True
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("wakeups_flag_failed", error=str(exc))
            conn.terminate()  # the keeper reconnects
            return False


@dataclass(frozen=True, slots=True)
class Outlook:
    """What an idle worker needs to know to choose how long it may sleep."""

    outbox_waiting: bool  # an outbox row not yet fanned out
    sweep_due: datetime | None  # the earliest deadline, order timer, refund step or complaint (service clock)
    send_due: datetime | None  # the earliest pending e-mail or webhook delivery (service clock)
    lease_ends: datetime | None  # the earliest lease on a pending delivery to run out (real time)


async def outlook(conn: AsyncConnection, *, sweeps: bool, dispatches: bool) -> Outlook:
    """One statement; every part an index lookup (or a scan of the few pending deliveries)."""
    def earliest(*parts):
        every = union_all(*parts).subquery()
        return select(func.min(every.c.at)).scalar_subquery()

    deliveries = (mail_messages, webhook_deliveries)
    columns = [
        (exists().where(outbox.c.dispatched_at.is_(None)) if dispatches else false()).label("outbox_waiting"),
        # rows the sweeper set aside wait for an operator, not for a worker: left out
        (earliest(select(func.min(disputes.c.due_at).label("at")).where(not_set_aside("dispute", disputes.c.id)),
                  select(func.min(complaints.c.due_at)).where(not_set_aside("complaint", complaints.c.id)),
                  select(func.min(orders.c.deadline_at)).where(not_set_aside("order", orders.c.id)),
                  select(func.min(refunds.c.next_attempt_at)).where(not_set_aside("refund_submit", refunds.c.id)),
                  select(func.min(refunds.c.settles_at)).where(not_set_aside("refund_settle", refunds.c.id)))
         if sweeps else null()).label("sweep_due"),
        (earliest(*[select(func.min(t.c.next_attempt_at).label("at")).where(t.c.status == "pending")
                    for t in deliveries]) if dispatches else null()).label("send_due"),
        (earliest(*[select(func.min(t.c.claimed_until).label("at"))
                    .where(t.c.status == "pending", t.c.claimed_until.is_not(None))
                    for t in deliveries]) if dispatches else null()).label("lease_ends"),
    ]
    row = (await conn.execute(select(*columns))).one()
    return Outlook(bool(row.outbox_waiting), _aware(row.sweep_due), _aware(row.send_due), _aware(row.lease_ends))


def _aware(value) -> datetime | None:
    """PostgreSQL hands back aware datetimes; SQLite naive UTC (or text) through a subquery."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value if value.tzinfo else value.replace(tzinfo=UTC)
