"""R43: sign-in links. The marketplace asks for one for a buyer or seller; the person follows it
and is signed in to Ombuds' pages without a password, once, within minutes, on the page asked for.

A link is ``{public_url}/signin/link/<secret>``. Only the secret's SHA-256 is stored. Following
the link shows a page with one button; the button spends the link (a conditional UPDATE only
one request can win), so a mail scanner that opens every link does not use it up. Staff sign
in with passwords: a link for an arbitrator is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ombuds.domain.errors import DomainError, Forbidden, NotFound
from ombuds.domain.sign_in import landing_page as checked_landing_page
from ombuds.services.accounts import WebUser, get_user
from ombuds.services.context import Caller, Ombuds
from ombuds.store import session_store, user_store
from ombuds.store.db import write_transaction
from ombuds.store.session_store import LinkRow

PREFIX = "sil_"
HOMES = {"buyer": "/orders", "seller": "/inbox"}
MARKETPLACE, EMAIL = "marketplace", "email"


class LinkState(StrEnum):
    valid = "valid"
    used = "used"
    expired = "expired"
    unknown = "unknown"  # never issued, mistyped or forged


@dataclass(frozen=True, slots=True)
class LinkLookup:
    state: LinkState
    user: WebUser | None = None  # known for a link that was issued (valid, used or expired)
    landing_page: str | None = None
    expires_at: datetime | None = None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def link_url(public_url: str, secret: str) -> str:
    return f"{public_url.rstrip('/')}/signin/link/{secret}"


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


# The mail writes the links it puts in its messages in its own transaction (R43).
record_links = session_store.add_links


def link_row(secret: str, *, user_id: int, landing_page: str, now: datetime, lifetime: timedelta,
             issued_for: str) -> dict:
    """The row that makes ``secret`` a link (its hash, never the secret itself)."""
    return {"user_id": user_id, "token_hash": _hash(secret), "landing_page": landing_page,
            "issued_for": issued_for, "created_at": now, "expires_at": now + lifetime}


async def issue(app: Ombuds, *, caller: Caller, user_id: int, landing_page: str | None,
                public_url: str) -> dict:
    """The marketplace asks for a link for one of its buyers or sellers (R43)."""
    if not caller.is_platform:
        raise Forbidden("marketplace_only", "Only the marketplace asks for sign-in links.")
    now = await app.now()
    lifetime = timedelta(minutes=app.policy.sign_in_link_minutes)
    async with write_transaction(app.engine) as conn:
        role = await user_store.role_in(conn, user_id)
        if role is None:
            raise NotFound("user", "user_id")
        if role not in HOMES:
            raise DomainError("staff_sign_in_with_password",
                              "Staff sign in with their password; sign-in links are for buyers and "
                              "sellers.", "user_id")
        page = checked_landing_page(landing_page, HOMES[role])
        secret = new_secret()
        await session_store.add_link(conn, link_row(secret, user_id=user_id, landing_page=page, now=now,
                                                    lifetime=lifetime, issued_for=MARKETPLACE))
    return {"user_id": user_id, "url": link_url(public_url, secret), "landing_page": page,
            "expires_at": (now + lifetime).isoformat(), "single_use": True}


async def look_up(app: Ombuds, secret: str) -> LinkLookup:
    """What a link is now, without spending it."""
    row = await _row(app, secret)
    if row is None:
        return LinkLookup(LinkState.unknown)
    user = await get_user(app, row.user_id)
    now = await app.now()
    state = (LinkState.used if row.used_at is not None else
             LinkState.expired if row.expires_at <= now else LinkState.valid)
    return LinkLookup(state, user, row.landing_page, row.expires_at)


async def spend(app: Ombuds, secret: str) -> LinkLookup:
    """Use the link: it is valid for exactly one request. Returns the state it was found in."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return LinkLookup(LinkState.unknown)
    now = await app.now()
    async with write_transaction(app.engine) as conn:
        won = await session_store.spend_link(conn, _hash(secret), now)
    if won is None:
        return await look_up(app, secret)
    user_id, landing_page = won
    return LinkLookup(LinkState.valid, await get_user(app, user_id), landing_page)


async def _row(app: Ombuds, secret: str) -> LinkRow | None:
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    return await session_store.link_by_hash(app.engine, _hash(secret))
