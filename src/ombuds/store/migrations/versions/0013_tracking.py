"""carrier tracking (R40): parcel checkpoints, tracking-number indexes, returned to sender

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "parcel_checkpoints",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("parcel_key", sa.String(length=40), nullable=False),
        sa.Column("parcel", sa.String(length=10), nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("dispute_id", Id, nullable=True),
        sa.Column("tracking_number", sa.String(length=100), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_parcel_checkpoints_order_id_orders")),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"],
                                name=op.f("fk_parcel_checkpoints_dispute_id_disputes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcel_checkpoints")),
        sa.UniqueConstraint("parcel_key", "occurred_at", "status",
                            name=op.f("uq_parcel_checkpoints_parcel_key_occurred_at_status")),
    )
    op.create_index("ix_parcel_checkpoints_order_id", "parcel_checkpoints", ["order_id"])
    op.create_index("ix_parcel_checkpoints_dispute_id", "parcel_checkpoints", ["dispute_id"])
    op.create_index("ix_parcel_checkpoints_event_id", "parcel_checkpoints", ["event_id"])
    op.create_index("ix_orders_tracking_number", "orders", ["tracking_number"])
    op.create_index("ix_disputes_return_tracking", "disputes", ["return_tracking"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("returned_to_sender_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("returned_to_sender_at")
    op.drop_index("ix_disputes_return_tracking", "disputes")
    op.drop_index("ix_orders_tracking_number", "orders")
    op.drop_table("parcel_checkpoints")
