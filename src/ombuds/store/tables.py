"""The database schema (SQLAlchemy Core). Alembic migrations create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from ombuds.store.types import Id, Json, UtcDateTime

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
})

users = Table(
    "users", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False, unique=True),
    Column("role", String(20), nullable=False),  # buyer | seller | arbitrator
    Column("country", String(2), nullable=False),
    Column("language", String(8), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("password_hash", String(200)),  # argon2, for the web pages; added by migration 0006
    # R33: an IANA zone name; NULL means the main zone of ``country``. Added by migration 0010.
    Column("time_zone", String(64)),
    Column("payout_account", String(255)),  # R39: a seller's connected account (acct_…); added by 0014
)

orders = Table(
    "orders", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("buyer_id", Id, ForeignKey("users.id"), nullable=False),
    Column("seller_id", Id, ForeignKey("users.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payment_method", String(40), nullable=False),
    Column("external_ref", String(200)),
    Column("payment_ref", String(255)),  # R39: the charge or PaymentIntent at the provider; added by 0014
    Column("state", String(20), nullable=False),
    Column("carrier", String(100)),
    Column("tracking_number", String(100)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("shipped_at", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Column("returned_to_sender_at", UtcDateTime),  # R40: the carrier sent it back; added by 0013
    Column("completed_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("cancelled_at", UtcDateTime),
    Column("protection_ends_at", UtcDateTime),
    Column("protection_extension_days", Integer, nullable=False, server_default=text("0")),
    Column("dispute_window_ends_at", UtcDateTime),
    Column("replacement_for_line_id", Id),
    Column("deadline_at", UtcDateTime),  # the one timer running (protection end, window end)
    Column("version", Integer, nullable=False, server_default=text("0")),
    # Due orders, earliest first (ORDER BY deadline_at, id LIMIT n): read from the index (0019).
    Index("ix_orders_deadline_at_id", "deadline_at", "id"),
    # A person's order list, newest first, is one page read from the index's end (0017).
    Index("ix_orders_buyer_id_id", "buyer_id", "id"),
    Index("ix_orders_seller_id_id", "seller_id", "id"),
)

order_lines = Table(
    "order_lines", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("title", String(500), nullable=False),
    Column("unit_price", Id, nullable=False),
    Column("quantity", Integer, nullable=False),
)

disputes = Table(
    "disputes", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False, index=True),
    # R5: one dispute per line, ever — the database holds the rule too.
    Column("line_id", Id, ForeignKey("order_lines.id"), nullable=False, unique=True),
    Column("buyer_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("seller_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("unit_price", Id, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("received", Boolean, nullable=False),
    Column("reason", String(30), nullable=False),
    Column("description", Text, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("refund_to", String(20), nullable=False),
    Column("state", String(30), nullable=False),
    Column("state_entered_at", UtcDateTime, nullable=False),
    Column("deadline", String(40)),
    Column("deadline_at", UtcDateTime),
    Column("reminder_at", UtcDateTime),
    Column("reminded_deadline_at", UtcDateTime),
    Column("due_at", UtcDateTime),  # min(deadline_at, reminder_at): what the sweeper scans
    Column("version", Integer, nullable=False, server_default=text("0")),
    Column("first_seller_response_at", UtcDateTime),
    Column("proposal_by", String(20), nullable=False),
    Column("proposal_resolution", String(30), nullable=False),
    Column("proposal_amount", Id, nullable=False),
    Column("proposal_message", Text, nullable=False),
    Column("proposal_at", UtcDateTime, nullable=False),
    Column("proposal_rejected", Boolean, nullable=False),
    Column("proposal_id", Integer, nullable=False, server_default=text("1")),  # R34 (migration 0015)
    Column("agreed_resolution", String(30)),
    Column("agreed_amount", Id),
    Column("escalated_at", UtcDateTime),
    Column("review_target_passed", Boolean, nullable=False),
    Column("review_limit_passed", Boolean, nullable=False),
    Column("verdict_refund_amount", Id),
    Column("verdict_return_required", Boolean),
    Column("verdict_penalise_seller", Boolean),
    Column("verdict_message", Text),
    Column("verdict_at", UtcDateTime),
    Column("verdict_round", Integer),
    Column("buyer_reply", String(10)),
    Column("seller_reply", String(10)),
    Column("appeals_used", Integer, nullable=False),
    Column("return_carrier", String(100)),
    Column("return_tracking", String(100)),
    Column("return_shipped_at", UtcDateTime),
    Column("return_delivered_at", UtcDateTime),
    Column("return_condition", String(20)),
    Column("reship_carrier", String(100)),
    Column("reship_tracking", String(100)),
    Column("outcome", String(20)),
    Column("refunded_amount", Id, nullable=False),
    Column("closed_at", UtcDateTime),
    Index("ix_disputes_due_at_id", "due_at", "id"),  # the sweeper's claim, in order (0019)
    Index("ix_disputes_state_deadline_at", "state", "deadline_at"),
    Index("ix_disputes_state_escalated_at", "state", "escalated_at"),
)

timeline = Table(
    "timeline", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dispute_id", Id, ForeignKey("disputes.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(20), nullable=False),
    Column("actor_id", Id),
    Column("action", String(40), nullable=False),
    Column("from_state", String(30), nullable=False),
    Column("to_state", String(30), nullable=False),
    Column("deadline", String(40)),
    Column("deadline_at", UtcDateTime),
    Column("details", Json, nullable=False),
)

refunds = Table(
    "refunds", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dispute_id", Id, ForeignKey("disputes.id"), index=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False, index=True),
    Column("line_id", Id, ForeignKey("order_lines.id")),
    Column("buyer_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("amount", Id, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payment_method", String(40), nullable=False),
    Column("destination", String(20), nullable=False),  # original_method | platform_balance (R31)
    Column("reason", String(40), nullable=False),
    Column("idempotency_key", String(80), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expected_earliest", Date),  # R20, business days of the buyer's country
    Column("expected_latest", Date),
    # The provider's side; balances and "settled" come from the ledger, these are deadlines.
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("next_attempt_at", UtcDateTime),  # when to (re)submit to the provider; NULL once done
    Column("provider_ref", String(100)),
    Column("settles_at", UtcDateTime),  # when the provider settles; NULL once settled
    Column("claimed_until", UtcDateTime),  # a sweeper is submitting it until then (wall clock); 0018
    # The sweeper's claims, earliest first, read in order from the index (0019).
    Index("ix_refunds_next_attempt_at_id", "next_attempt_at", "id"),
    Index("ix_refunds_settles_at_id", "settles_at", "id"),
)

journal_entries = Table(
    "journal_entries", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(30), nullable=False),
    Column("order_id", Id, ForeignKey("orders.id"), index=True),
    Column("line_id", Id, ForeignKey("order_lines.id"), index=True),
    Column("dispute_id", Id, ForeignKey("disputes.id")),
    Column("refund_id", Id, ForeignKey("refunds.id"), index=True),
    Column("memo", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # R1: a line is paid out once; a refund is issued once and settled once.
    Index("uq_journal_payout_per_line", "line_id", unique=True,
          postgresql_where=text("kind = 'payout'"), sqlite_where=text("kind = 'payout'")),
    Index("uq_journal_refund_kind", "refund_id", "kind", unique=True,
          postgresql_where=text("refund_id IS NOT NULL"), sqlite_where=text("refund_id IS NOT NULL")),
)

postings = Table(
    "postings", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("entry_id", Id, ForeignKey("journal_entries.id"), nullable=False, index=True),
    Column("account", String(80), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", Id, nullable=False),
    Index("ix_postings_account", "account", "currency"),
)

# One row per account and currency: the sum of its postings, kept in the same transaction
# as each posting so a balance is read in one row however long the history grows.
# The postings stay the truth; ``ombuds ledger check`` proves every row equals their sum.
# No row means a balance of 0 (a movement that nets to zero writes nothing).
account_balances = Table(
    "account_balances", metadata,
    Column("account", String(80), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("balance", Id, nullable=False),
)

payouts = Table(
    "payouts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False, index=True),
    # R1: a line is paid out to the seller once.
    Column("line_id", Id, ForeignKey("order_lines.id"), nullable=False, unique=True),
    Column("seller_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("amount", Id, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("type", String(60), nullable=False),
    Column("aggregate", String(20), nullable=False),
    Column("aggregate_id", Id, nullable=False),
    Column("payload", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("dispatched_at", UtcDateTime),
    Index("ix_outbox_undispatched", "id", postgresql_where=text("dispatched_at IS NULL"),
          sqlite_where=text("dispatched_at IS NULL")),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("principal", String(80), nullable=False),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer),
    Column("response_body", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("response_headers", Json),  # content-type, ETag, Location of the answer (migration 0015)
    UniqueConstraint("principal", "key"),
    Index("ix_idempotency_keys_created_at", "created_at"),  # kept 24 h (R35)
)

clock = Table(
    "clock", metadata,
    Column("id", Integer, primary_key=True),
    Column("now", UtcDateTime, nullable=False),
)
