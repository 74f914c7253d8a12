"""running balances: one row per account and currency, filled from the postings so far

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_balances",
        sa.Column("account", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("account", "currency", name=op.f("pk_account_balances")),
    )
    # The history so far: every account's balance is the sum of its postings.
    op.execute("INSERT INTO account_balances (account, currency, balance) "
               "SELECT account, currency, SUM(amount) FROM postings GROUP BY account, currency")


def downgrade() -> None:
    op.drop_table("account_balances")
