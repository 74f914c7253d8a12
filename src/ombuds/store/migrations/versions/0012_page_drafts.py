"""what was typed into a form whose session had ended

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "page_drafts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=500), nullable=False),
        sa.Column("back", sa.String(length=500), nullable=False),
        sa.Column("user_id", Id, nullable=True),
        sa.Column("fields", Json, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_drafts")),
    )


def downgrade() -> None:
    op.drop_table("page_drafts")
