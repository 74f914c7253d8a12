"""What the web pages keep: a password per user and the secret that signs session cookies.

Migration 0006 adds ``users.password_hash`` (argon2, nullable: a user without one signs in
through the marketplace, not here) and the ``web_secrets`` table. ``users`` itself belongs to
:mod:`ombuds.store.tables`; the lightweight table below names only the columns the web
pages read, so this module adds nothing to that table's definition.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, column, table

from ombuds.store.tables import metadata
from ombuds.store.types import Id, Json, UtcDateTime

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

page_drafts = Table(
    "page_drafts", metadata,
    # What someone typed into a form that arrived without a live session (it had ended, or the
    # page was open across a sign-out): kept for a day so that, signed in again, they find it
    # back in the same form (migration 0012). Named by the SHA-256 of a token only their
    # session cookie holds; taken once.
    Column("id", String(64), primary_key=True),
    Column("action", String(500), nullable=False),  # the form's address, e.g. /disputes/12/do/reject
    Column("back", String(500), nullable=False),  # the page the form was on
    Column("user_id", Id),  # who was signed in when it was sent, if anyone still was
    Column("fields", Json, nullable=False),  # name → text; never files, never the CSRF token
    Column("created_at", UtcDateTime, nullable=False),
)

web_sessions = Table(
    "web_sessions", metadata,
    # One row per signed-in browser session (migration 0015): ending it ends the session
    # everywhere its cookie is used. The cookie holds the session's id; this is its SHA-256.
    Column("id", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
)
