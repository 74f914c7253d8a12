"""R38: the buyer asks for more protection; the seller grants days (R3) or declines.

Each use case runs in one unit of work: the order's due timers are applied first (a request
made after protection ended is refused, and the ending is kept), the rules decide, and the
request row, the order (on a grant) and the outbox events that tell the other party are
written together. Requests are seen by the order's parties and staff, like the order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from ombuds.domain import protection_requests as rules
from ombuds.domain.errors import Conflict, DomainError, Forbidden, NotFound, VersionMismatch
from ombuds.domain.orders import Order, OrderState
from ombuds.domain.protection_requests import ProtectionRequest, RequestState
from ombuds.domain.text import written
from ombuds.services.context import Caller, Ombuds
from ombuds.services.orders import catch_up, keeping_timers, load_visible, retry_if_order_moved
from ombuds.store import tables as t
from ombuds.store.tables_protection import protection_requests as pr


def _require(caller: Caller, order: Order, party: str, doing: str) -> None:
    owner = order.buyer_id if party == "buyer" else order.seller_id
    if not (caller.is_platform or caller.user_id == owner):
        raise Forbidden("not_your_action", f"Only the order's {party} can {doing}.")


def _from_row(r) -> ProtectionRequest:
    return ProtectionRequest(id=r.id, order_id=r.order_id, buyer_id=r.buyer_id, seller_id=r.seller_id,
                             reason=r.reason, days_wanted=r.days_wanted, state=RequestState(r.state),
                             granted_days=r.granted_days, answer=r.answer, created_at=r.created_at,
                             answered_at=r.answered_at)


async def _open_request(conn, order_id: int) -> ProtectionRequest | None:
    row = (await conn.execute(select(pr).where(pr.c.order_id == order_id, pr.c.state == "open"))).first()
    return row and _from_row(row)


async def _events(conn, request: ProtectionRequest, now: datetime) -> None:
    if request.new_events:
        await conn.execute(insert(t.outbox), [
            {"type": e.type, "aggregate": e.aggregate, "aggregate_id": e.aggregate_id, "payload": e.data,
             "created_at": e.at or now} for e in request.new_events])
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
                                open_request=await _open_request(uow.conn, order.id), now=now, policy=app.policy)
        try:
            request.id = (await uow.conn.execute(insert(pr).values(
                order_id=request.order_id, buyer_id=request.buyer_id, seller_id=request.seller_id,
                reason=request.reason, days_wanted=request.days_wanted, state=request.state.value,
                created_at=now).returning(pr.c.id))).scalar_one()
        except IntegrityError:  # another request won the race for "one open at a time"
            raise Conflict("request_already_open", "You already asked for more protection on this order; "
                           "wait for the seller's answer.", None) from None
        rules.announce(request, order, now)
        await _events(uow.conn, request, now)
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


async def _answer(app: Ombuds, caller: Caller, order_id: int, request_id: int, doing: str, change) -> dict:
    async with app.uow() as uow:
        now = await app.now()
        order = await load_visible(uow.repo, order_id, caller, lock=True)
        _require(caller, order, "seller", doing)
        row = (await uow.conn.execute(select(pr).where(pr.c.id == request_id, pr.c.order_id == order.id))).first()
        if row is None:
            raise NotFound("protection_request")
        request = _from_row(row)
        async with keeping_timers(uow, await catch_up(uow.repo, order, now, app.policy)):
            change(request, order, now)
        answered = await uow.conn.execute(
            update(pr).where(pr.c.id == request.id, pr.c.state == "open")
            .values(state=request.state.value, granted_days=request.granted_days, answer=request.answer,
                    answered_at=request.answered_at))
        if answered.rowcount != 1:  # answered meanwhile (another tab)
            raise Conflict("request_answered", "The seller already answered this request.", None)
        await _events(uow.conn, request, now)  # the answer first: it is the news, an extension follows
        if request.state is RequestState.granted:
            await uow.repo.save_order(order, now)
        await uow.commit()
    return view(request, order, now, app.policy)


async def requests_of(app: Ombuds, *, caller: Caller, order_id: int) -> list[dict]:
    """The order's requests, oldest first, for its parties and staff."""
    now = await app.now()
    async with app.uow() as uow:
        order = await load_visible(uow.repo, order_id, caller)
        rows = (await uow.conn.execute(select(pr).where(pr.c.order_id == order.id).order_by(pr.c.id))).all()
    return [view(_from_row(r), order, now, app.policy) for r in rows]


async def waiting_for_seller(app: Ombuds, *, seller_id: int) -> list[dict]:
    """Open requests on the seller's orders whose protection still runs (the seller's inbox)."""
    now = await app.now()
    async with app.engine.connect() as conn:
        rows = (await conn.execute(
            select(pr, t.orders.c.protection_ends_at, t.orders.c.protection_extension_days)
            .join(t.orders, t.orders.c.id == pr.c.order_id)
            .where(and_(pr.c.seller_id == seller_id, pr.c.state == "open",
                        t.orders.c.state == OrderState.shipped.value, t.orders.c.protection_ends_at > now))
            .order_by(t.orders.c.protection_ends_at))).all()
    return [{"id": r.id, "order_id": r.order_id, "buyer_id": r.buyer_id, "reason": r.reason,
             "days_wanted": r.days_wanted, "created_at": r.created_at, "protection_ends_at": r.protection_ends_at,
             "room": app.policy.max_protection_extension_days - r.protection_extension_days} for r in rows]


def view(r: ProtectionRequest, order: Order, now: datetime, policy) -> dict:
    """A request as the API answers it; ``state`` is ``lapsed`` for an open request nobody
    can answer any more (protection ended first)."""
    return {"id": r.id, "order_id": r.order_id, "buyer_id": r.buyer_id, "seller_id": r.seller_id,
            "state": "lapsed" if r.lapsed(order, now) else r.state.value, "reason": r.reason,
            "days_wanted": r.days_wanted, "granted_days": r.granted_days, "answer": r.answer,
            "created_at": r.created_at.isoformat(),
            "answered_at": r.answered_at.isoformat() if r.answered_at else None,
            "protection_ends_at": order.protection_ends_at.isoformat() if order.protection_ends_at else None,
            "remaining_days": max(0, rules.room(order, policy)) if order.state is OrderState.shipped else 0}
