"""What the web pages keep: a password per user and the secret that signs session cookies.

Migration 0006 adds ``users.password_hash`` (argon2, nullable: a user without one signs in
through the marketplace, not here) and the ``web_secrets`` table. ``users`` itself belongs to
:mod:`ombuds.store.tables`; the lightweight table below names only the columns the web
pages read, so this module adds nothing to that table's definition.
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table, column, table

from ombuds.store.tables import metadata
from ombuds.store.types import UtcDateTime

# The users' sign-in columns (the full table is ombuds.store.tables.users).
user_logins = table(
    "users",
    column("id"), column("email"), column("name"), column("role"), column("country"),
    column("language"), column("password_hash"), column("time_zone"),
)

web_secrets = Table(
    "web_secrets", metadata,
    # One row per purpose ("session"): generated once, shared by every process of the service.
    Column("name", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
