"""sweeps in sets: rows set aside by the sweeper with their error; a refund's submission lease

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sweep_set_aside",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("row_id", Id, nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("set_aside_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "row_id", name="pk_sweep_set_aside"),
    )
    with op.batch_alter_table("refunds") as batch:
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("claimed_until")
    op.drop_table("sweep_set_aside")
