"""Order use cases: create after checkout, ship, deliver, confirm, extend, cancel."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass

from ombuds.domain import engine, penalties
from ombuds.domain.errors import DomainError, Forbidden, NotFound, VersionMismatch
from ombuds.domain.money import check_currency
from ombuds.domain.orders import Order, OrderLine, OrderState
from ombuds.services import money
from ombuds.services.context import Caller, Ombuds
from ombuds.store import trust_repository
from ombuds.store.repository import MovedOn, Repository


@dataclass(frozen=True, slots=True)
class NewLine:
    title: str
    unit_price: int
    quantity: int


async def create_order(app: Ombuds, *, caller: Caller, buyer_id: int, seller_id: int, currency: str,
                       payment_method: str, lines: list[NewLine], external_ref: str | None = None,
                       payment_ref: str | None = None) -> Order:
    """The marketplace records a paid order; its money is held in escrow from now (R1)."""
    if not caller.is_platform:
        raise Forbidden("marketplace_only", "Only the marketplace records paid orders.")
    async with app.uow() as uow:  # one transaction: the clock, the seller's standing, the writes
        # R21: a suspended seller takes no new orders — checked before anything else
        penalties.refuse_new_order(penalties.standing(await trust_repository.latest_standing_record(
            uow.conn, seller_id)))
        _check_new_order(app, currency, payment_method, payment_ref, lines)
        now = await app.now()
        order = Order(id=None, buyer_id=buyer_id, seller_id=seller_id, currency=currency,
                      payment_method=payment_method, created_at=now, external_ref=external_ref,
                      payment_ref=payment_ref,
                      lines=[OrderLine(None, i + 1, line.title, line.unit_price, line.quantity)
                             for i, line in enumerate(lines)])
        order._emit("paid", total=order.total, currency=currency)
        if await uow.repo.add_order(order) is None:  # the buyer or the seller is not one
            await _refuse_parties(uow.repo, buyer_id, seller_id)
        await money.record_payment(uow.repo, order, now)
        await uow.commit()
    return order


def _check_new_order(app: Ombuds, currency: str, payment_method: str, payment_ref: str | None,
                     lines: list[NewLine]) -> None:
    check_currency(currency)
    if payment_method not in app.policy.refund_windows:
        raise DomainError("unknown_payment_method",
                          f"Payment method must be one of: {', '.join(app.policy.refund_windows)}.",
                          "payment_method")
    if getattr(app.payments, "requires_payment_ref", False) and not payment_ref:  # R39
        raise DomainError("payment_ref_required", "Give the order's charge or PaymentIntent id "
                          "(payment_ref, ch_… or pi_…): its refunds go back on it.", "payment_ref")
    if not lines:
        raise DomainError("no_lines", "An order needs at least one line.", "lines")
    for i, line in enumerate(lines):
        if line.quantity < 1 or line.unit_price < 0:
            raise DomainError("invalid_line", "Each line needs a quantity of at least 1 and a price "
                              "of at least 0.", f"lines.{i}")


async def _refuse_parties(repo: Repository, buyer_id: int, seller_id: int) -> None:
    """Why the order was not written (only on this failure path): the buyer first, as always."""
    roles = await repo.roles([buyer_id, seller_id])
    for user_id, role, field in ((buyer_id, "buyer", "buyer_id"), (seller_id, "seller", "seller_id")):
        if roles.get(user_id) != role:
            raise DomainError(f"unknown_{role}", f"No {role} with id {user_id}.", field)
    raise RuntimeError("the order was not written although its buyer and seller exist")


def visible(order: Order, caller: Caller) -> bool:
    return caller.is_staff or caller.user_id in (order.buyer_id, order.seller_id)


async def load_visible(repo: Repository, order_id: int, caller: Caller, *, lock: bool = False) -> Order:
    order = await repo.get_order(order_id, lock=lock)
    if order is None or not visible(order, caller):
        raise NotFound("order")  # another user's order is as good as absent
    return order


def _require(caller: Caller, order: Order, party: str, doing: str) -> None:
    owner = order.buyer_id if party == "buyer" else order.seller_id
    if not (caller.is_platform or caller.user_id == owner):
        raise Forbidden("not_your_action", f"Only the order's {party} can {doing}.")


def _check_version(order: Order, seen: int, expected_version: int | None) -> None:
    """R34: with ``If-Match``, the action applies only to the version the caller read. The
    order's write already names the version read in its ``WHERE``, so a change between this
    read and that write is caught there (and, retried, answered here) at no extra cost."""
    if expected_version is not None and seen != expected_version:
        raise VersionMismatch("version_mismatch", f"This order has changed since version {expected_version}: "
                              "read it again before you act.", "if-match", version=seen, state=order.state.value)


async def _change(app: Ombuds, order_id: int, caller: Caller, party: str, doing: str, change,
                  expected_version: int | None = None, disputed: dict[int, int] | None = None) -> Order:
    order, found = await retry_if_order_moved(lambda: _change_once(app, order_id, caller, party, doing, change,
                                                                   expected_version))
    if disputed is not None:
        disputed.update(found)
    return order


async def _change_once(app: Ombuds, order_id: int, caller: Caller, party: str, doing: str, change,
                       expected_version: int | None) -> tuple[Order, dict[int, int]]:
    async with app.uow() as uow:
        now = await app.now()
        found = await uow.repo.get_order_and_disputes(order_id)  # its lines and disputes: one query
        if found is None or not visible(found[0], caller):
            raise NotFound("order")  # another user's order is as good as absent
        order, disputed = found
        seen = order.version
        async with keeping_timers(uow, await catch_up(uow.repo, order, now, app.policy)):
            _require(caller, order, party, doing)
            _check_version(order, seen, expected_version)
            change(order, now)
        await uow.repo.save_order(order, now)  # version-checked: a dispute opened meanwhile refuses it
        if order.state in (OrderState.completed, OrderState.closed):  # R1: nothing is paid before
            await money.pay_out(uow.repo, order, now, app.policy)
        await uow.commit()
    return order, disputed


async def retry_if_order_moved(attempt):
    """Run a use case; if the order changed under it (a timer, another tab), run it once more
    against the order as it now is — the person did nothing wrong."""
    try:
        return await attempt()
    except MovedOn as exc:
        if exc.code != "order_moved_on":
            raise
        return await attempt()


@asynccontextmanager
async def keeping_timers(uow, fired: int):
    """If the person's action is refused after due timers were applied, keep the timers."""
    try:
        yield
    except DomainError:
        if fired:
            await uow.commit()
        raise


async def catch_up(repo: Repository, order: Order, now, policy) -> int:
    """Apply the order's timers that fell due by ``now`` (protection end, window end), each at
    its own time, with their payouts — what the sweeper does, for one order."""
    fired = 0
    while (step := engine.fire_next(order, now=now, policy=policy)) is not None:
        at = step[1]
        fired += 1
        await repo.save_order(order, at)
        await money.pay_out(repo, order, at, policy)
    return fired


# ``disputed``, when given, is filled with the order's disputed lines (line id → dispute id)
# as the change saw them, so the answer needs no second read.

async def ship(app: Ombuds, *, caller: Caller, order_id: int, carrier: str, tracking_number: str,
               expected_version: int | None = None, disputed: dict[int, int] | None = None) -> Order:
    if not tracking_number.strip():
        raise DomainError("tracking_required", "Enter the parcel's tracking number.", "tracking_number")
    return await _change(app, order_id, caller, "seller", "ship it", lambda o, now: o.ship(
        carrier=carrier, tracking_number=tracking_number.strip(), now=now, policy=app.policy), expected_version,
        disputed)


async def record_delivery(app: Ombuds, *, caller: Caller, order_id: int, expected_version: int | None = None,
                          disputed: dict[int, int] | None = None) -> Order:
    if not caller.is_platform:
        raise Forbidden("marketplace_only", "Deliveries are reported by the marketplace's carrier feed.")
    return await _change(app, order_id, caller, "buyer", "report delivery",
                         lambda o, now: o.record_delivery(now=now), expected_version, disputed)


async def confirm_receipt(app: Ombuds, *, caller: Caller, order_id: int, expected_version: int | None = None,
                          disputed: dict[int, int] | None = None) -> Order:
    return await _change(app, order_id, caller, "buyer", "confirm receipt",
                         lambda o, now: o.confirm_receipt(now=now, policy=app.policy), expected_version, disputed)


async def extend_protection(app: Ombuds, *, caller: Caller, order_id: int, days: int,
                            expected_version: int | None = None) -> Order:
    return await _change(app, order_id, caller, "seller", "extend protection",
                         lambda o, now: o.extend_protection(days=days, now=now, policy=app.policy), expected_version)


async def cancel(app: Ombuds, *, caller: Caller, order_id: int, expected_version: int | None = None) -> Order:
    """Before shipping the whole order is refunded."""
    now = await app.now()
    async with app.uow() as uow:
        order = await load_visible(uow.repo, order_id, caller)
        _require(caller, order, "buyer", "cancel it")
        _check_version(order, order.version, expected_version)
        order.cancel(now=now)
        await uow.repo.save_order(order, now)
        await money.refund_cancelled_order(uow.repo, order, now, app.policy)
        await uow.commit()
    return order


async def get_order(app: Ombuds, *, caller: Caller, order_id: int) -> Order:
    async with app.uow() as uow:
        return await load_visible(uow.repo, order_id, caller)
