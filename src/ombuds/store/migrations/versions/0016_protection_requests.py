"""the buyer asks for more protection (R38): requests and the seller's answers

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "protection_requests",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("buyer_id", Id, nullable=False),
        sa.Column("seller_id", Id, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("days_wanted", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("granted_days", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_protection_requests_order_id_orders")),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"], name=op.f("fk_protection_requests_buyer_id_users")),
        sa.ForeignKeyConstraint(["seller_id"], ["users.id"], name=op.f("fk_protection_requests_seller_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protection_requests")),
    )
    op.create_index("ix_protection_requests_order_id", "protection_requests", ["order_id"])
    op.create_index("ix_protection_requests_seller_id_state", "protection_requests", ["seller_id", "state"])
    op.create_index("uq_protection_requests_open_order_id", "protection_requests", ["order_id"], unique=True,
                    postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'"))


def downgrade() -> None:
    op.drop_index("uq_protection_requests_open_order_id", table_name="protection_requests")
    op.drop_index("ix_protection_requests_seller_id_state", table_name="protection_requests")
    op.drop_index("ix_protection_requests_order_id", table_name="protection_requests")
    op.drop_table("protection_requests")
