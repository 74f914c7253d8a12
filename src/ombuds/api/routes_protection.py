"""R38: the buyer asks for more protection; the seller grants days (R3) or declines."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ombuds.api.auth import app_state, get_caller
from ombuds.api.schemas import Body, Count, OptionalText, PathId
from ombuds.api.versions import if_match
from ombuds.domain.protection_requests import MAX_REASON
from ombuds.services import protection_requests
from ombuds.services.context import Caller, Ombuds

router = APIRouter(prefix="/api/v1", tags=["orders"])
CallerDep = Annotated[Caller, Depends(get_caller)]
AppDep = Annotated[Ombuds, Depends(app_state)]
IfMatch = Annotated[int | None, Depends(if_match)]  # R34: the order's version the buyer read


class ProtectionRequestBody(Body):
    reason: Annotated[str, OptionalText(MAX_REASON)]  # blank or invisible: "reason_required"
    days: Annotated[int, Count(1, 3650)] | None = None  # what the buyer hopes for; the seller decides


class GrantBody(Body):
    days: Annotated[int, Count(1, 3650)]


class DeclineBody(Body):
    answer: Annotated[str, OptionalText(MAX_REASON)] = ""


@router.post("/orders/{order_id}/protection-requests", status_code=201)
async def ask_for_protection(order_id: PathId, body: ProtectionRequestBody, caller: CallerDep, app: AppDep,
                             expected_version: IfMatch = None) -> dict:
    """The buyer asks the seller to extend protection, saying why (R38). One open request per
    order at a time (409 ``request_already_open``), only while protection runs (409
    ``protection_not_running``) and may still grow (409 ``extension_limit_reached``)."""
    return await protection_requests.ask(app, caller=caller, order_id=order_id, reason=body.reason,
                                         days_wanted=body.days, expected_version=expected_version)


@router.get("/orders/{order_id}/protection-requests")
async def protection_requests_of(order_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """The order's requests for more protection and their answers, oldest first. ``state`` is
    ``open``, ``granted``, ``declined``, or ``lapsed`` (protection ended before an answer)."""
    return {"items": await protection_requests.requests_of(app, caller=caller, order_id=order_id)}


@router.post("/orders/{order_id}/protection-requests/{request_id}/grant")
async def grant_protection(order_id: PathId, request_id: PathId, body: GrantBody, caller: CallerDep,
                           app: AppDep) -> dict:
    """The seller extends protection by ``days`` (R3: at most the policy's total; 422
    ``extension_too_long`` says how many remain). 409 ``request_answered`` if already answered."""
    return await protection_requests.grant(app, caller=caller, order_id=order_id, request_id=request_id,
                                           days=body.days)


@router.post("/orders/{order_id}/protection-requests/{request_id}/decline")
async def decline_protection(order_id: PathId, request_id: PathId, body: DeclineBody, caller: CallerDep,
                             app: AppDep) -> dict:
    """The seller declines, optionally saying why; protection keeps its end date."""
    return await protection_requests.decline(app, caller=caller, order_id=order_id, request_id=request_id,
                                             answer=body.answer)
