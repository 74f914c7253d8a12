"""a person's order list, newest first, reads one page whatever the number of orders

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (buyer_id, id) and (seller_id, id) serve the lists (WHERE buyer_id = … ORDER BY id DESC
    # LIMIT 50) from the index's end, and every look-up by buyer or seller, as the
    # single-column indexes they replace did.
    op.create_index("ix_orders_buyer_id_id", "orders", ["buyer_id", "id"])
    op.create_index("ix_orders_seller_id_id", "orders", ["seller_id", "id"])
    op.drop_index("ix_orders_buyer_id", table_name="orders")
    op.drop_index("ix_orders_seller_id", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_seller_id", "orders", ["seller_id"])
    op.create_index("ix_orders_buyer_id", "orders", ["buyer_id"])
    op.drop_index("ix_orders_seller_id_id", table_name="orders")
    op.drop_index("ix_orders_buyer_id_id", table_name="orders")
