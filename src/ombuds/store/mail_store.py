"""E-mails (R23, R28): what composing them reads (the parties, the timelines, the readers),
the queued messages and their results, and the local mailbox.

Every function works in the caller's connection and transaction, except the mailbox's read
models, which take the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, desc, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.store.tables import orders, outbox, timeline, users
from ombuds.store.tables_notify import mail_messages as mm
from ombuds.store.tables_trust import complaint_timeline

Person = Row[*tuple[Any, ...]]
"""A reader: ``id``, ``name``, ``email``, ``language``, ``country``, ``time_zone``."""
TimelineEntry = Row[*tuple[Any, ...]]
"""``of`` (the dispute or complaint), ``at``, ``actor``, ``action``, ``details``."""
MailRow = Row[*tuple[Any, ...]]
"""A ``mail_messages`` row; the mailbox's also has ``happened_at``."""

LOCAL = "local"


async def add_messages(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Queued messages, one multi-row INSERT."""
    await conn.execute(insert(mm), list(rows))


async def parties_of_orders(conn: AsyncConnection, order_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Order → role (``buyer``, ``seller``) → user id."""
    return {o.id: {"buyer": o.buyer_id, "seller": o.seller_id} for o in (await conn.execute(
        select(orders.c.id, orders.c.buyer_id, orders.c.seller_id).where(orders.c.id.in_(order_ids)))).all()}


async def timeline_entries(conn: AsyncConnection, *, disputes: set[int],
                           complaints: set[int]) -> dict[tuple[str, int], list[TimelineEntry]]:
    """(``dispute`` or ``complaint``, its id) → its timeline entries in order, one query per kind."""
    wanted = {"dispute": disputes, "complaint": complaints}
    entries: dict[tuple[str, int], list[TimelineEntry]] = {}
    for kind, table, key in (("dispute", timeline, timeline.c.dispute_id),
                             ("complaint", complaint_timeline, complaint_timeline.c.complaint_id)):
        if wanted[kind]:
            for r in (await conn.execute(select(key.label("of"), table.c.at, table.c.actor, table.c.action,
                                                table.c.details).where(key.in_(wanted[kind]))
                                         .order_by(table.c.id))).all():
                entries.setdefault((kind, r.of), []).append(r)
    return entries


async def arbitrators(conn: AsyncConnection) -> list[Person]:
    return list((await conn.execute(select(users.c.id, users.c.name, users.c.email, users.c.language,
                                           users.c.country, users.c.time_zone)
                                    .where(users.c.role == "arbitrator").order_by(users.c.id))).all())


async def people(conn: AsyncConnection, ids: set[int]) -> dict[int, Person]:
    rows = (await conn.execute(select(users.c.id, users.c.name, users.c.email, users.c.language,
                                      users.c.country, users.c.time_zone)
                               .where(users.c.id.in_(ids)))).all()
    return {r.id: r for r in rows}


async def record_result(conn: AsyncConnection, message_id: int, *, pending: str, **values: Any) -> None:
    """A message's result, if it is still ``pending`` (its lease given back)."""
    await conn.execute(update(mm).where(mm.c.id == message_id, mm.c.status == pending)
                       .values(claimed_until=None, **values))


# The local mailbox (no SMTP server configured) ----------------------------------------

# Each e-mail is shown with the moment its change happened (the event's time), not the moment
# the dispatcher queued it: a demo seeded in the past queues everything at once.
_HAPPENED_AT = outbox.c.created_at.label("happened_at")


async def mailbox(engine: AsyncEngine, *, limit: int) -> list[MailRow]:
    async with engine.connect() as conn:
        return list((await conn.execute(
            select(mm.c.id, mm.c.to_name, mm.c.to_address, mm.c.language, mm.c.subject,
                   mm.c.event_type, mm.c.created_at, _HAPPENED_AT)
            .join(outbox, outbox.c.id == mm.c.event_id)
            .where(mm.c.status == LOCAL).order_by(desc(mm.c.id)).limit(limit))).all())


async def mailbox_message(engine: AsyncEngine, message_id: int) -> MailRow | None:
    async with engine.connect() as conn:
        return (await conn.execute(select(mm, _HAPPENED_AT).join(outbox, outbox.c.id == mm.c.event_id)
                                   .where(mm.c.id == message_id, mm.c.status == LOCAL))).first()
