"""A marketplace big enough to load: people, shipped orders and (for the sweeper) due disputes.

One order and one dispute are made by the real services, so every column holds what the
domain writes; the rest are copies of those template rows made by set-based SQL (seconds
instead of minutes), each copy on its own order line, buyer and seller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from ombuds.bootstrap import build_ombuds
from ombuds.domain import commands as c
from ombuds.domain.disputes import Reason, Resolution
from ombuds.services import disputes, orders
from ombuds.services.context import PLATFORM, Caller, Ombuds
from ombuds.services.sweeper import sweep
from ombuds.services.users import create_user
from ombuds.settings import Settings
from ombuds.store import tables as t
from ombuds.store.migrate import upgrade

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the manual clock's start; orders ship then
MARKETPLACE_KEY = "bench-marketplace-key"
UNIT_PRICE = 1850  # every line the same, so a copied dispute's amounts stay true to its line
DESCRIPTION = "One item is missing from the parcel."


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, clock="manual", clock_start=T0, marketplace_key=MARKETPLACE_KEY,
                    worker_in_process=False, policy_file=None)


def server_env(url: str) -> dict[str, str]:
    """What ``ombuds serve`` reads for the same database and clock."""
    return {"OMBUDS_DATABASE_URL": url, "OMBUDS_CLOCK": "manual", "OMBUDS_CLOCK_START": T0.isoformat(),
            "OMBUDS_MARKETPLACE_KEY": MARKETPLACE_KEY, "OMBUDS_WORKER_IN_PROCESS": "false"}


@dataclass
class Market:
    buyer_tokens: dict[int, str]  # buyer id → API token
    lines: list[tuple[int, int, int]]  # (buyer id, order id, line id), one order after another


def _copy_columns(table, *, replaced: set[str]) -> list[str]:
    return [col.name for col in table.columns if col.name != "id" and col.name not in replaced]


async def seed_market(app: Ombuds, *, lines: int, lines_per_order: int = 4, buyers: int = 200,
                      sellers: int = 20) -> Market:
    """Shipped orders with ``lines`` lines in all, none disputed, over many buyers and sellers.

    ``Market.lines`` is ordered by line position, then order: consecutive requests open
    disputes on different orders, so concurrent requests do not race for one order's version.
    """
    tokens: dict[int, str] = {}
    seller_ids: list[int] = []
    for i in range(buyers):
        user, token = await create_user(app, name=f"Bench buyer {i}", email=f"buyer{i}@bench.test",
                                        role="buyer", country="RU")
        tokens[user["id"]] = token
    for i in range(sellers):
        user, _ = await create_user(app, name=f"Bench seller {i}", email=f"seller{i}@bench.test",
                                    role="seller", country="CN")
        seller_ids.append(user["id"])
    buyer_ids = list(tokens)
    template = await orders.create_order(
        app, caller=PLATFORM, buyer_id=buyer_ids[0], seller_id=seller_ids[0], currency="USD",
        payment_method="visa", lines=[orders.NewLine(f"Item {i + 1}", UNIT_PRICE, 1)
                                      for i in range(lines_per_order)])
    await orders.ship(app, caller=PLATFORM, order_id=template.id, carrier="China Post",
                      tracking_number="LP000000000CN")
    n_orders = -(-lines // lines_per_order)
    order_cols = _copy_columns(t.orders, replaced={"buyer_id", "seller_id", "tracking_number"})
    line_cols = _copy_columns(t.order_lines, replaced={"order_id"})
    async with app.engine.begin() as conn:
        await conn.execute(text(
            f"INSERT INTO orders (buyer_id, seller_id, tracking_number, {', '.join(order_cols)}) "
            f"SELECT (CAST(:buyers AS bigint[]))[1 + g % :nb], (CAST(:sellers AS bigint[]))[1 + g % :ns], "
            f"'LP' || lpad(g::text, 9, '0') || 'CN', {', '.join('o.' + c for c in order_cols)} "
            "FROM orders o, generate_series(1, :n - 1) g WHERE o.id = :tpl ORDER BY g"),
            {"buyers": buyer_ids, "nb": len(buyer_ids), "sellers": seller_ids, "ns": len(seller_ids),
             "n": n_orders, "tpl": template.id})
        await conn.execute(text(
            f"INSERT INTO order_lines (order_id, {', '.join(line_cols)}) "
            f"SELECT o.id, {', '.join('l.' + c for c in line_cols)} FROM orders o "
            "JOIN order_lines l ON l.order_id = :tpl WHERE o.id <> :tpl ORDER BY o.id, l.position"),
            {"tpl": template.id})
        rows = (await conn.execute(text(
            "SELECT o.buyer_id, o.id, l.id FROM order_lines l JOIN orders o ON o.id = l.order_id "
            "ORDER BY l.position, o.id"))).all()
    return Market(buyer_tokens=tokens, lines=[tuple(r) for r in rows[:lines]])


async def seed_due_disputes(app: Ombuds, market: Market) -> datetime:
    """A dispute awaiting the seller on every line, all opened at ``T0``; returns their deadline.

    The template is swept up to just before its deadline first, so that whatever the
    sweeper does ahead of a deadline (a reminder, R28) is already done and copied: the
    benchmark's sweep then applies deadlines only.
    """
    buyer_id, order_id, line_id = market.lines[0]
    template = await disputes.open_dispute(
        app, caller=Caller("buyer", buyer_id),
        cmd=c.OpenDispute(order_id=order_id, line_id=line_id, received=True, reason=Reason.missing_items,
                          resolution=Resolution.refund_only, description=DESCRIPTION))
    await sweep(app, until=template.deadline_at - timedelta(seconds=1))
    dispute_cols = _copy_columns(t.disputes, replaced={"order_id", "line_id", "buyer_id", "seller_id"})
    timeline_cols = _copy_columns(t.timeline, replaced={"dispute_id", "actor_id"})
    outbox_cols = _copy_columns(t.outbox, replaced={"aggregate_id", "payload"})
    async with app.engine.begin() as conn:
        await conn.execute(text(
            f"INSERT INTO disputes (order_id, line_id, buyer_id, seller_id, {', '.join(dispute_cols)}) "
            f"SELECT o.id, l.id, o.buyer_id, o.seller_id, {', '.join('d.' + c for c in dispute_cols)} "
            "FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN disputes d ON d.id = :tpl "
            "WHERE l.id <> d.line_id ORDER BY l.id"), {"tpl": template.id})
        # The opening's timeline entry and outbox row, as the service writes them.
        await conn.execute(text(
            f"INSERT INTO timeline (dispute_id, actor_id, {', '.join(timeline_cols)}) "
            f"SELECT d.id, d.buyer_id, {', '.join('e.' + c for c in timeline_cols)} FROM disputes d "
            "JOIN timeline e ON e.dispute_id = :tpl WHERE d.id <> :tpl ORDER BY d.id"), {"tpl": template.id})
        await conn.execute(text(
            f"INSERT INTO outbox (aggregate_id, payload, {', '.join(outbox_cols)}) "
            "SELECT d.id, e.payload || jsonb_build_object('dispute_id', d.id, 'order_id', d.order_id, "
            "'line_id', d.line_id, 'buyer_id', d.buyer_id, 'seller_id', d.seller_id), "
            f"{', '.join('e.' + c for c in outbox_cols)} FROM disputes d "
            "JOIN outbox e ON e.aggregate = 'dispute' AND e.aggregate_id = :tpl WHERE d.id <> :tpl "
            "ORDER BY d.id"), {"tpl": template.id})
    return template.deadline_at


async def migrated_market(url: str, **kw) -> tuple[Ombuds, Market]:
    """Migrate ``url`` and seed it; the caller disposes of ``app.engine``."""
    upgrade(url)
    app = build_ombuds(settings_for(url))
    await app.now()  # the manual clock's row, before any concurrent request needs it
    return app, await seed_market(app, **kw)
