"""Users and orders: register people, record paid orders, ship, deliver, confirm, extend."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ombuds.api import schemas
from ombuds.api.auth import app_state, get_caller
from ombuds.api.schemas import PathId, QueryId
from ombuds.api.versions import IfMatch
from ombuds.domain.errors import Forbidden, NotFound
from ombuds.services import accounts, orders, queries, users, web_sessions
from ombuds.services.context import Caller, Ombuds
from ombuds.services.users import caller_for_user, create_user
from ombuds.services.views import order_view

router = APIRouter(prefix="/api/v1")
CallerDep = Annotated[Caller, Depends(get_caller)]
AppDep = Annotated[Ombuds, Depends(app_state)]


@router.post("/users", status_code=201, tags=["users"])
async def register_user(body: schemas.NewUser, caller: CallerDep, app: AppDep) -> dict:
    """Create a buyer, seller or arbitrator (marketplace key only). The token is shown once."""
    if not caller.is_platform:
        raise Forbidden("marketplace_only", "Only the marketplace registers users.")
    user, token = await create_user(app, **body.model_dump())
    return {**user, "created_at": user["created_at"].isoformat(), "token": token}


@router.post("/users/{user_id}/password", tags=["users"])
async def set_password(user_id: PathId, body: schemas.NewPassword, caller: CallerDep, app: AppDep) -> dict:
    """Set a user's password for the web pages (marketplace key), e.g. after registering them."""
    if not caller.is_platform:
        raise Forbidden("marketplace_only", "Only the marketplace sets passwords.")
    await accounts.set_password(app, user_id=user_id, password=body.password)
    return {"user_id": user_id, "password_set": True}


@router.put("/users/{user_id}/time-zone", tags=["users"])
async def set_time_zone(user_id: PathId, body: schemas.TimeZoneBody, caller: CallerDep, app: AppDep) -> dict:
    """R33: the zone a user's pages and e-mails show times in (marketplace key); null resets it
    to the main zone of the user's country."""
    if not caller.is_platform:
        raise Forbidden("marketplace_only", "Only the marketplace changes a user's time zone.")
    return {"user_id": user_id, "time_zone": await users.set_time_zone(app, user_id=user_id, time_zone=body.time_zone)}


@router.post("/users/{user_id}/sessions/end", tags=["users"])
async def end_sessions(user_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """End every web session of a user, on every device (marketplace key), e.g. after an
    account was compromised. Their next page asks them to sign in again."""
    if not caller.is_platform:
        raise Forbidden("marketplace_only", "Only the marketplace ends a user's sessions.")
    if await caller_for_user(app, user_id) is None:
        raise NotFound("user")
    return {"user_id": user_id, "sessions_ended": await web_sessions.end_all(app, user_id=user_id)}


@router.get("/me", tags=["users"])
async def me(caller: CallerDep) -> dict:
    return {"role": caller.role, "user_id": caller.user_id}


async def _view(app: Ombuds, order) -> dict:
    return order_view(order, await app.now(), await queries.disputed_lines(app, order.id))


@router.post("/orders", status_code=201, tags=["orders"])
async def create_order(body: schemas.NewOrder, caller: CallerDep, app: AppDep) -> dict:
    order = await orders.create_order(
        app, caller=caller, buyer_id=body.buyer_id, seller_id=body.seller_id, currency=body.currency,
        payment_method=body.payment_method, external_ref=body.external_ref, payment_ref=body.payment_ref,
        lines=[orders.NewLine(ln.title, ln.unit_price, ln.quantity) for ln in body.lines])
    return order_view(order, await app.now(), {})


@router.get("/orders", tags=["orders"])
async def list_orders(caller: CallerDep, app: AppDep, state: str | None = None,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50, before_id: QueryId = None) -> dict:
    found, disputed = await queries.list_orders(app, caller, state=state, limit=limit, after_id=before_id)
    now = await app.now()
    return {"items": [order_view(o, now, disputed) for o in found]}


@router.get("/orders/{order_id}", tags=["orders"])
async def get_order(order_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    return await _view(app, await orders.get_order(app, caller=caller, order_id=order_id))


@router.post("/orders/{order_id}/ship", tags=["orders"])
async def ship(order_id: PathId, body: schemas.Shipment, caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    """R2: shipping starts the buyer's protection."""
    disputed: dict[int, int] = {}
    order = await orders.ship(app, caller=caller, order_id=order_id, carrier=body.carrier,
                              tracking_number=body.tracking_number, expected_version=version, disputed=disputed)
    return order_view(order, await app.now(), disputed)


@router.post("/orders/{order_id}/deliver", tags=["orders"])
async def deliver(order_id: PathId, caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    disputed: dict[int, int] = {}
    order = await orders.record_delivery(app, caller=caller, order_id=order_id, expected_version=version,
                                         disputed=disputed)
    return order_view(order, await app.now(), disputed)


@router.post("/orders/{order_id}/confirm-receipt", tags=["orders"])
async def confirm_receipt(order_id: PathId, caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    """R1: the seller is paid for every line not under dispute."""
    disputed: dict[int, int] = {}
    order = await orders.confirm_receipt(app, caller=caller, order_id=order_id, expected_version=version,
                                         disputed=disputed)
    return order_view(order, await app.now(), disputed)


@router.post("/orders/{order_id}/extend-protection", tags=["orders"])
async def extend_protection(order_id: PathId, body: schemas.Extension, caller: CallerDep, app: AppDep,
                            version: IfMatch) -> dict:
    """R3: the seller extends the buyer's protection."""
    return await _view(app, await orders.extend_protection(app, caller=caller, order_id=order_id,
                                                           days=body.days, expected_version=version))


@router.post("/orders/{order_id}/cancel", tags=["orders"])
async def cancel(order_id: PathId, caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    return await _view(app, await orders.cancel(app, caller=caller, order_id=order_id, expected_version=version))
