"""conversations and evidence: order messages (R4), staff notes (R32), evidence (R10, R22)

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = '0003'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "order_messages",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("author_id", Id, nullable=True),
        sa.Column("author_role", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_messages_order_id_orders")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_order_messages_author_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_messages")),
    )
    op.create_index("ix_order_messages_order_id_id", "order_messages", ["order_id", "id"])

    op.create_table(
        "dispute_notes",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("dispute_id", Id, nullable=False),
        sa.Column("author_id", Id, nullable=True),
        sa.Column("author_role", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"], name=op.f("fk_dispute_notes_dispute_id_disputes")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_dispute_notes_author_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_notes")),
    )
    op.create_index("ix_dispute_notes_dispute_id_id", "dispute_notes", ["dispute_id", "id"])

    op.create_table(
        "evidence",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("dispute_id", Id, nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("buyer_id", Id, nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("uploader_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("size", Id, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("served_sha256", sa.String(length=64), nullable=False),
        sa.Column("served_media_type", sa.String(length=40), nullable=False),
        sa.Column("thumbnail_sha256", sa.String(length=64), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("captured_at", sa.String(length=32), nullable=True),
        sa.Column("gps_removed", sa.Boolean(), nullable=False),
        sa.Column("phash", sa.String(length=16), nullable=True),
        sa.Column("phash_band0", sa.Integer(), nullable=True),
        sa.Column("phash_band1", sa.Integer(), nullable=True),
        sa.Column("phash_band2", sa.Integer(), nullable=True),
        sa.Column("phash_band3", sa.Integer(), nullable=True),
        sa.Column("reuse", Json, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"], name=op.f("fk_evidence_dispute_id_disputes")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_evidence_order_id_orders")),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"], name=op.f("fk_evidence_buyer_id_users")),
        sa.ForeignKeyConstraint(["uploader_id"], ["users.id"], name=op.f("fk_evidence_uploader_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    op.create_index("ix_evidence_dispute_id_side", "evidence", ["dispute_id", "side"])
    op.create_index("ix_evidence_sha256", "evidence", ["sha256"])
    for band in range(4):
        op.create_index(f"ix_evidence_phash_band{band}", "evidence", [f"phash_band{band}"])


def downgrade() -> None:
    op.drop_table("evidence")
    op.drop_table("dispute_notes")
    op.drop_table("order_messages")
