"""Notification tables: e-mail messages (and the local mailbox), webhook endpoints and
their deliveries. Rows here are created from the outbox by the dispatcher.

A delivery's life is data: ``next_attempt_at`` is when it is due (the service's clock,
so a manual clock moves retries too); ``claimed_until`` is a lease in real time that a
dispatcher holds while it sends, so a dispatcher that dies mid-batch loses its claims
when the lease runs out and another one sends again (at least once, same event id).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from ombuds.store.tables import metadata
from ombuds.store.types import Id, Json, UtcDateTime

# status: local (kept in the mailbox, no SMTP configured) | pending | sent | failed
mail_messages = Table(
    "mail_messages", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, nullable=False),  # the outbox row that caused it
    Column("event_type", String(60), nullable=False),
    Column("aggregate", String(20), nullable=False),
    Column("aggregate_id", Id, nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("to_address", String(320), nullable=False),
    Column("to_name", String(200), nullable=False),
    Column("language", String(8), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("text_body", Text, nullable=False),
    Column("html_body", Text, nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("claimed_until", UtcDateTime),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    UniqueConstraint("event_id", "user_id"),  # one message per person per event, ever
    Index("ix_mail_messages_status_next_attempt_at", "status", "next_attempt_at"),
)

webhook_endpoints = Table(
    "webhook_endpoints", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("url", String(2000), nullable=False),
    Column("event_types", Json, nullable=False),  # ["dispute.opened", "order.*", "*"]
    Column("description", String(500), nullable=False),
    Column("secret", String(100), nullable=False),  # whsec_<base64>, shown once at creation
    Column("enabled", Boolean, nullable=False),
    Column("consecutive_failures", Integer, nullable=False),
    Column("disabled_at", UtcDateTime),
    Column("disabled_reason", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("deleted_at", UtcDateTime),
)

# status: pending | succeeded | failed (gave up, or the endpoint was disabled or deleted)
webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("endpoint_id", Id, ForeignKey("webhook_endpoints.id"), nullable=False, index=True),
    Column("event_id", Id, nullable=False),
    Column("event_type", String(60), nullable=False),
    Column("body", Text, nullable=False),  # the exact JSON sent on every attempt
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("claimed_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    UniqueConstraint("endpoint_id", "event_id"),
    Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)

# One row per try: the delivery log an operator reads over the API.
webhook_attempts = Table(
    "webhook_attempts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("delivery_id", Id, ForeignKey("webhook_deliveries.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("attempted_at", UtcDateTime, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("response_body", Text),
    Column("next_attempt_at", UtcDateTime),  # when the next try was scheduled, if any
)

# Whether an idle worker is waiting to be woken (PostgreSQL's LISTEN/NOTIFY, ombuds.store.notify).
# The triggers of migration 0009 notify only while ``waiting_until`` is in the future: a busy
# worker finds new work by itself, and a NOTIFY is not free (it serialises commits). The time
# is PostgreSQL's own, so a worker that died while waiting stops being notified by itself.
worker_wakeups = Table(
    "worker_wakeups", metadata,
    Column("channel", String(40), primary_key=True),
    Column("waiting_until", UtcDateTime),
)
