"""Seeds a small marketplace for the demo: people, and orders in every state.

The manual clock starts 80 days in the past and is advanced through the story, so the
timers that fire on the way (protection ends, windows close, escalation) are real ones.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ombuds.adapters.clock import wall_now
from ombuds.bootstrap import build_ombuds
from ombuds.domain import commands as c
from ombuds.domain.disputes import Reason, Resolution
from ombuds.domain.lifecycle import Action
from ombuds.domain.tracking import Checkpoint, ParcelStatus
from ombuds.services import clock, disputes, orders, protection_requests, tracking
from ombuds.services.accounts import set_demo_passwords
from ombuds.services.context import PLATFORM, Caller
from ombuds.services.orders import NewLine
from ombuds.services.users import create_user
from ombuds.settings import Settings
from ombuds.store.tables import users

PEOPLE = [
    ("Anna Petrova", "anna@example.ru", "buyer", "RU", "ru"),
    ("Ben Carter", "ben@example.com", "buyer", "US", "en"),
    ("Shenzhen Star Store", "star@example.cn", "seller", "CN", "en"),
    ("Berlin Bits", "bits@example.de", "seller", "DE", "en"),
    ("Mara Quinn", "mara@ombuds.example", "arbitrator", "GB", "en"),
]


async def seed(settings: Settings) -> list[dict]:
    start = (wall_now() - timedelta(days=80)).replace(hour=9, minute=0, second=0, microsecond=0)
    app = build_ombuds(settings.model_copy(update={"clock_start": start}))
    try:
        async with app.engine.connect() as conn:
            existing = (await conn.execute(select(users))).all()
        if existing:  # seeded before: keep it as it is
            return [{"id": u.id, "name": u.name, "role": u.role, "email": u.email,
                     "token": f"demo-{u.email.split('@')[0]}"} for u in existing]
        await app.clock.set(start)
        people = []
        for name, email, role, country, language in PEOPLE:
            # R39: sellers have a (demo) Stripe connected account for their payouts
            account = f"acct_1Demo{email.split('@')[0].title()}" if role == "seller" else None
            user, token = await create_user(app, name=name, email=email, role=role, country=country,
                                            language=language, token=f"demo-{email.split('@')[0]}",
                                            payout_account=account)
            people.append({**user, "token": token})
        await _story(app, {p["email"].split("@")[0]: p["id"] for p in people})
        await set_demo_passwords(app)  # every demo user signs in to the pages with "demo"
        return people
    finally:
        await app.engine.dispose()


async def _story(app, ids: dict[str, int]) -> None:
    anna, ben, star, bits = (Caller("buyer", ids["anna"]), Caller("buyer", ids["ben"]),
                             Caller("seller", ids["star"]), Caller("seller", ids["bits"]))

    paid = iter(range(1, 100))

    async def order(buyer, seller, lines, method="visa", currency="USD"):
        # R39: each order names its (demo) PaymentIntent, as the marketplace's checkout would
        return await orders.create_order(app, caller=PLATFORM, buyer_id=buyer.user_id,
                                         seller_id=seller.user_id, currency=currency,
                                         payment_method=method, payment_ref=f"pi_3Demo{next(paid):04d}",
                                         lines=[NewLine(t, p, q) for t, p, q in lines])

    async def ship(o, seller, tracking):
        await orders.ship(app, caller=seller, order_id=o.id, carrier="China Post", tracking_number=tracking)

    async def later(days):
        await clock.advance(app, timedelta(days=days))

    # Day 0: an order that completes and closes (R6 window runs out).
    old = await order(ben, bits, [("USB-C cable, 2 m", 899, 2)], "mastercard", "EUR")
    await ship(old, bits, "DE000111222")
    # An order with a dispute that the seller ignores: refund by silence (R12).
    silent = await order(ben, star, [("Bluetooth earbuds", 2499, 1)])
    await ship(silent, star, "LP00123456789CN")
    await later(3)
    await orders.confirm_receipt(app, caller=ben, order_id=old.id)
    await later(9)
    await disputes.open_dispute(app, caller=ben, cmd=c.OpenDispute(
        silent.id, silent.lines[0].id, False, Reason.not_received,
        description="The tracking has not moved for 12 days and nothing arrived."))
    await later(40)
    # Day 52: a negotiation that the platform escalates by itself (R14).
    lamp = await order(ben, star, [("Desk lamp", 3900, 1)])
    await ship(lamp, star, "LP00987654321CN")
    await later(10)
    d = await disputes.open_dispute(app, caller=ben, cmd=c.OpenDispute(
        lamp.id, lamp.lines[0].id, True, Reason.damaged, Resolution.refund_only, 3900, None,
        "The lamp arrived with a cracked base; photos attached."))
    assert d.id is not None  # a stored dispute has its id
    await disputes.act(app, caller=star, dispute_id=d.id, action=Action.propose,
                       cmd=c.Propose(Resolution.refund_only, 1000, "We can refund 10 USD."))
    await disputes.act(app, caller=ben, dispute_id=d.id, action=Action.reject,
                       cmd=c.Say("10 USD does not cover a broken lamp."))
    await later(8)
    # Day 70: the seed's story starts — two dresses and a phone case, paid by Visa.
    story = await order(anna, star, [("Summer dress, blue, M", 1850, 1), ("Summer dress, red, M", 1850, 1),
                                     ("Phone case", 650, 1)])
    await ship(story, star, "LP00555666777CN")
    # Orders not shipped yet, and one cancelled before shipping.
    await order(anna, star, [("Silk scarf", 1500, 1)], "qiwi", "RUB")
    cancelled = await order(ben, bits, [("Notebook", 700, 2)], "webmoney", "EUR")
    await orders.cancel(app, caller=ben, order_id=cancelled.id)
    await later(7)
    await _carrier(app, "LP00555666777CN", story.created_at, [
        (1, "in_transit", "Shenzhen, CN", "Departed the sorting centre"),
        (4, "in_transit", "Moscow, RU", "Arrived in the country of destination"),
        (6, "out_for_delivery", "Moscow, RU", "With the courier"),
        (6.3, "delivered", "Moscow, RU", "Delivered to the recipient")])
    # A dispute still waiting for the seller, and one in negotiation.
    shoes = await order(anna, bits, [("Running shoes, 39", 5400, 1)], "bank_transfer", "EUR")
    await ship(shoes, bits, "DE000333444")
    await later(1)
    await disputes.open_dispute(app, caller=anna, cmd=c.OpenDispute(
        shoes.id, shoes.lines[0].id, True, Reason.wrong_item, Resolution.return_and_refund, None, None,
        "I ordered size 39 and received size 42."))
    await _carrier(app, "DE000333444", shoes.created_at, [(0.5, "in_transit", "Berlin, DE", "Accepted")])
    mug = await order(ben, bits, [("Enamel mug", 1200, 3)], "maestro", "EUR")
    await ship(mug, bits, "DE000555666")
    await later(1)
    m = await disputes.open_dispute(app, caller=ben, cmd=c.OpenDispute(
        mug.id, mug.lines[0].id, True, Reason.missing_items, Resolution.refund_only, 1200, 1,
        "Only two of the three mugs were in the parcel."))
    assert m.id is not None
    await disputes.act(app, caller=bits, dispute_id=m.id, action=Action.propose,
                       cmd=c.Propose(Resolution.refund_only, 600, "Half the price of one mug?"))
    # R38: a buyer asks for more protection while the parcel waits at customs.
    tripod = await order(ben, star, [("Phone tripod", 1599, 1)])
    await ship(tripod, star, "LP00777888999CN")
    await protection_requests.ask(app, caller=ben, order_id=tripod.id, days_wanted=20, reason=(
        "The tracking says the parcel has been held at customs for a week. Could you give me 20 more days?"))


async def _carrier(app, tracking_number: str, shipped_at, steps) -> None:
    """R40: what a carrier's feed would have said about a parcel, as checkpoints."""
    for days, status, place, message in steps:
        await tracking.record(app, event_id=f"demo:{tracking_number}:{days}", source="demo", checkpoints=[
            Checkpoint(tracking_number, ParcelStatus(status), shipped_at + timedelta(days=days), place, message)])
