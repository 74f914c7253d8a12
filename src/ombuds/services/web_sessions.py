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

from ombuds.services.context import Ombuds
from ombuds.store import session_store
from ombuds.store.db import write_transaction


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def start(app: Ombuds, *, user_id: int) -> str:
    """A new session for the user; returns its id (for the cookie only)."""
    session_id = secrets.token_urlsafe(32)
    async with write_transaction(app.engine) as conn:
        now = await app.now()  # a manual clock is read in this transaction
        await session_store.add_session(conn, digest=_digest(session_id), user_id=user_id, now=now)
    return session_id


async def alive(app: Ombuds, *, session_id: str | None, user_id: int) -> bool:
    if not session_id:
        return False
    found = await session_store.session_user(app.engine, _digest(session_id))
    return found is not None and found[0] == user_id and found[1] is None


async def end(app: Ombuds, *, session_id: str | None) -> None:
    """Sign-out: this session ends, wherever its cookie is used."""
    if session_id:
        async with write_transaction(app.engine) as conn:
            await session_store.end_session(conn, _digest(session_id), await app.now())


async def end_all(app: Ombuds, *, user_id: int) -> int:
    """Every open session of the user ends; returns how many there were."""
    async with write_transaction(app.engine) as conn:
        return await session_store.end_sessions_of(conn, user_id, await app.now())
