"""Stripe Connect (R39): provider events, payout transfers, chargebacks; payment and payout refs

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("payment_ref", sa.String(length=255), nullable=True))
    op.create_index("ix_orders_payment_ref", "orders", ["payment_ref"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("payout_account", sa.String(length=255), nullable=True))
    op.create_table(
        "provider_events",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("object_id", sa.String(length=100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_events")),
    )
    op.create_table(
        "payout_transfers",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("line_id", Id, nullable=False),
        sa.Column("payout_id", Id, nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("seller_id", Id, nullable=False),
        sa.Column("destination", sa.String(length=255), nullable=False),
        sa.Column("amount", Id, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider_ref", sa.String(length=100), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_amount", Id, server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["order_lines.id"], name=op.f("fk_payout_transfers_line_id_order_lines")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_payout_transfers_order_id_orders")),
        sa.ForeignKeyConstraint(["payout_id"], ["payouts.id"], name=op.f("fk_payout_transfers_payout_id_payouts")),
        sa.ForeignKeyConstraint(["seller_id"], ["users.id"], name=op.f("fk_payout_transfers_seller_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_transfers")),
        sa.UniqueConstraint("line_id", name=op.f("uq_payout_transfers_line_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payout_transfers_idempotency_key")),
        sa.UniqueConstraint("provider_ref", name=op.f("uq_payout_transfers_provider_ref")),
    )
    op.create_index("ix_payout_transfers_order_id", "payout_transfers", ["order_id"])
    op.create_index("ix_payout_transfers_payout_id", "payout_transfers", ["payout_id"])
    op.create_index("ix_payout_transfers_seller_id", "payout_transfers", ["seller_id"])
    op.create_index("ix_payout_transfers_next_attempt_at", "payout_transfers", ["next_attempt_at"])
    op.create_table(
        "chargebacks",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("provider_ref", sa.String(length=100), nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("charge_ref", sa.String(length=255), nullable=False),
        sa.Column("amount", Id, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("line_ids", Json, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_chargebacks_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chargebacks")),
        sa.UniqueConstraint("provider_ref", name=op.f("uq_chargebacks_provider_ref")),
    )
    op.create_index("ix_chargebacks_order_id", "chargebacks", ["order_id"])


def downgrade() -> None:
    op.drop_table("chargebacks")
    op.drop_table("payout_transfers")
    op.drop_table("provider_events")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("payout_account")
    op.drop_index("ix_orders_payment_ref", "orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("payment_ref")
