"""Sessions of the web pages, recorded server-side so that they can be ended.

The signed cookie (``web/sessions.py``) names its session by a random id; only the id's
SHA-256 is stored, in ``web_sessions`` (migration 0015). A page accepts the cookie only while
its session has not ended, so signing out ends that session everywhere the cookie is used
(a copied cookie included), and the marketplace can end every session of a user at once
(``POST /api/v1/users/{id}/sessions/end``), e.g. when an account is compromised.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import insert, select, update

from ombuds.services.context import Ombuds
from ombuds.store.db import write_transaction
from ombuds.store.tables_web import web_sessions as ws


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def start(app: Ombuds, *, user_id: int) -> str:
    """A new session for the user; returns its id (for the cookie only)."""
    session_id = secrets.token_urlsafe(32)
    now = await app.now()  # before the transaction: SQLite has one connection
    async with write_transaction(app.engine) as conn:
        await conn.execute(insert(ws).values(id=_digest(session_id), user_id=user_id, created_at=now))
    return session_id


async def alive(app: Ombuds, *, session_id: str | None, user_id: int) -> bool:
    if not session_id:
        return False
    async with app.engine.connect() as conn:
        row = (await conn.execute(select(ws.c.user_id, ws.c.ended_at).where(ws.c.id == _digest(session_id)))).first()
    return row is not None and row.user_id == user_id and row.ended_at is None


async def end(app: Ombuds, *, session_id: str | None) -> None:
    """Sign-out: this session ends, wherever its cookie is used."""
    if session_id:
        now = await app.now()
        async with write_transaction(app.engine) as conn:
            await conn.execute(update(ws).where(ws.c.id == _digest(session_id), ws.c.ended_at.is_(None))
                               .values(ended_at=now))


async def end_all(app: Ombuds, *, user_id: int) -> int:
    """Every open session of the user ends; returns how many there were."""
    now = await app.now()
    async with write_transaction(app.engine) as conn:
        done = await conn.execute(update(ws).where(ws.c.user_id == user_id, ws.c.ended_at.is_(None))
                                  .values(ended_at=now))
    return done.rowcount
