"""The outbox dispatcher's claims: undispatched outbox rows for the fan-out, and due messages of
each delivery channel (e-mails, webhook deliveries) leased for real time while they are sent.

Every function works in the caller's connection and transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.store.tables import outbox
from ombuds.store.tables_notify import mail_messages, webhook_deliveries

Channel = Literal["mail", "webhook"]
_TABLES: dict[Channel, Table] = {"mail": mail_messages, "webhook": webhook_deliveries}

OutboxRow = Row[*tuple[Any, ...]]
MessageRow = Row[*tuple[Any, ...]]
"""A ``mail_messages`` or ``webhook_deliveries`` row."""


# The fan-out ----------------------------------------------------------------------------------

async def claim_undispatched(conn: AsyncConnection, *, limit: int, lock: bool) -> list[OutboxRow]:
    """Up to ``limit`` undispatched outbox rows in id order; ``lock``: lock them, skipping rows
    another dispatcher holds."""
    q = select(outbox).where(outbox.c.dispatched_at.is_(None)).order_by(outbox.c.id).limit(limit)
    if lock:
        q = q.with_for_update(skip_locked=True)
    return list((await conn.execute(q)).all())


async def mark_dispatched(conn: AsyncConnection, ids: Sequence[int], *, at: datetime) -> None:
    await conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(dispatched_at=at))


# Channels: claiming due messages with a lease ----------------------------------------------------

async def claim_due(conn: AsyncConnection, channel: Channel, *, now: datetime, wall: datetime, until: datetime,
                    limit: int, lock: bool) -> list[MessageRow]:
    """Due pending messages that no live claim holds (its lease ends after ``wall``), oldest
    first, leased until ``until``; ``lock``: lock them, skipping those another claim holds."""
    table = _TABLES[channel]
    q = (select(table).where(table.c.status == "pending", table.c.next_attempt_at <= now,
                             or_(table.c.claimed_until.is_(None), table.c.claimed_until < wall))
         .order_by(table.c.next_attempt_at, table.c.id).limit(limit))
    if lock:
        q = q.with_for_update(skip_locked=True)
    rows = list((await conn.execute(q)).all())
    if rows:
        await conn.execute(update(table).where(table.c.id.in_([r.id for r in rows])).values(claimed_until=until))
    return rows


async def renew(conn: AsyncConnection, channel: Channel, ids: Sequence[int], *, held_until: datetime,
                until: datetime) -> int:
    """Extend to ``until`` the lease on those of ``ids`` still pending and held by the claim that
    ends at ``held_until``; returns how many."""
    table = _TABLES[channel]
    done = await conn.execute(update(table).where(
        table.c.id.in_(ids), table.c.claimed_until == held_until, table.c.status == "pending")
        .values(claimed_until=until))
    return done.rowcount


async def release(conn: AsyncConnection, channel: Channel, ids: Sequence[int], *, held_until: datetime) -> None:
    """Give back those of ``ids`` the claim ending at ``held_until`` still holds."""
    table = _TABLES[channel]
    await conn.execute(update(table).where(table.c.id.in_(ids), table.c.claimed_until == held_until)
                       .values(claimed_until=None))
