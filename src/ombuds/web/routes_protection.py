"""R38 on the pages: the buyer asks for more protection from the order page; the seller
grants days (R3) or declines, from the order page or the inbox."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ombuds.domain.errors import DomainError
from ombuds.services import protection_requests
from ombuds.web.pages import Page, PageDep, PathId, csrf_protect
from ombuds.web.routes_orders import order_action

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


def _days_wanted(page: Page, name: str) -> int | None:
    """Days the buyer hopes for: none when left empty."""
    return _days(page, name) if page.field(name).strip() else None


def _days(page: Page, name: str) -> int:
    raw = page.field(name).strip()
    if not raw.isdigit() or int(raw) < 1:
        raise DomainError("invalid_extension", "Extend by at least one day.", name)
    return int(raw)


@router.post("/orders/{order_id}/protection-requests")
async def ask(order_id: PathId, page: PageDep):
    async def run():
        await protection_requests.ask(page.app, caller=page.caller, order_id=order_id,
                                      reason=page.field("reason"), days_wanted=_days_wanted(page, "days"))
    return await order_action(page, order_id, run,
                              page._("Your request is sent. The seller is told and can add days or decline."),
                              anchor="protection")


@router.post("/orders/{order_id}/protection-requests/{request_id}/grant")
async def grant(order_id: PathId, request_id: PathId, page: PageDep):
    async def run():
        await protection_requests.grant(page.app, caller=page.caller, order_id=order_id, request_id=request_id,
                                        days=_days(page, "days"))
    return await order_action(page, order_id, run, page._("The buyer's protection is extended."),
                              anchor="protection", back=page.field("back"))


@router.post("/orders/{order_id}/protection-requests/{request_id}/decline")
async def decline(order_id: PathId, request_id: PathId, page: PageDep):
    async def run():
        await protection_requests.decline(page.app, caller=page.caller, order_id=order_id,
                                          request_id=request_id, answer=page.field("answer"))
    return await order_action(page, order_id, run, page._("You declined the request. The buyer is told."),
                              anchor="protection", back=page.field("back"))
