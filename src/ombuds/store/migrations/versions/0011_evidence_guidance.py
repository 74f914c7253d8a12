"""what evidence shows (R37) and files waiting on the dispute form (R10)

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("shows", sa.String(length=40), nullable=True))
    op.create_table(
        "evidence_uploads",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("line_id", Id, nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", Id, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_evidence_uploads_user_id_users")),
        sa.ForeignKeyConstraint(["line_id"], ["order_lines.id"], name=op.f("fk_evidence_uploads_line_id_order_lines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_uploads")),
    )
    op.create_index("ix_evidence_uploads_user_id_line_id", "evidence_uploads", ["user_id", "line_id"])
    op.create_index("ix_evidence_uploads_sha256", "evidence_uploads", ["sha256"])


def downgrade() -> None:
    op.drop_table("evidence_uploads")
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("shows")
