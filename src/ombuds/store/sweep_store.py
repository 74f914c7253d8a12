"""The sweeper's reads and writes in sets: a batch of due rows is loaded with a few queries and
its results written with a few set-wide statements, whatever the batch's size.

Every function works in the caller's connection and transaction. Rows a sweep set aside
(:data:`ombuds.store.tables_sweeps.sweep_set_aside`) are left out of every claim.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, bindparam, delete, exists, insert, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.domain import ledger
from ombuds.domain.disputes import Dispute
from ombuds.domain.events import Event
from ombuds.domain.orders import Order
from ombuds.store import tables as t
from ombuds.store.mapping import ORDER_FIELDS, order_to_row, row_to_dispute, row_to_order
from ombuds.store.tables_stripe import chargebacks as cb
from ombuds.store.tables_sweeps import sweep_set_aside as sa
from ombuds.store.tables_trust import complaints as complaint_rows

# Which timers are due ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DueTimers:
    """Whether any row of each kind of timer is due."""

    disputes: bool
    orders: bool
    refunds_to_submit: bool
    refunds_to_settle: bool
    complaints: bool


_DUE = select(
    exists().where(t.disputes.c.due_at <= bindparam("until")).label("disputes"),
    exists().where(t.orders.c.deadline_at <= bindparam("until")).label("orders"),
    exists().where(t.refunds.c.next_attempt_at <= bindparam("until")).label("refunds_to_submit"),
    exists().where(t.refunds.c.settles_at <= bindparam("until")).label("refunds_to_settle"),
    exists().where(complaint_rows.c.due_at <= bindparam("until")).label("complaints"))


async def due_timers(engine: AsyncEngine, until: datetime) -> DueTimers:
    """Which kinds have a row due by ``until``, in one read outside any write transaction."""
    async with engine.connect() as conn:
        row = (await conn.execute(_DUE, {"until": until})).one()
    return DueTimers(*(bool(is_due) for is_due in row))


async def replan(conn: AsyncConnection) -> None:
    """Forget this connection's cached query plans (PostgreSQL), so that the batch's statements
    are planned for the tables as they are now.

    A connection keeps the plan a statement got when it was first run (and the plans of the
    foreign-key checks its writes fire) until the table's statistics change, which autovacuum
    does at most once a minute. A sweep that grows a table from a few rows to thousands within
    that minute (the refunds, journal entries and running balances of 20,000 deadlines at once)
    otherwise kept checking each new row's foreign keys with a plan made for a table of a few
    rows: a scan of a table that grows with every batch. Planning a batch's statements again
    costs far less than a batch."""
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql("DISCARD PLANS")


def is_connection_failure(exc: BaseException) -> bool:
    """The database unreachable or the connection lost: a failure that is not a row's own."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


# Rows set aside -----------------------------------------------------------------------------


def not_set_aside(kind: str, id_column: ColumnElement[int]) -> ColumnElement[bool]:
    """A claim's condition: the row was not set aside by this kind of sweep."""
    return ~exists().where(sa.c.kind == kind, sa.c.row_id == id_column)


async def set_aside(conn: AsyncConnection, kind: str, errors: dict[int, str], now: datetime) -> None:
    """Record failing rows with their error; later claims skip them until released."""
    if errors:
        await conn.execute(insert(sa), [{"kind": kind, "row_id": row_id, "error": error[:2000],
                                         "set_aside_at": now} for row_id, error in sorted(errors.items())])


async def list_set_aside(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = (await conn.execute(select(sa).order_by(sa.c.set_aside_at, sa.c.kind, sa.c.row_id))).all()
    return [{"kind": r.kind, "row_id": r.row_id, "error": r.error, "set_aside_at": r.set_aside_at.isoformat()}
            for r in rows]


async def release(conn: AsyncConnection, kind: str, row_id: int) -> bool:
    """The operator fixed the cause: the row is claimed again by the next sweep."""
    return (await conn.execute(delete(sa).where(sa.c.kind == kind, sa.c.row_id == row_id))).rowcount == 1


# Orders ---------------------------------------------------------------------------------------


async def claim_due_orders(conn: AsyncConnection, until: datetime, limit: int, kind: str, *,
                           only: int | None, lock: bool) -> list[int]:
    """The ids of due orders, the earliest deadline first, leaving out those set aside by
    ``kind``; locked for this transaction (``FOR UPDATE SKIP LOCKED``) when ``lock``."""
    o = t.orders
    q = select(o.c.id).where(o.c.deadline_at <= until, not_set_aside(kind, o.c.id))
    if only is not None:
        q = q.where(o.c.id == only)
    q = q.order_by(o.c.deadline_at, o.c.id).limit(limit)
    if lock:
        q = q.with_for_update(skip_locked=True)
    return list((await conn.execute(q)).scalars())



async def load_orders(conn: AsyncConnection, ids: Iterable[int], *, lock: bool) -> list[Order]:
    """Orders with their lines in one query, in id order (so lockers never deadlock)."""
    ids = sorted(set(ids))
    if not ids:
        return []
    o, lines = t.orders, t.order_lines
    if lock and conn.dialect.name == "postgresql":  # the order rows only, in id order
        await conn.execute(select(o.c.id).where(o.c.id.in_(ids)).order_by(o.c.id).with_for_update())
    rows = (await conn.execute(
        select(o, lines.c.id.label("line_id"), lines.c.position, lines.c.title, lines.c.unit_price,
               lines.c.quantity)
        .join(lines, lines.c.order_id == o.c.id).where(o.c.id.in_(ids)).order_by(o.c.id, lines.c.position))).all()
    by_order: dict[int, list[SimpleNamespace]] = defaultdict(list)
    first: dict[int, Row[Any]] = {}
    for r in rows:
        first.setdefault(r.id, r)
        by_order[r.id].append(SimpleNamespace(id=r.line_id, position=r.position, title=r.title,
                                              unit_price=r.unit_price, quantity=r.quantity))
    return [row_to_order(first[i], by_order[i]) for i in ids if i in first]


# Every column an order's row is saved with (what :func:`ombuds.store.mapping.order_to_row`
# fills), the version moved on: one statement, built once, run for all of a batch's orders.
_ORDER_COLUMNS = (*ORDER_FIELDS, "state", "deadline_at")
_SAVE_ORDER = (update(t.orders).where(t.orders.c.id == bindparam("b_id"))
               .values(version=bindparam("b_version"), **{c: bindparam(c) for c in _ORDER_COLUMNS}))


async def save_locked_orders(conn: AsyncConnection, orders: Sequence[Order]) -> None:
    """Save orders whose rows this transaction holds (the sweeper's claim): one statement run
    for all of them (``executemany``). The claim holds their rows (PostgreSQL) or the write lock
    (SQLite), so nobody changed them since they were read; their version moves on, so a request
    that read one before still gets "moved on"."""
    if not orders:
        return
    await conn.execute(_SAVE_ORDER, [{"b_id": o.id, "b_version": o.version + 1, **order_to_row(o)} for o in orders])
    for o in orders:
        o.version += 1


async def add_events(conn: AsyncConnection, events: Sequence[tuple[Event, int, datetime]]) -> None:
    """Outbox rows, one multi-row INSERT: (event, aggregate id, when written)."""
    if events:
        await conn.execute(insert(t.outbox), [
            {"type": e.type, "aggregate": e.aggregate, "aggregate_id": agg,
             "payload": {**e.data, f"{e.aggregate}_id": agg}, "created_at": e.at or now}
            for e, agg, now in events])


# What payouts and refunds read, for many orders at once ---------------------------------------


async def disputes_of_orders(conn: AsyncConnection, order_ids: Iterable[int]) -> dict[int, list[Dispute]]:
    ids = sorted(set(order_ids))
    found: dict[int, list[Dispute]] = {i: [] for i in ids}
    if ids:
        for r in (await conn.execute(select(t.disputes).where(t.disputes.c.order_id.in_(ids)))).all():
            found[r.order_id].append(row_to_dispute(r))
    return found


async def paid_out_lines(conn: AsyncConnection, order_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(order_ids))
    if not ids:
        return set()
    return set((await conn.execute(select(t.payouts.c.line_id).where(t.payouts.c.order_id.in_(ids)))).scalars())


async def held_lines(conn: AsyncConnection, orders: Iterable[Order]) -> set[int]:
    """R39: lines whose payout an open chargeback holds; only orders paid through a provider
    can have one, so others cost no query."""
    ids = sorted({o.id for o in orders if o.payment_ref is not None and o.id is not None})
    if not ids:
        return set()
    rows = (await conn.execute(select(cb.c.line_ids).where(cb.c.order_id.in_(ids),
                                                            cb.c.closed_at.is_(None)))).scalars()
    return {int(line_id) for line_ids in rows for line_id in line_ids}


async def payouts_of_lines(conn: AsyncConnection, line_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Line → (amount taken from escrow, commission taken) by its payout; lines without one absent."""
    ids = sorted(set(line_ids))
    if not ids:
        return {}
    je, p = t.journal_entries, t.postings
    rows = (await conn.execute(select(je.c.line_id, p.c.account, p.c.amount)
                               .join(je, je.c.id == p.c.entry_id)
                               .where(je.c.kind == "payout", je.c.line_id.in_(ids)))).all()
    found: dict[int, list[int]] = {}
    for line_id, account, amount in rows:
        paid = found.setdefault(line_id, [0, 0])
        if account == ledger.escrow(line_id):
            paid[0] -= amount
        elif account == ledger.COMMISSION:
            paid[1] += amount
    return {k: (v[0], v[1]) for k, v in found.items()}


async def buyers(conn: AsyncConnection, buyer_ids: Iterable[int]) -> dict[int, tuple[str, str | None]]:
    """Buyer → (country, time zone): what a refund's business days are counted in (R20, R33)."""
    ids = sorted(set(buyer_ids))
    if not ids:
        return {}
    rows = await conn.execute(select(t.users.c.id, t.users.c.country, t.users.c.time_zone)
                              .where(t.users.c.id.in_(ids)))
    return {r.id: (r.country, r.time_zone) for r in rows}


# Refunds --------------------------------------------------------------------------------------

_REFUNDS = {"postgresql": insert(t.refunds).returning(t.refunds.c.id, sort_by_parameter_order=True),
            "sqlite": insert(t.refunds).returning(t.refunds.c.id)}


async def add_refunds(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Refund rows in one multi-row INSERT; their ids in the order given (as the ledger's
    entries: PostgreSQL is asked for the order, SQLite numbers one INSERT's rows in order)."""
    if not rows:
        return []
    return sorted((await conn.execute(_REFUNDS[conn.dialect.name], list(rows))).scalars())


async def update_refunds(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Many refunds' new values, one statement run for all (``executemany``); each dict has
    ``b_id`` and the same columns."""
    if rows:
        columns = [k for k in rows[0] if k != "b_id"]
        await conn.execute(update(t.refunds).where(t.refunds.c.id == bindparam("b_id"))
                           .values(**{c: bindparam(c) for c in columns}), list(rows))


def refunds_due(column: ColumnElement[datetime], now: datetime, kind: str, limit: int, *,
                only: int | None) -> Select[Any]:
    """The claim of refunds due by ``column`` (oldest first), leaving set-aside ones out."""
    q = select(t.refunds).where(column <= now, not_set_aside(kind, t.refunds.c.id))
    if only is not None:
        q = q.where(t.refunds.c.id == only)
    return q.order_by(column, t.refunds.c.id).limit(limit)

