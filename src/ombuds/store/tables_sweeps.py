"""Rows the sweeper set aside: a due row whose timer failed is recorded here with its error and
skipped by later claims, so it never holds back the rest of its batch (docs/operations.md).

``kind`` names the sweep (``order``, ``dispute``, ``refund_submit``, ``refund_settle``,
``complaint``) and ``row_id`` the row of that kind's table. An operator reads them with
``ombuds sweeps set-aside`` and, once the cause is fixed, releases one with
``ombuds sweeps release KIND ID``: the next sweep claims it again.
"""

from __future__ import annotations

from sqlalchemy import Column, PrimaryKeyConstraint, String, Table, Text

from ombuds.store.tables import metadata
from ombuds.store.types import Id, UtcDateTime

sweep_set_aside = Table(
    "sweep_set_aside", metadata,
    Column("kind", String(20), nullable=False),
    Column("row_id", Id, nullable=False),
    Column("error", Text, nullable=False),
    Column("set_aside_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("kind", "row_id", name="pk_sweep_set_aside"),
)
