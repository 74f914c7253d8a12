"""wake-ups for idle workers: LISTEN/NOTIFY triggers on PostgreSQL (SQLite keeps polling)

Every committed transaction that writes an outbox row, makes a row due within a minute
(a dispute's or complaint's ``due_at``, an order's ``deadline_at``, a refund to submit or
settle, an e-mail or webhook delivery to send) or moves the manual clock sends one
``NOTIFY ombuds_wake`` — but only while a worker is waiting (``worker_wakeups``), so that
writers under load, when every worker is busy anyway, pay nothing for it. "Within a
minute" is counted on the service's clock: the manual clock's row when there is one, else
PostgreSQL's ``now()``.

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHANNEL = "ombuds_wake"
# (table, trigger name, the columns that make a row due, the condition that it is due soon)
DUE_SOON = [
    ("disputes", "disputes_due_soon", "due_at", "NEW.due_at <= ombuds_due_horizon()"),
    ("complaints", "complaints_due_soon", "due_at", "NEW.due_at <= ombuds_due_horizon()"),
    ("orders", "orders_due_soon", "deadline_at", "NEW.deadline_at <= ombuds_due_horizon()"),
    ("refunds", "refunds_due_soon", "next_attempt_at, settles_at",
     "NEW.next_attempt_at <= ombuds_due_horizon() OR NEW.settles_at <= ombuds_due_horizon()"),
    ("mail_messages", "mail_messages_due_soon", "status, next_attempt_at",
     "NEW.status = 'pending' AND NEW.next_attempt_at <= ombuds_due_horizon()"),
    ("webhook_deliveries", "webhook_deliveries_due_soon", "status, next_attempt_at",
     "NEW.status = 'pending' AND NEW.next_attempt_at <= ombuds_due_horizon()"),
]


def upgrade() -> None:
    op.create_table(
        "worker_wakeups",
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("waiting_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_worker_wakeups")),
    )
    op.execute(f"INSERT INTO worker_wakeups (channel) VALUES ('{CHANNEL}')")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
        CREATE FUNCTION ombuds_wake() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- Only while a worker waits: NOTIFY takes a lock at commit that serialises committers.
            IF EXISTS (SELECT 1 FROM worker_wakeups
                       WHERE channel = '{CHANNEL}' AND waiting_until > now()) THEN
                PERFORM pg_notify('{CHANNEL}', TG_ARGV[0]);
            END IF;
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE FUNCTION ombuds_due_horizon() RETURNS timestamptz LANGUAGE sql STABLE AS $$
            SELECT coalesce((SELECT "now" FROM clock WHERE id = 1), now()) + interval '1 minute'
        $$""")
    op.execute("CREATE TRIGGER outbox_written AFTER INSERT ON outbox "
               "FOR EACH STATEMENT EXECUTE FUNCTION ombuds_wake('outbox')")
    op.execute("CREATE TRIGGER clock_moved AFTER UPDATE ON clock "
               "FOR EACH STATEMENT EXECUTE FUNCTION ombuds_wake('clock')")
    for table, name, columns, due_soon in DUE_SOON:
        op.execute(f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OF {columns} ON {table} "
                   f"FOR EACH ROW WHEN ({due_soon}) EXECUTE FUNCTION ombuds_wake('due')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, name, _, _ in DUE_SOON:
            op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute("DROP TRIGGER clock_moved ON clock")
        op.execute("DROP TRIGGER outbox_written ON outbox")
        op.execute("DROP FUNCTION ombuds_due_horizon()")
        op.execute("DROP FUNCTION ombuds_wake()")
    op.drop_table("worker_wakeups")
