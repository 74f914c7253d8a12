"""R40: carrier checkpoints of each parcel (the order's shipment, a dispute's return).

Append-only. ``parcel_key`` names the parcel (``order:12`` or ``return:5``); a checkpoint is
kept once per parcel, moment and status, so a feed that resends its whole history adds
nothing. ``event_id`` is the webhook's own id (Standard Webhooks ``webhook-id``, AfterShip's
``event_id``): an event seen before is refused as a replay.

Also indexes the tracking numbers on ``orders`` and ``disputes`` (their tables belong to
:mod:`ombuds.store.tables`), since a carrier names a parcel by its tracking number.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint

from ombuds.store import tables as t
from ombuds.store.tables import metadata
from ombuds.store.types import Id, UtcDateTime

parcel_checkpoints = Table(
    "parcel_checkpoints", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("parcel_key", String(40), nullable=False),
    Column("parcel", String(10), nullable=False),  # shipment | return
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False, index=True),
    Column("dispute_id", Id, ForeignKey("disputes.id"), index=True),  # a return's dispute
    Column("tracking_number", String(100), nullable=False),
    Column("carrier", String(100)),
    Column("status", String(30), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("location", String(200)),
    Column("message", Text),
    Column("source", String(20), nullable=False),  # ombuds | aftership | demo
    Column("event_id", String(200), nullable=False, index=True),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("parcel_key", "occurred_at", "status"),
)

Index("ix_orders_tracking_number", t.orders.c.tracking_number)
Index("ix_disputes_return_tracking", t.disputes.c.return_tracking)
