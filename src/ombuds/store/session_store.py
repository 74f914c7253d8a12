"""Sessions of the web pages and sign-in links (R43): rows named by the SHA-256 of a secret
that only the browser (the cookie) or the link holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.store.tables_sign_in import sign_in_links as links
from ombuds.store.tables_web import web_sessions as ws

# Web sessions ---------------------------------------------------------------------------------


async def add_session(conn: AsyncConnection, *, digest: str, user_id: int, now: datetime) -> None:
    await conn.execute(insert(ws).values(id=digest, user_id=user_id, created_at=now))


async def session_user(engine: AsyncEngine, digest: str) -> tuple[int, datetime | None] | None:
    """(user id, ended at) of the session, or None for a session never started."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(ws.c.user_id, ws.c.ended_at).where(ws.c.id == digest))).first()
    return None if row is None else (row.user_id, row.ended_at)


async def end_session(conn: AsyncConnection, digest: str, now: datetime) -> None:
    await conn.execute(update(ws).where(ws.c.id == digest, ws.c.ended_at.is_(None)).values(ended_at=now))


async def end_sessions_of(conn: AsyncConnection, user_id: int, now: datetime) -> int:
    """End every open session of the user; returns how many there were."""
    done = await conn.execute(update(ws).where(ws.c.user_id == user_id, ws.c.ended_at.is_(None))
                              .values(ended_at=now))
    return done.rowcount


# Sign-in links ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkRow:
    user_id: int
    landing_page: str
    expires_at: datetime
    used_at: datetime | None


async def add_links(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Write links (rows made by ``sign_in_links.link_row``) in the caller's transaction."""
    if rows:
        await conn.execute(insert(links), rows)


async def add_link(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(links).values(**row))


async def spend_link(conn: AsyncConnection, digest: str, now: datetime) -> tuple[int, str] | None:
    """Mark the link used if it is unused and not expired: (user id, landing page) for the one
    request that wins, None for every other."""
    won = (await conn.execute(
        update(links).where(links.c.token_hash == digest, links.c.used_at.is_(None), links.c.expires_at > now)
        .values(used_at=now).returning(links.c.user_id, links.c.landing_page))).first()
    return None if won is None else (won.user_id, won.landing_page)


async def link_by_hash(engine: AsyncEngine, digest: str) -> LinkRow | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(links).where(links.c.token_hash == digest))).first()
    return None if row is None else LinkRow(row.user_id, row.landing_page, row.expires_at, row.used_at)
