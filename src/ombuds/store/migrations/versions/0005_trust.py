"""trust: seller penalties and flags (R21), complaints (R24), staff alerts (R15)

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
When = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("buyer_id", Id, nullable=False),
        sa.Column("seller_id", Id, nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("line_id", Id, nullable=True),
        sa.Column("about", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("opened_at", When, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_entered_at", When, nullable=False),
        sa.Column("deadline", sa.String(length=40), nullable=True),
        sa.Column("deadline_at", When, nullable=True),
        sa.Column("reminder_at", When, nullable=True),
        sa.Column("reminded_deadline_at", When, nullable=True),
        sa.Column("due_at", When, nullable=True),
        sa.Column("overdue_since", When, nullable=True),
        sa.Column("answered_at", When, nullable=True),
        sa.Column("answered_by", Id, nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("goodwill_amount", Id, nullable=True),
        sa.Column("goodwill_refund_id", Id, nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("closed_at", When, nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _fk("complaints", "buyer_id", "users"),
        _fk("complaints", "seller_id", "users"),
        _fk("complaints", "order_id", "orders"),
        _fk("complaints", "line_id", "order_lines"),
        _fk("complaints", "answered_by", "users"),
        _fk("complaints", "goodwill_refund_id", "refunds"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    op.create_index("ix_complaints_buyer_id", "complaints", ["buyer_id"])
    op.create_index("ix_complaints_seller_id", "complaints", ["seller_id"])
    op.create_index("ix_complaints_order_id", "complaints", ["order_id"])
    op.create_index("ix_complaints_due_at", "complaints", ["due_at"])
    op.create_index("ix_complaints_state_deadline_at", "complaints", ["state", "deadline_at"])

    op.create_table(
        "complaint_timeline",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("complaint_id", Id, nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("actor", sa.String(length=20), nullable=False),
        sa.Column("actor_id", Id, nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=False),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("deadline", sa.String(length=40), nullable=True),
        sa.Column("deadline_at", When, nullable=True),
        sa.Column("details", Json, nullable=False),
        _fk("complaint_timeline", "complaint_id", "complaints"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_timeline")),
    )
    op.create_index("ix_complaint_timeline_complaint_id", "complaint_timeline", ["complaint_id"])

    op.create_table(
        "seller_penalties",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("seller_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_id", Id, nullable=True),
        sa.Column("by_role", sa.String(length=20), nullable=False),
        sa.Column("dispute_id", Id, nullable=True),
        sa.Column("complaint_id", Id, nullable=True),
        sa.Column("created_at", When, nullable=False),
        _fk("seller_penalties", "seller_id", "users"),
        _fk("seller_penalties", "by_id", "users"),
        _fk("seller_penalties", "dispute_id", "disputes"),
        _fk("seller_penalties", "complaint_id", "complaints"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_penalties")),
    )
    op.create_index("ix_seller_penalties_seller_id_id", "seller_penalties", ["seller_id", "id"])

    op.create_table(
        "seller_flags",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("seller_id", Id, nullable=False),
        sa.Column("raised_at", When, nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("lost_orders", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.String(length=20), nullable=False),
        sa.Column("cleared_at", When, nullable=True),
        sa.Column("cleared_orders", sa.Integer(), nullable=True),
        sa.Column("cleared_lost_orders", sa.Integer(), nullable=True),
        _fk("seller_flags", "seller_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_flags")),
    )
    op.create_index("ix_seller_flags_seller_id", "seller_flags", ["seller_id"])
    op.create_index("uq_seller_flags_open", "seller_flags", ["seller_id"], unique=True,
                    postgresql_where=sa.text("cleared_at IS NULL"),
                    sqlite_where=sa.text("cleared_at IS NULL"))

    op.create_table(
        "staff_alerts",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("subject_id", Id, nullable=False),
        sa.Column("round_at", When, nullable=False),
        sa.Column("details", Json, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_alerts")),
        sa.UniqueConstraint("kind", "subject_id", "round_at",
                            name=op.f("uq_staff_alerts_kind_subject_id_round_at")),
    )

    state = op.create_table(
        "trust_sweep_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("next_flag_check_at", When, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_sweep_state")),
    )
    # The one row exists from the start, so concurrent sweepers only ever lock it.
    op.bulk_insert(state, [{"id": 1, "next_flag_check_at": None}])


def downgrade() -> None:
    op.drop_table("trust_sweep_state")
    op.drop_table("staff_alerts")
    op.drop_table("seller_flags")
    op.drop_table("seller_penalties")
    op.drop_table("complaint_timeline")
    op.drop_table("complaints")
