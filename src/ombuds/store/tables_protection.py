"""R38: the buyer's requests for more protection, and the seller's answers. Migration 0016.

A request is written once and answered once (``open`` → ``granted`` or ``declined``); the
partial unique index holds R38's "one open request per order at a time" even when two
requests race.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, text

from ombuds.store.tables import metadata
from ombuds.store.types import Id, UtcDateTime

protection_requests = Table(
    "protection_requests", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False),
    Column("buyer_id", Id, ForeignKey("users.id"), nullable=False),
    Column("seller_id", Id, ForeignKey("users.id"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("days_wanted", Integer),
    Column("state", String(20), nullable=False),  # open | granted | declined
    Column("granted_days", Integer),
    Column("answer", Text),  # the seller's reason for declining
    Column("created_at", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime),
    Index("ix_protection_requests_order_id", "order_id"),
    Index("ix_protection_requests_seller_id_state", "seller_id", "state"),  # the seller's inbox
    Index("uq_protection_requests_open_order_id", "order_id", unique=True,
          postgresql_where=text("state = 'open'"), sqlite_where=text("state = 'open'")),
)
