"""Evidence (R10, R22) and the files waiting on the dispute form for their dispute: the rows,
which blobs they name, the images that may be the same photo, and the entries that tell of
new evidence (timeline and outbox)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, union
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.store import tables as t
from ombuds.store.tables_evidence import evidence as ev
from ombuds.store.tables_evidence import evidence_uploads as up

# Evidence ------------------------------------------------------------------------------------


async def count_on_side(conn: AsyncConnection, dispute_id: int, side: str) -> int:
    """How many files one side attached to the dispute."""
    return (await conn.execute(select(func.count()).select_from(ev)
                               .where(ev.c.dispute_id == dispute_id, ev.c.side == side))).scalar_one()


async def images_sharing_a_band(conn: AsyncConnection, bands: list[int], *, dispute_id: int,
                                buyer_id: int, order_id: int) -> list[dict[str, Any]]:
    """R22: earlier images whose perceptual hash shares a 16-bit quarter with ``bands``, in
    disputes other than this one, of another buyer or another order (oldest first)."""
    q = (select(ev.c.id, ev.c.dispute_id, ev.c.order_id, ev.c.buyer_id, ev.c.side, ev.c.phash)
         .where(or_(*(getattr(ev.c, f"phash_band{i}") == b for i, b in enumerate(bands))),
                ev.c.dispute_id != dispute_id,
                or_(ev.c.buyer_id != buyer_id, ev.c.order_id != order_id))
         .order_by(ev.c.id))
    return [r._asdict() for r in (await conn.execute(q)).all()]


async def add_evidence(conn: AsyncConnection, row: dict[str, Any]) -> int:
    """Write an evidence row; returns its id."""
    return (await conn.execute(insert(ev).values(**row).returning(ev.c.id))).scalar_one()


async def add_timeline_entry(conn: AsyncConnection, entry: dict[str, Any]) -> None:
    await conn.execute(insert(t.timeline).values(**entry))


async def add_outbox_message(conn: AsyncConnection, message: dict[str, Any]) -> None:
    await conn.execute(insert(t.outbox).values(**message))


async def evidence_of(conn: AsyncConnection, dispute_id: int) -> list[dict[str, Any]]:
    """Every evidence row of the dispute, oldest first."""
    rows = (await conn.execute(select(ev).where(ev.c.dispute_id == dispute_id).order_by(ev.c.id))).all()
    return [r._asdict() for r in rows]


async def evidence_by_id(conn: AsyncConnection, evidence_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(ev).where(ev.c.id == evidence_id))).first()
    return None if row is None else row._asdict()


async def evidence_blobs_in_use(engine: AsyncEngine, sha256s: Collection[str]) -> set[str]:
    """Those of ``sha256s`` that an evidence row names (original, served copy or thumbnail)."""
    async with engine.connect() as conn:
        return set((await conn.execute(union(
            *(select(column).where(column.in_(sha256s))
              for column in (ev.c.sha256, ev.c.served_sha256, ev.c.thumbnail_sha256))))).scalars())


# Files waiting for their dispute ---------------------------------------------------------------


async def count_waiting(conn: AsyncConnection, *, user_id: int, line_id: int, since: datetime) -> int:
    """How many files the person has waiting for a dispute on this line, staged after ``since``."""
    return (await conn.execute(select(func.count()).select_from(up).where(
        up.c.user_id == user_id, up.c.line_id == line_id, up.c.created_at > since))).scalar_one()


async def add_waiting(conn: AsyncConnection, row: dict[str, Any]) -> int:
    """Write a waiting file's row; returns its id."""
    return (await conn.execute(insert(up).values(**row).returning(up.c.id))).scalar_one()


async def waiting_files(engine: AsyncEngine, *, user_id: int, line_id: int, since: datetime
                        ) -> list[dict[str, Any]]:
    """The person's files waiting for a dispute on this line, staged after ``since``, in order."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(up).where(
            up.c.user_id == user_id, up.c.line_id == line_id, up.c.created_at > since)
            .order_by(up.c.id))).all()
    return [r._asdict() for r in rows]


async def remove_waiting_of(conn: AsyncConnection, *, upload_id: int, user_id: int, line_id: int) -> str | None:
    """Remove the person's waiting file; returns its blob's SHA-256 (None: no such file of theirs)."""
    return (await conn.execute(delete(up).where(
        up.c.id == upload_id, up.c.user_id == user_id, up.c.line_id == line_id)
        .returning(up.c.sha256))).scalar()


async def remove_waiting(conn: AsyncConnection, upload_id: int) -> None:
    await conn.execute(delete(up).where(up.c.id == upload_id))


async def purge_waiting(conn: AsyncConnection, *, user_id: int, until: datetime) -> set[str]:
    """Remove the person's files staged at or before ``until``; returns their blobs' SHA-256s."""
    return set((await conn.execute(delete(up).where(
        up.c.user_id == user_id, up.c.created_at <= until).returning(up.c.sha256))).scalars())


async def blobs_in_use(engine: AsyncEngine, sha256s: Collection[str]) -> set[str]:
    """Those of ``sha256s`` that evidence or a waiting file names."""
    async with engine.connect() as conn:
        return set((await conn.execute(union(
            *(select(column).where(column.in_(sha256s))
              for column in (ev.c.sha256, ev.c.served_sha256, ev.c.thumbnail_sha256, up.c.sha256))))).scalars())
