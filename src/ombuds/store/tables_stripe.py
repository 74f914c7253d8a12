"""R39: what Stripe Connect adds: its webhook events (once each), transfers of payouts to the
sellers' connected accounts, and card chargebacks.

Columns added to core tables by the same migration (declared in :mod:`ombuds.store.tables`):
``orders.payment_ref`` (the order's charge or PaymentIntent) and ``users.payout_account``
(a seller's connected account).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, text

from ombuds.store import tables as t
from ombuds.store.tables import metadata
from ombuds.store.types import Id, Json, UtcDateTime

# Every Stripe event applied, by its id: a second delivery of the same event changes nothing.
provider_events = Table(
    "provider_events", metadata,
    Column("id", String(100), primary_key=True),  # evt_…
    Column("type", String(80), nullable=False),
    Column("object_id", String(100)),
    Column("received_at", UtcDateTime, nullable=False),
)

# A payout (R1) sent on to the seller's connected account. One per paid-out line.
payout_transfers = Table(
    "payout_transfers", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("line_id", Id, ForeignKey("order_lines.id"), nullable=False, unique=True),
    Column("payout_id", Id, ForeignKey("payouts.id"), nullable=False, index=True),  # planning's watermark
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False, index=True),
    Column("seller_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("destination", String(255), nullable=False),
    Column("amount", Id, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("idempotency_key", String(80), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime),  # NULL once sent, or given up after the last attempt
    Column("claimed_until", UtcDateTime),  # a sender's lease (real time): the call runs outside transactions
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("provider_ref", String(100), unique=True),  # tr_…
    Column("sent_at", UtcDateTime),
    Column("reversed_amount", Id, nullable=False, server_default=text("0")),
    Index("ix_payout_transfers_next_attempt_at", "next_attempt_at"),
)

# A card chargeback reported by Stripe (charge.dispute.*): holds the payout of the lines it
# covers until it closes; its outcome is posted to the ledger.
chargebacks = Table(
    "chargebacks", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("provider_ref", String(100), nullable=False, unique=True),  # dp_…
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False, index=True),
    Column("charge_ref", String(255), nullable=False),
    Column("amount", Id, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reason", String(60)),
    Column("status", String(40), nullable=False),  # Stripe's: warning_needs_response, needs_response, …, won, lost
    Column("line_ids", Json, nullable=False),  # the lines it covers (held while it is open)
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("outcome", String(10)),  # won | lost
)

Index("ix_orders_payment_ref", t.orders.c.payment_ref)
