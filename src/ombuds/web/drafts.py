"""Nothing typed is lost to an ended session.

A form that arrives without a live session — it expired, the person signed out in another tab,
or signed in again there (a new CSRF token) — is refused, as every form without its session's
token is (CSRF). If it came from one of Ombuds' own pages (the browser says so: ``Sec-Fetch-Site``
or ``Origin``), what was typed into it is kept for a day under a token only that browser's
session holds, the person is sent back to the page the form was on — through the sign-in page
when they must sign in again — and that page puts the text back into the same form, to be
checked and sent again. Nothing is done with it in between. Files are not kept here: files
chosen on the dispute form already wait on the server (``services.evidence_uploads``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, insert
from starlette.datastructures import FormData
from starlette.requests import Request

from ombuds.services.context import Ombuds
from ombuds.store.db import write_transaction
from ombuds.store.tables_web import page_drafts as pd

KEEP_FOR = timedelta(days=1)
MAX_FIELD = 10_000  # characters kept of one field (the dispute texts take 5,000)
MAX_FIELDS = 60


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def from_this_site(request: Request) -> bool:
    """Did one of our own pages send this form? (Not another site forging it.)"""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("origin")
    return bool(origin) and urlsplit(origin).netloc == request.headers.get("host")


def back_to(request: Request) -> str:
    """The page the form was on: the Referer when it is one of ours, else the form's address
    for forms that live at their own address (the dispute form), else the start page."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.headers.get("host") and referer.path.startswith("/") and \
            not referer.path.startswith("//"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return request.url.path if request.url.path.endswith("/dispute") else "/"


def typed(form: FormData, skip: set[str]) -> dict[str, str]:
    """The text fields of a form (the last value of a repeated name), bounded."""
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and name not in skip and len(fields) < MAX_FIELDS:
            fields[name[:100]] = value[:MAX_FIELD]
    return fields


async def keep(app: Ombuds, *, action: str, back: str, fields: dict[str, str], user_id: int | None) -> str:
    """Keep what was typed; returns the token the session will hold."""
    token = secrets.token_urlsafe(32)
    now = await app.now()
    async with write_transaction(app.engine) as conn:
        await conn.execute(delete(pd).where(pd.c.created_at <= now - KEEP_FOR))
        await conn.execute(insert(pd).values(id=_digest(token), action=action[:500], back=back[:500],
                                             user_id=user_id, fields=fields, created_at=now))
    return token


async def take(app: Ombuds, token: str, *, actions: list[str], user_id: int) -> tuple[str, dict[str, str]] | None:
    """(the form's address, its fields) kept for one of the forms at ``actions``, once; None if
    there is none (another form's, another person's, or too old)."""
    now = await app.now()
    async with write_transaction(app.engine) as conn:
        row = (await conn.execute(delete(pd).where(
            pd.c.id == _digest(token), pd.c.action.in_(actions), pd.c.created_at > now - KEEP_FOR)
            .returning(pd.c.action, pd.c.user_id, pd.c.fields))).first()
    if row is None or (row.user_id is not None and row.user_id != user_id):
        return None
    return row.action, dict(row.fields)
