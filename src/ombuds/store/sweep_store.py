"""The sweeper's reads and writes in sets: a batch of due rows is loaded with a few queries and
its results written with a few set-wide statements, whatever the batch's size.

Every function works in the caller's connection and transaction. Rows a sweep set aside
(:data:`ombuds.store.tables_sweeps.sweep_set_aside`) are left out of every claim.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.domain import ledger
from ombuds.domain.disputes import Dispute
from ombuds.domain.events import Event
from ombuds.domain.orders import Order
from ombuds.store import tables as t
from ombuds.store.mapping import order_to_row, row_to_dispute, row_to_order
from ombuds.store.tables_stripe import chargebacks as cb
from ombuds.store.tables_sweeps import sweep_set_aside as sa

# Rows set aside -----------------------------------------------------------------------------


def not_set_aside(kind: str, id_column):
    """A claim's condition: the row was not set aside by this kind of sweep."""
    return ~exists().where(sa.c.kind == kind, sa.c.row_id == id_column)


async def set_aside(conn: AsyncConnection, kind: str, errors: dict[int, str], now: datetime) -> None:
    """Record failing rows with their error; later claims skip them until released."""
    if errors:
        await conn.execute(insert(sa), [{"kind": kind, "row_id": row_id, "error": error[:2000],
                                         "set_aside_at": now} for row_id, error in sorted(errors.items())])


async def list_set_aside(conn: AsyncConnection) -> list[dict]:
    rows = (await conn.execute(select(sa).order_by(sa.c.set_aside_at, sa.c.kind, sa.c.row_id))).all()
    return [{"kind": r.kind, "row_id": r.row_id, "error": r.error, "set_aside_at": r.set_aside_at.isoformat()}
            for r in rows]


async def release(conn: AsyncConnection, kind: str, row_id: int) -> bool:
    """The operator fixed the cause: the row is claimed again by the next sweep."""
    return (await conn.execute(delete(sa).where(sa.c.kind == kind, sa.c.row_id == row_id))).rowcount == 1


# Orders ---------------------------------------------------------------------------------------


async def load_orders(conn: AsyncConnection, ids: Iterable[int], *, lock: bool) -> list[Order]:
    """Orders with their lines in one query, in id order (so lockers never deadlock)."""
    ids = sorted(set(ids))
    if not ids:
        return []
    o, l = t.orders, t.order_lines
    if lock and conn.dialect.name == "postgresql":  # the order rows only, in id order
        await conn.execute(select(o.c.id).where(o.c.id.in_(ids)).order_by(o.c.id).with_for_update())
    rows = (await conn.execute(
        select(o, l.c.id.label("line_id"), l.c.position, l.c.title, l.c.unit_price, l.c.quantity)
        .join(l, l.c.order_id == o.c.id).where(o.c.id.in_(ids)).order_by(o.c.id, l.c.position))).all()
    by_order: dict[int, list] = defaultdict(list)
    first = {}
    for r in rows:
        first.setdefault(r.id, r)
        by_order[r.id].append(SimpleNamespace(id=r.line_id, position=r.position, title=r.title,
                                              unit_price=r.unit_price, quantity=r.quantity))
    return [row_to_order(first[i], by_order[i]) for i in ids if i in first]


_SAVE_ORDER = None


def _save_order_statement(columns: Sequence[str]):
    return (update(t.orders).where(t.orders.c.id == bindparam("b_id"))
            .values(version=bindparam("b_version"), **{c: bindparam(c) for c in columns}))


async def save_locked_orders(conn: AsyncConnection, orders: Sequence[Order]) -> None:
    """Save orders whose rows this transaction holds (the sweeper's claim): one statement run
    for all of them (``executemany``). The claim holds their rows (PostgreSQL) or the write lock
    (SQLite), so nobody changed them since they were read; their version moves on, so a request
    that read one before still gets "moved on"."""
    global _SAVE_ORDER
    if not orders:
        return
    rows = [{"b_id": o.id, "b_version": o.version + 1, **order_to_row(o)} for o in orders]
    if _SAVE_ORDER is None:
        _SAVE_ORDER = _save_order_statement([k for k in rows[0] if not k.startswith("b_")])
    await conn.execute(_SAVE_ORDER, rows)
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
    ids = sorted({o.id for o in orders if o.payment_ref is not None})
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


async def add_refunds(conn: AsyncConnection, rows: Sequence[dict]) -> list[int]:
    """Refund rows in one multi-row INSERT; their ids in the order given (as the ledger's
    entries: PostgreSQL is asked for the order, SQLite numbers one INSERT's rows in order)."""
    if not rows:
        return []
    return sorted((await conn.execute(_REFUNDS[conn.dialect.name], list(rows))).scalars())


async def update_refunds(conn: AsyncConnection, rows: Sequence[dict]) -> None:
    """Many refunds' new values, one statement run for all (``executemany``); each dict has
    ``b_id`` and the same columns."""
    if rows:
        columns = [k for k in rows[0] if k != "b_id"]
        await conn.execute(update(t.refunds).where(t.refunds.c.id == bindparam("b_id"))
                           .values(**{c: bindparam(c) for c in columns}), list(rows))


def refunds_due(column, now: datetime, kind: str, limit: int, *, only: int | None):
    """The claim of refunds due by ``column`` (oldest first), leaving set-aside ones out."""
    q = select(t.refunds).where(column <= now, not_set_aside(kind, t.refunds.c.id))
    if only is not None:
        q = q.where(t.refunds.c.id == only)
    return q.order_by(column, t.refunds.c.id).limit(limit)

