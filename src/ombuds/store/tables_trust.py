"""Tables for trust on both sides (R15, R21, R22, R24). Migration 0005 creates them.

- ``seller_penalties``: append-only; a seller's standing (active or suspended) is derived
  from the latest suspension or reinstatement row, never stored as a flag.
- ``seller_flags``: one row per crossing of the R21 threshold; ``cleared_at`` is set when
  the seller falls back under it. At most one open flag per seller (a partial unique index).
- ``complaints`` and ``complaint_timeline``: the R24 lifecycle (``open`` → ``answered`` →
  ``closed``) with its one running deadline as columns, swept like a dispute's.
- ``staff_alerts``: what the sweeper told the platform's staff (a case near its review
  limit, a case past it, a complaint overdue, a seller flagged), once per subject and round.
- ``trust_sweep_state``: one row; when the sweeper next re-checks every seller's flag.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, text

from ombuds.store.tables import metadata
from ombuds.store.types import Id, Json, UtcDateTime

seller_penalties = Table(
    "seller_penalties", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("seller_id", Id, ForeignKey("users.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # warning | suspension | reinstatement
    Column("reason", Text, nullable=False),
    Column("by_id", Id, ForeignKey("users.id")),  # None: the marketplace key
    Column("by_role", String(20), nullable=False),  # arbitrator | platform
    Column("dispute_id", Id, ForeignKey("disputes.id")),
    Column("complaint_id", Id, ForeignKey("complaints.id")),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_seller_penalties_seller_id_id", "seller_id", "id"),
)

seller_flags = Table(
    "seller_flags", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("seller_id", Id, ForeignKey("users.id"), nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
    Column("orders", Integer, nullable=False),  # the numbers that crossed the threshold
    Column("lost_orders", Integer, nullable=False),
    Column("threshold", String(20), nullable=False),  # the policy's ratio then, as written
    Column("cleared_at", UtcDateTime),
    Column("cleared_orders", Integer),
    Column("cleared_lost_orders", Integer),
    Index("ix_seller_flags_seller_id", "seller_id"),
    Index("uq_seller_flags_open", "seller_id", unique=True,
          postgresql_where=text("cleared_at IS NULL"), sqlite_where=text("cleared_at IS NULL")),
)

complaints = Table(
    "complaints", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("buyer_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("seller_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False, index=True),
    Column("line_id", Id, ForeignKey("order_lines.id")),
    Column("about", String(10), nullable=False),  # order | seller
    Column("message", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("state", String(20), nullable=False),  # open | answered | closed
    Column("state_entered_at", UtcDateTime, nullable=False),
    Column("deadline", String(40)),
    Column("deadline_at", UtcDateTime),
    Column("reminder_at", UtcDateTime),
    Column("reminded_deadline_at", UtcDateTime),
    Column("due_at", UtcDateTime),  # min(deadline_at, reminder_at): what the sweeper scans
    Column("overdue_since", UtcDateTime),  # the answer target passed while still open
    Column("answered_at", UtcDateTime),
    Column("answered_by", Id, ForeignKey("users.id")),
    Column("answer", Text),
    Column("goodwill_amount", Id),
    Column("goodwill_refund_id", Id, ForeignKey("refunds.id")),
    Column("outcome", String(20)),  # answered | withdrawn
    Column("closed_at", UtcDateTime),
    Column("version", Integer, nullable=False, server_default=text("0")),
    Index("ix_complaints_due_at", "due_at"),
    Index("ix_complaints_state_deadline_at", "state", "deadline_at"),
)

complaint_timeline = Table(
    "complaint_timeline", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("complaint_id", Id, ForeignKey("complaints.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(20), nullable=False),
    Column("actor_id", Id),
    Column("action", String(40), nullable=False),
    Column("from_state", String(20), nullable=False),
    Column("to_state", String(20), nullable=False),
    Column("deadline", String(40)),
    Column("deadline_at", UtcDateTime),
    Column("details", Json, nullable=False),
)

staff_alerts = Table(
    "staff_alerts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # near_limit | limit_passed | complaint_due_soon | complaint_overdue | seller_flagged
    Column("kind", String(30), nullable=False),
    Column("subject", String(20), nullable=False),  # dispute | complaint | seller
    Column("subject_id", Id, nullable=False),
    # Which round of the subject: a dispute's escalation, a complaint's answer target, a flag's
    # raising. A dispute escalated again after an appeal is alerted again.
    Column("round_at", UtcDateTime, nullable=False),
    Column("details", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("kind", "subject_id", "round_at"),
)

trust_sweep_state = Table(
    "trust_sweep_state", metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("next_flag_check_at", UtcDateTime),  # None: at the next sweep
)
