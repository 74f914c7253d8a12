"""Conversations: an order's messages between its buyer and seller (R4) and the arbitrators'
notes on a dispute (R32). Both are append-only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.store import tables as t
from ombuds.store.tables_evidence import dispute_notes, order_messages


async def add_order_message(conn: AsyncConnection, row: dict[str, Any]) -> int:
    """Write an order message; returns its id."""
    return (await conn.execute(insert(order_messages).values(**row).returning(order_messages.c.id))).scalar_one()


async def add_outbox_message(conn: AsyncConnection, message: dict[str, Any]) -> None:
    await conn.execute(insert(t.outbox).values(**message))


async def order_messages_of(conn: AsyncConnection, order_id: int, *, after_id: int | None,
                            limit: int) -> list[dict[str, Any]]:
    """The order's messages, oldest first, after ``after_id`` when given."""
    q = (select(order_messages).where(order_messages.c.order_id == order_id)
         .order_by(order_messages.c.id).limit(limit))
    if after_id:
        q = q.where(order_messages.c.id > after_id)
    return [r._asdict() for r in (await conn.execute(q)).all()]


async def add_note(conn: AsyncConnection, row: dict[str, Any]) -> int:
    """Write a staff note; returns its id."""
    return (await conn.execute(insert(dispute_notes).values(**row).returning(dispute_notes.c.id))).scalar_one()


async def notes_of(conn: AsyncConnection, dispute_id: int) -> list[dict[str, Any]]:
    """The dispute's staff notes, oldest first."""
    rows = (await conn.execute(select(dispute_notes).where(dispute_notes.c.dispute_id == dispute_id)
                               .order_by(dispute_notes.c.id))).all()
    return [r._asdict() for r in rows]
