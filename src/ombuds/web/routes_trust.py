"""Complaints (R24) and the seller's rating (R21)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ombuds.domain.errors import DomainError, NotFound
from ombuds.domain.orders import Order
from ombuds.services import complaints, orders, sellers
from ombuds.web.pages import Page, PageDep, PathId, WebExit, csrf_protect

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


async def _order(page: Page, order_id: int) -> Order:
    user = page.require("buyer")
    try:
        o = await orders.get_order(page.app, caller=page.caller, order_id=order_id)
    except NotFound:
        raise WebExit(page.not_found()) from None
    if o.buyer_id != user.id:
        raise WebExit(page.not_found())
    return o


async def _mine(page: Page, order_id: int) -> list:
    found = await complaints.list_complaints(page.app, caller=page.caller, state=None, limit=100, offset=0)
    return [c for c in found if c.order_id == order_id]


@router.get("/orders/{order_id}/complaint")
async def complaint_form(order_id: PathId, page: PageDep):
    """R24: where a buyer turns once no dispute is possible."""
    o = await _order(page, order_id)
    typed = await page.restore(f"/orders/{o.id}/complaint")  # a session that ended (web.drafts)
    return page.render("complaint.html", o=o, filed=await _mine(page, order_id), error=None,
                       message=typed[1].get("message", "") if typed else "")


@router.post("/orders/{order_id}/complaint")
async def file_complaint(order_id: PathId, page: PageDep):
    o = await _order(page, order_id)
    line = page.field("line_id")
    about = page.field("about") if page.field("about") in ("order", "seller") else "seller"
    message = page.field("message")
    try:
        c = await complaints.file_complaint(page.app, caller=page.caller, order_id=order_id,
                                            line_id=int(line) if line.isdigit() else None, about=about,
                                            message=message)
    except DomainError as exc:
        return page.render("complaint.html", status=409 if exc.status == 409 else 422, o=o,
                           filed=await _mine(page, order_id), error=page.error_text(exc), message=message)
    page.flash("ok", page.f.gettext("Your complaint is filed. The platform answers by %(date)s.",
                                    date=page.f.date(c.deadline_at)) if c.deadline_at else
               page._("Your complaint is filed."))
    return page.redirect(f"/orders/{o.id}/complaint")


@router.get("/rating")
async def my_rating(page: PageDep):
    """R21: the seller's own rating."""
    user = page.require("seller")
    rating = await sellers.seller_rating(page.app, caller=page.caller, seller_id=user.id)
    return page.render("rating.html", rating=rating)
