"""R38: the buyer asks for more protection; the seller grants days (R3) or declines.

Each use case runs in one unit of work: the order's due timers are applied first (a request
made after protection ended is refused, and the ending is kept), the rules decide, and the
request row, the order (on a grant) and the outbox events that tell the other party are
written together. Requests are seen by the order's parties and staff, like the order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ombuds.domain import protection_requests as rules
from ombuds.domain.errors import Conflict, DomainError, Forbidden, NotFound, VersionMismatch
from ombuds.domain.orders import Order, OrderState
from ombuds.domain.policy import Policy
from ombuds.domain.protection_requests import ProtectionRequest, RequestState
from ombuds.domain.text import written
from ombuds.services.context import Caller, Ombuds
from ombuds.services.orders import catch_up, keeping_timers, load_visible, retry_if_order_moved
from ombuds.store import protection_store
from ombuds.store.uow import UnitOfWork


def _require(caller: Caller, order: Order, party: str, doing: str) -> None:
    owner = order.buyer_id if party == "buyer" else order.seller_id
    if not (caller.is_platform or caller.user_id == owner):
        raise Forbidden("not_your_action", f"Only the order's {party} can {doing}.")


async def _events(uow: UnitOfWork, request: ProtectionRequest, now: datetime) -> None:
    if request.new_events:
        await protection_store.add_events(uow.conn, request.new_events, now)
        request.new_events.clear()


async def ask(app: Ombuds, *, caller: Caller, order_id: int, reason: str, days_wanted: int | None = None,
              expected_version: int | None = None) -> dict:
    """The buyer asks the seller for more protection; the seller is told (R38)."""
    async with app.uow() as uow:
        now = await app.now()
        order = await load_visible(uow.repo, order_id, caller, lock=True)
        _require(caller, order, "buyer", "ask for more protection")  # 403 before 409
        if expected_version is not None and order.version != expected_version:
            raise VersionMismatch("version_mismatch", f"This order has changed since version "
                                  f"{expected_version}: read it again before you act.", "if-match",
                                  version=order.version, state=order.state.value)
        async with keeping_timers(uow, await catch_up(uow.repo, order, now, app.policy)):
            request = rules.ask(order, reason=reason, days_wanted=days_wanted,
                                open_request=await protection_store.open_request(uow.conn, order_id),
                                now=now, policy=app.policy)
        request.id = await protection_store.add_request(uow.conn, request, now)
        if request.id is None:  # another request won the race for "one open at a time"
            raise Conflict("request_already_open", "You already asked for more protection on this order; "
                           "wait for the seller's answer.", None)
        rules.announce(request, order, now)
        await _events(uow, request, now)
        await uow.commit()
    return view(request, order, now, app.policy)


async def grant(app: Ombuds, *, caller: Caller, order_id: int, request_id: int, days: int) -> dict:
    """The seller extends protection by ``days`` in answer to the request; the buyer is told."""
    return await retry_if_order_moved(lambda: _answer(
        app, caller, order_id, request_id, "grant the request",
        lambda r, o, now: r.grant(o, days=days, now=now, policy=app.policy)))


async def decline(app: Ombuds, *, caller: Caller, order_id: int, request_id: int, answer: str | None) -> dict:
    """The seller says no, optionally saying why; the buyer is told."""
    answer = written(answer) or None
    if answer and len(answer) > rules.MAX_REASON:
        raise DomainError("answer_too_long", f"A reason may be at most {rules.MAX_REASON} characters.", "answer")
    return await _answer(app, caller, order_id, request_id, "decline the request",
                         lambda r, o, now: r.decline(o, answer=answer, now=now))


async def _answer(app: Ombuds, caller: Caller, order_id: int, request_id: int, doing: str,
                  change: Callable[[ProtectionRequest, Order, datetime], object]) -> dict:
    async with app.uow() as uow:
        now = await app.now()
        order = await load_visible(uow.repo, order_id, caller, lock=True)
        _require(caller, order, "seller", doing)
        request = await protection_store.request_on_order(uow.conn, request_id, order_id)
        if request is None:
            raise NotFound("protection_request")
        async with keeping_timers(uow, await catch_up(uow.repo, order, now, app.policy)):
            change(request, order, now)
        if not await protection_store.record_answer(uow.conn, request):  # answered meanwhile (another tab)
            raise Conflict("request_answered", "The seller already answered this request.", None)
        await _events(uow, request, now)  # the answer first: it is the news, an extension follows
        if request.state is RequestState.granted:
            await uow.repo.save_order(order, now)
        await uow.commit()
    return view(request, order, now, app.policy)


async def requests_of(app: Ombuds, *, caller: Caller, order_id: int) -> list[dict]:
    """The order's requests, oldest first, for its parties and staff."""
    now = await app.now()
    async with app.uow() as uow:
        order = await load_visible(uow.repo, order_id, caller)
        requests = await protection_store.requests_of_order(uow.conn, order_id)
    return [view(r, order, now, app.policy) for r in requests]


async def waiting_for_seller(app: Ombuds, *, seller_id: int) -> list[dict]:
    """Open requests on the seller's orders whose protection still runs (the seller's inbox)."""
    now = await app.now()
    rows = await protection_store.open_for_seller(app.engine, seller_id, now)
    return [{"id": r["id"], "order_id": r["order_id"], "buyer_id": r["buyer_id"], "reason": r["reason"],
             "days_wanted": r["days_wanted"], "created_at": r["created_at"],
             "protection_ends_at": r["protection_ends_at"],
             "room": app.policy.max_protection_extension_days - r["protection_extension_days"]} for r in rows]


def view(r: ProtectionRequest, order: Order, now: datetime, policy: Policy) -> dict:
    """A request as the API answers it; ``state`` is ``lapsed`` for an open request nobody
    can answer any more (protection ended first)."""
    return {"id": r.id, "order_id": r.order_id, "buyer_id": r.buyer_id, "seller_id": r.seller_id,
            "state": "lapsed" if r.lapsed(order, now) else r.state.value, "reason": r.reason,
            "days_wanted": r.days_wanted, "granted_days": r.granted_days, "answer": r.answer,
            "created_at": r.created_at.isoformat(),
            "answered_at": r.answered_at.isoformat() if r.answered_at else None,
            "protection_ends_at": order.protection_ends_at.isoformat() if order.protection_ends_at else None,
            "remaining_days": max(0, rules.room(order, policy)) if order.state is OrderState.shipped else 0}
