"""a sweeper's claim reads its batch from the index, however many rows are due

Revision ID: 0019
Revises: 0018
"""
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# A claim takes the earliest due rows, ``ORDER BY <deadline>, id LIMIT <batch>``. With the
# deadline alone indexed, rows due at the same instant (a clock advanced past many deadlines)
# came out of the index unsorted by id, so every batch read and sorted every row still due: a
# sweep of N due rows read about N²/(2 × batch) rows. With (deadline, id) a batch reads its rows
# from the index in order and stops. The new indexes serve every look-up the old ones did.
INDEXES = [  # (table, old index, column)
    ("disputes", "ix_disputes_due_at", "due_at"),
    ("orders", "ix_orders_deadline_at", "deadline_at"),
    ("refunds", "ix_refunds_next_attempt_at", "next_attempt_at"),
    ("refunds", "ix_refunds_settles_at", "settles_at"),
]


def upgrade() -> None:
    for table, old, column in INDEXES:
        op.create_index(f"{old}_id", table, [column, "id"])
        op.drop_index(old, table_name=table)


def downgrade() -> None:
    for table, old, column in INDEXES:
        op.create_index(old, table, [column])
        op.drop_index(f"{old}_id", table_name=table)
