"""Refunds at the provider and the ledger check: the statements the money use cases run.

Every function works in the caller's connection and transaction, except the ledger check's
read model, which reads the whole ledger through a connection of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.store import sweep_store
from ombuds.store import tables as t
from ombuds.store.read_models import SETTLED_KINDS

RefundRow = Row[*tuple[Any, ...]]
"""A ``refunds`` row; a claim's also has the buyer's ``country``, ``time_zone`` and the order's
``payment_ref``."""


# Submitting refunds to the provider ---------------------------------------------------------

async def claim_due_refunds(conn: AsyncConnection, *, kind: str, now: datetime, wall: datetime, limit: int,
                            only: int | None, locks: bool) -> list[RefundRow]:
    """Refunds due to be sent (oldest first), with their buyer's place and the order's payment;
    unless ``only`` is given, a refund leased by a live sweeper (``claimed_until`` after ``wall``)
    is left to it. ``locks``: lock the refund rows, skipping those another claim holds."""
    r = t.refunds
    q = (sweep_store.refunds_due(r.c.next_attempt_at, now, kind, limit, only=only)
         .with_only_columns(r, t.users.c.country, t.users.c.time_zone, t.orders.c.payment_ref)
         .join_from(r, t.users, t.users.c.id == r.c.buyer_id).join_from(r, t.orders, t.orders.c.id == r.c.order_id))
    if only is None:  # a refund leased by a live sweeper is left to it
        q = q.where(or_(r.c.claimed_until.is_(None), r.c.claimed_until < wall))
    if locks:
        q = q.with_for_update(of=r, skip_locked=True)
    return list((await conn.execute(q)).all())


async def lease_refunds(conn: AsyncConnection, ids: Sequence[int], *, until: datetime | None) -> None:
    """Lease the refunds until ``until`` (real time); ``None`` gives them back."""
    await conn.execute(update(t.refunds).where(t.refunds.c.id.in_(ids)).values(claimed_until=until))


async def update_unanswered(conn: AsyncConnection, rows: Sequence[dict[str, Any]], **same: Any) -> None:
    """The provider's answers, one statement run for all (``executemany``): each dict has the
    refund's ``b_id`` and ``b_key`` (its idempotency key) and the same columns; ``same`` is set on
    every one. A refund whose key moved on or that has its provider reference is left as it is."""
    if not rows:
        return
    r = t.refunds
    columns = [k for k in rows[0] if not k.startswith("b_")]
    await conn.execute(
        update(r).where(r.c.id == bindparam("b_id"), r.c.idempotency_key == bindparam("b_key"),
                        r.c.provider_ref.is_(None), r.c.next_attempt_at.is_not(None))
        .values(claimed_until=None, **same, **{c: bindparam(c) for c in columns}), list(rows))


# Settlement ---------------------------------------------------------------------------------

async def claim_due_settlements(conn: AsyncConnection, *, kind: str, now: datetime, limit: int,
                                only: int | None, locks: bool) -> list[RefundRow]:
    """Refunds whose settlement at the provider fell due (oldest first)."""
    q = sweep_store.refunds_due(t.refunds.c.settles_at, now, kind, limit, only=only)
    if locks:
        q = q.with_for_update(skip_locked=True)
    return list((await conn.execute(q)).all())


async def mark_settled(conn: AsyncConnection, ids: Sequence[int]) -> None:
    """The refunds no longer wait for a settlement."""
    await conn.execute(update(t.refunds).where(t.refunds.c.id.in_(ids)).values(settles_at=None))


async def is_settled(conn: AsyncConnection, refund_id: int) -> bool:
    """Whether the refund has a journal entry that settles it: the ledger says so, not a flag."""
    found = (await conn.execute(select(t.journal_entries.c.id).where(
        t.journal_entries.c.refund_id == refund_id, t.journal_entries.c.kind.in_(SETTLED_KINDS)))).first()
    return found is not None


# One refund ---------------------------------------------------------------------------------

async def get_refund(conn: AsyncConnection, refund_id: int, *, lock: bool) -> RefundRow | None:
    q = select(t.refunds).where(t.refunds.c.id == refund_id)
    if lock:
        q = q.with_for_update()
    return (await conn.execute(q)).first()


async def refund_of_provider(conn: AsyncConnection, provider_ref: str, key: str | None, *,
                             lock: bool) -> RefundRow | None:
    """The refund the provider names by its reference, or by our idempotency key."""
    q = select(t.refunds).where(or_(t.refunds.c.provider_ref == provider_ref,
                                    *([t.refunds.c.idempotency_key == key] if key else [])))
    if lock:
        q = q.with_for_update()
    return (await conn.execute(q)).first()


async def update_refund(conn: AsyncConnection, refund_id: int, **values: Any) -> None:
    await conn.execute(update(t.refunds).where(t.refunds.c.id == refund_id).values(**values))


# The ledger check's read model --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LedgerRows:
    """Everything ``ledger check`` recomputes, read at once: rows by id where looked up by id."""

    entries: dict[int, Row[*tuple[Any, ...]]]  # journal entries, in id order
    postings: list[Row[*tuple[Any, ...]]]  # by entry, then id
    lines: dict[int, Row[*tuple[Any, ...]]]
    refunds: list[Row[*tuple[Any, ...]]]
    payouts: list[Row[*tuple[Any, ...]]]
    orders: dict[int, Row[*tuple[Any, ...]]]
    open_disputes: set[int]  # the lines of disputes not closed
    kept: dict[tuple[str, str], int]  # the running balances: (account, currency) → balance


async def ledger_rows(engine: AsyncEngine) -> LedgerRows:
    async with engine.connect() as conn:
        entries = {r.id: r for r in (await conn.execute(select(t.journal_entries)
                                                        .order_by(t.journal_entries.c.id))).all()}
        postings = list((await conn.execute(select(t.postings).order_by(t.postings.c.entry_id,
                                                                        t.postings.c.id))).all())
        lines = {r.id: r for r in (await conn.execute(select(t.order_lines))).all()}
        refunds = list((await conn.execute(select(t.refunds))).all())
        payouts = list((await conn.execute(select(t.payouts))).all())
        orders = {r.id: r for r in (await conn.execute(select(t.orders))).all()}
        open_disputes = set((await conn.execute(select(t.disputes.c.line_id)
                                                .where(t.disputes.c.state != "closed"))).scalars())
        kept = {(r.account, r.currency): r.balance
                for r in (await conn.execute(select(t.account_balances))).all()}
    return LedgerRows(entries, postings, lines, refunds, payouts, orders, open_disputes, kept)
