"""Users: registering them, their time zone, who a token or an id is, and the sign-in columns
the web pages read (name, e-mail, role, the argon2 password hash)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.store.tables import users
from ombuds.store.tables_web import user_logins as u


@dataclass(frozen=True, slots=True)
class UserLogin:
    """A user as the web pages know them."""

    id: int
    name: str
    email: str
    role: str
    country: str
    language: str
    password_hash: str | None
    time_zone: str | None


def _login(row: Any) -> UserLogin:
    return UserLogin(row.id, row.name, row.email, row.role, row.country, row.language, row.password_hash,
                     row.time_zone)


# Users ---------------------------------------------------------------------------------------

async def add_user(conn: AsyncConnection, row: dict[str, Any]) -> int | None:
    """The new user's id, or None when the e-mail (or the token) is taken already."""
    try:
        return (await conn.execute(insert(users).values(**row).returning(users.c.id))).scalar_one()
    except IntegrityError:
        return None


async def set_time_zone(conn: AsyncConnection, user_id: int, time_zone: str | None) -> str | None:
    """Set the user's own zone; returns their country, or None for an unknown user."""
    found = await conn.execute(update(users).where(users.c.id == user_id).values(time_zone=time_zone)
                               .returning(users.c.country))
    return found.scalar()


async def role_of_token(engine: AsyncEngine, digest: str) -> tuple[int, str] | None:
    """(id, role) of the user whose API token has this SHA-256."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(users.c.id, users.c.role)
                                  .where(users.c.token_hash == digest))).first()
    return None if row is None else (row.id, row.role)


async def role_of_user(engine: AsyncEngine, user_id: int) -> tuple[int, str] | None:
    """(id, role) of the user with this id."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(users.c.id, users.c.role).where(users.c.id == user_id))).first()
    return None if row is None else (row.id, row.role)


async def role_in(conn: AsyncConnection, user_id: int) -> str | None:
    """The user's role, read in the caller's transaction (None: no such user)."""
    return (await conn.execute(select(users.c.role).where(users.c.id == user_id))).scalar()


# Sign-in columns -------------------------------------------------------------------------------

async def login_by_id(engine: AsyncEngine, user_id: int) -> UserLogin | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(u).where(u.c.id == user_id))).first()
    return _login(row) if row else None


async def login_by_email(engine: AsyncEngine, email: str) -> UserLogin | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(u).where(u.c.email == email))).first()
    return _login(row) if row is not None else None


async def set_password_hash(conn: AsyncConnection, user_id: int, digest: str) -> int:
    """Store the hash; returns how many users got it (0: no such user)."""
    return (await conn.execute(update(u).where(u.c.id == user_id).values(password_hash=digest))).rowcount


async def without_password(engine: AsyncEngine) -> Sequence[int]:
    """The ids of the users who have no password."""
    async with engine.connect() as conn:
        return (await conn.execute(select(u.c.id).where(u.c.password_hash.is_(None)))).scalars().all()


async def first_logins(engine: AsyncEngine, limit: int) -> list[UserLogin]:
    """The first users by id."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(u).order_by(u.c.id).limit(limit))).all()
    return [_login(r) for r in rows]
