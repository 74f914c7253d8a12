"""Passwords for the web pages (argon2) and who a signed-in user is (a service: no web imports).

Users are registered by the marketplace (``POST /api/v1/users``); a password is set for
them here — by the operator, by the demo seed, or by the user on the account page. Only the
argon2 hash is stored, in ``users.password_hash`` (migration 0006).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ombuds.domain.errors import DomainError
from ombuds.domain.time_zones import main_zone
from ombuds.services.context import Caller, Ombuds
from ombuds.store import user_store
from ombuds.store.db import write_transaction
from ombuds.store.user_store import UserLogin

DEMO_PASSWORD = "demo"
MIN_PASSWORD = 8
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both answers take the same time. Written
# out (argon2id with the hasher's parameters) rather than hashed at import: a hash costs ~0.3 s
# of CPU, paid by every process that starts (servers, workers, the CLI).
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YQELp721hAG+68K3LyCc0w$wGXThOCgAPUMCs5Ij5o0fZMY6d2BZ7PMU+KxnLVSZLc"


@dataclass(frozen=True, slots=True)
class WebUser:
    id: int
    name: str
    email: str
    role: str
    country: str
    language: str
    password_hash: str | None
    chosen_time_zone: str | None = None  # R33: None means the country's main zone

    @property
    def time_zone(self) -> str:
        return self.chosen_time_zone or main_zone(self.country)

    @property
    def caller(self) -> Caller:
        return Caller(self.role, self.id)

    @property
    def session_mark(self) -> str:
        """Changes when the password changes, which ends every other session of the user."""
        return hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:16]


def _user(row: UserLogin) -> WebUser:
    return WebUser(row.id, row.name, row.email, row.role, row.country, row.language, row.password_hash,
                   row.time_zone)


async def get_user(app: Ombuds, user_id: int) -> WebUser | None:
    row = await user_store.login_by_id(app.engine, user_id)
    return _user(row) if row else None


async def authenticate(app: Ombuds, email: str, password: str) -> WebUser | None:
    """The user with this e-mail and password, or None (same answer for either mistake)."""
    row = await user_store.login_by_email(app.engine, email.strip().lower())
    stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not row.password_hash:
        return None
    if _hasher.check_needs_rehash(stored):
        await set_password(app, user_id=row.id, password=password, check_length=False)
    return _user(row)


async def set_password(app: Ombuds, *, user_id: int, password: str, check_length: bool = True) -> None:
    if check_length and len(password) < MIN_PASSWORD:
        raise DomainError("password_too_short",
                          f"Choose a password of at least {MIN_PASSWORD} characters.", "password")
    digest = _hasher.hash(password)
    async with write_transaction(app.engine) as conn:
        found = await user_store.set_password_hash(conn, user_id, digest)
    if found != 1:
        raise DomainError("unknown_user", f"No user with id {user_id}.", "user_id")


async def set_demo_passwords(app: Ombuds, password: str = DEMO_PASSWORD) -> int:
    """Give every user without a password the demo password; returns how many got one.

    Called by the demo seed, so that the demo's people can also sign in with a password.
    """
    ids = await user_store.without_password(app.engine)
    for user_id in ids:
        await set_password(app, user_id=user_id, password=password, check_length=False)
    return len(ids)


async def demo_people(app: Ombuds, limit: int = 12) -> list[WebUser]:
    """Whom the demo's "sign in as…" list offers (only shown with the manual clock)."""
    return [_user(r) for r in await user_store.first_logins(app.engine, limit)]
