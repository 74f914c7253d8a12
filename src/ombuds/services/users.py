"""Users and their API tokens. Only a token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from ombuds.domain.errors import Conflict, DomainError
from ombuds.domain.time_zones import is_zone, main_zone
from ombuds.services.context import Caller, Ombuds
from ombuds.store import user_store

ROLES = ("buyer", "seller", "arbitrator")
LANGUAGES = ("en", "ru")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "omb_" + secrets.token_urlsafe(32)


def check_time_zone(time_zone: str | None) -> str | None:
    """R33: an IANA zone name (``Europe/Berlin``), or None for the country's main zone."""
    if time_zone is None or time_zone == "":
        return None
    if not is_zone(time_zone):
        raise DomainError("invalid_time_zone", "Give the time zone as an IANA name, e.g. Europe/Moscow.",
                          "time_zone")
    return time_zone


async def create_user(app: Ombuds, *, name: str, email: str, role: str, country: str,
                      language: str = "en", token: str | None = None,
                      time_zone: str | None = None,
                      payout_account: str | None = None) -> tuple[dict, str]:
    """Register a buyer, seller or arbitrator; returns the user and its API token (shown once).
    Without a ``time_zone`` the user lives in their country's main zone (R33)."""
    if role not in ROLES:
        raise DomainError("invalid_role", f"Role must be one of: {', '.join(ROLES)}.", "role")
    if language not in LANGUAGES:
        raise DomainError("unsupported_language", f"Language must be one of: {', '.join(LANGUAGES)}.",
                          "language")
    if len(country) != 2 or not country.isalpha():
        raise DomainError("invalid_country", "Give the country as two letters (ISO 3166), e.g. RU.",
                          "country")
    if payout_account is not None and role != "seller":
        raise DomainError("payout_account_for_sellers", "Only a seller has a payout account (R39).",
                          "payout_account")
    chosen = check_time_zone(time_zone)
    token = token or new_token()
    now = await app.now()
    row: dict[str, Any] = {"name": name.strip(), "email": email.strip().lower(), "role": role,
           "country": country.upper(), "language": language, "token_hash": token_hash(token),
           "created_at": now, "time_zone": chosen,
           **({"payout_account": payout_account} if payout_account else {})}
    async with app.uow() as uow:
        user_id = await user_store.add_user(uow.conn, row)
        if user_id is None:
            raise Conflict("email_taken", "A user with this e-mail already exists.", "email")
        row["id"] = user_id
        await uow.commit()
    row.pop("token_hash")
    row["time_zone"] = chosen or main_zone(row["country"])
    return row, token


async def set_time_zone(app: Ombuds, *, user_id: int, time_zone: str | None) -> str:
    """R33: the user's own zone (None: back to their country's main zone); returns the zone in force."""
    chosen = check_time_zone(time_zone)
    async with app.uow() as uow:
        country = await user_store.set_time_zone(uow.conn, user_id, chosen)
        if country is None:
            raise DomainError("unknown_user", f"No user with id {user_id}.", "user_id")
        await uow.commit()
    return chosen or main_zone(country)


KNOWN_TOKENS_MAX = 10_000


async def caller_for_token(app: Ombuds, token: str) -> Caller | None:
    digest = token_hash(token)
    caller = app.known_tokens.get(digest)
    if caller is not None:
        return caller
    found = await user_store.role_of_token(app.engine, digest)
    if found is None:
        return None
    if len(app.known_tokens) >= KNOWN_TOKENS_MAX:
        app.known_tokens.clear()
    user_id, role = found
    caller = app.known_tokens[digest] = Caller(role, user_id)
    return caller


async def caller_for_user(app: Ombuds, user_id: int) -> Caller | None:
    found = await user_store.role_of_user(app.engine, user_id)
    return None if found is None else Caller(found[1], found[0])
