"""Sign-in links (R43): single-use, short-lived, bound to one user and one landing page.

Only the SHA-256 of a link's secret is kept, so the table is no list of live passwords.
A link is used at most once: ``used_at`` is set by a conditional UPDATE that only one
request can win.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table

from ombuds.store.tables import metadata
from ombuds.store.types import Id, UtcDateTime

sign_in_links = Table(
    "sign_in_links", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("landing_page", String(500), nullable=False),  # a path on Ombuds' own pages
    Column("issued_for", String(20), nullable=False),  # marketplace | email
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Index("ix_sign_in_links_expires_at", "expires_at"),
)
