"""Orders: the buyer's list with protection countdowns (R2, R3), the order page with its
lines, messages (R4) and what may be disputed (R5, R6, R24); the seller ships and extends;
refunds with their expected dates (R20)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ombuds.domain.errors import DomainError, NotFound
from ombuds.domain.identity import saved_id
from ombuds.domain.orders import Order, OrderState
from ombuds.services import chargebacks, conversations, orders, protection_requests, queries, sellers, tracking
from ombuds.services.views import order_view
from ombuds.web import reads
from ombuds.web.order_timeline import timeline
from ombuds.web.pages import Page, PageDep, PathId, WebExit, csrf_protect

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


def protection(page: Page, o: Order) -> dict:
    """R2: what the order's countdown says, worded for its buyer or for its seller."""
    f, now = page.f, page.now
    seller = page.user is not None and page.user.id == o.seller_id
    if o.state is OrderState.paid:
        return {"kind": "waiting", "text": f.gettext("Ship it: the buyer's protection starts when you ship.") if seller
                else f.gettext("Waiting for the seller to ship.")}
    if o.state is OrderState.cancelled:
        return {"kind": "muted", "text": f.gettext("Cancelled before shipping; the full amount was refunded.")}
    if o.state is OrderState.shipped and o.protection_ends_at is not None:
        left = o.protection_ends_at - now
        text = (f.gettext("The buyer's protection ends in %(left)s", left=f.duration(left)) if seller
                else f.gettext("Protection ends in %(left)s", left=f.duration(left)))
        extra = f.gettext("on %(date)s", date=f.date(o.protection_ends_at))
        if o.protection_extension_days:
            days = f.days(o.protection_extension_days)
            extra += " · " + (f.gettext("you extended it by %(days)s", days=days) if seller
                              else f.gettext("extended by the seller by %(days)s", days=days))
        return {"kind": "urgent" if left.days < 7 else "ok", "text": text, "extra": extra,
                "at": o.protection_ends_at}
    if o.state is OrderState.completed and o.dispute_window_ends_at is not None:
        window = f.duration(o.dispute_window_ends_at - now)
        return {"kind": "ok", "at": o.dispute_window_ends_at,
                "text": f.gettext("The buyer can open a dispute for %(left)s more", left=window) if seller
                else f.gettext("Disputes can be opened for %(left)s more", left=window),
                "extra": f.gettext("until %(date)s — the order is complete", date=f.date(o.dispute_window_ends_at))}
    return {"kind": "muted", "text": f.gettext("Protection is over"),
            "extra": f.gettext("No dispute can be opened on this order any more.") if seller
            else f.gettext("You can still complain to the platform about the seller.")}


def dispute_window_end(o: Order):
    if o.state is OrderState.shipped:
        return o.protection_ends_at
    if o.state is OrderState.completed:
        return o.dispute_window_ends_at
    return None


def line_chance(page: Page, o: Order, line_id: int, dispute_id: int | None) -> dict:
    """May this line still get a dispute (R5, R6)? If not, why, and where to turn (R24)."""
    f = page.f
    if dispute_id is not None:
        return {"may": False, "dispute_id": dispute_id}
    if o.state is OrderState.paid:
        seller = page.user is not None and page.user.id == o.seller_id
        return {"may": False, "why": f.gettext("Not shipped yet.") if seller else
                f.gettext("Not shipped yet — nothing to dispute; the order can be cancelled.")}
    if o.state is OrderState.cancelled:
        return {"may": False, "why": f.gettext("The order was cancelled and refunded.")}
    end = dispute_window_end(o)
    if end is None or page.now >= end:
        ended = end or o.dispute_window_ends_at or o.closed_at
        return {"may": False, "complain": True,
                "why": f.gettext("The time to open a dispute ended on %(date)s.", date=f.date(ended))}
    return {"may": True}


async def load_order(page: Page, order_id: int) -> Order:
    try:
        return await orders.get_order(page.app, caller=page.caller, order_id=order_id)
    except NotFound:
        raise WebExit(page.not_found()) from None


@router.get("/orders")
async def my_orders(page: PageDep):
    user = page.require("buyer", "seller")
    found, disputed = await queries.list_orders(page.app, page.caller, state=None, limit=100, after_id=None)
    names = await reads.people(page.app, [o.seller_id if user.role == "buyer" else o.buyer_id for o in found])
    cards = [{"o": o, "v": order_view(o, page.now, disputed), "protection": protection(page, o),
              "other": names.get(o.seller_id if user.role == "buyer" else o.buyer_id, {}),
              "disputes": sum(1 for line in o.lines if line.id in disputed)} for o in found]
    return page.render("orders.html", cards=cards)


@router.get("/orders/{order_id}")
async def order_page(order_id: PathId, page: PageDep):
    user = page.require("buyer", "seller", "arbitrator")
    o = await load_order(page, order_id)
    disputes = {d.line_id: d for d in await reads.disputes_of_order(page.app, order_id)}
    names = await reads.people(page.app, [o.buyer_id, o.seller_id])
    refunds = await queries.list_refunds(page.app, page.caller, order_id=order_id)
    payouts = await queries.list_payouts(page.app, page.caller, order_id=order_id, limit=200)
    paid_out: dict[int, int] = {}
    for p in payouts:
        paid_out[p["line_id"]] = paid_out.get(p["line_id"], 0) + p["amount"]
    refunded: dict[int, int] = {}
    for r in refunds:
        refunded[r["line_id"]] = refunded.get(r["line_id"], 0) + r["amount"]
    lines: list[dict[str, Any]] = []
    for line in o.lines:
        line_id, dispute = saved_id(line), disputes.get(saved_id(line))
        lines.append({"line": line, "dispute": dispute, "paid_out": paid_out.get(line_id),
                      "refunded": refunded.get(line_id),
                      "chance": line_chance(page, o, line_id, saved_id(dispute) if dispute else None)})
    messages = await conversations.order_messages_of(page.app, caller=page.caller, order_id=order_id, after_id=None,
                                                     limit=200)
    rating = await sellers.seller_rating(page.app, caller=page.caller, seller_id=o.seller_id)
    room = page.app.policy.max_protection_extension_days - o.protection_extension_days
    requests = await protection_requests.requests_of(page.app, caller=page.caller, order_id=order_id)
    asked = next((r for r in requests if r["state"] == "open"), None)
    return page.render("order.html", o=o, lines=lines, names=names, refunds=refunds, messages=messages,
                       protection=protection(page, o), extension_room=room, asked=asked,
                       last_request=requests[-1] if requests else None, timeline=timeline(page, o, requests),
                       complain=any(ln["chance"].get("complain") for ln in lines),
                       is_buyer=user.id == o.buyer_id, is_seller=user.id == o.seller_id,
                       message_error=None, rating=rating, typed=await _restored(page, o),
                       tracks=await tracking.tracks(page.app, order_id=order_id),
                       chargebacks=(await chargebacks.of_order(page.app, caller=page.caller, order_id=order_id)
                                    if page.caller.is_staff else []))


async def _restored(page: Page, o: Order) -> dict:
    """What the reader typed into this page's message box when their session ended (web.drafts)."""
    found = await page.restore(f"/orders/{o.id}/messages")
    return found[1] if found else {}


async def order_action(page: Page, order_id: int, action, done: str, *, anchor: str = "",
                       back: str = ""):
    """Run a party's action on the order and go back to the order (or the inbox it came from)."""
    page.require("buyer", "seller")
    await load_order(page, order_id)
    try:
        await action()
    except DomainError as exc:
        page.flash("error", page.error_text(exc))
    else:
        page.flash("ok", done)
    if back == "/inbox":  # only the inbox: never an address the form could be made to name
        return page.redirect("/inbox")
    return page.redirect(f"/orders/{order_id}" + (f"#{anchor}" if anchor else ""))



@router.post("/orders/{order_id}/confirm")
async def confirm(order_id: PathId, page: PageDep):
    return await order_action(page, order_id, lambda: orders.confirm_receipt(
        page.app, caller=page.caller, order_id=order_id),
        page._("Receipt confirmed. The seller is paid for every line not in dispute."))


@router.post("/orders/{order_id}/cancel")
async def cancel(order_id: PathId, page: PageDep):
    return await order_action(page, order_id, lambda: orders.cancel(
        page.app, caller=page.caller, order_id=order_id),
        page._("The order is cancelled; the full amount is refunded."))


@router.post("/orders/{order_id}/ship")
async def ship(order_id: PathId, page: PageDep):
    return await order_action(page, order_id, lambda: orders.ship(
        page.app, caller=page.caller, order_id=order_id, carrier=page.field("carrier") or "—",
        tracking_number=page.field("tracking_number")),
        page._("Shipped. The buyer's protection has started."))


@router.post("/orders/{order_id}/extend")
async def extend(order_id: PathId, page: PageDep):
    days = page.field("days")

    async def run():
        if not days.isdigit():
            raise DomainError("invalid_extension", "Extend by at least one day.", "days")
        await orders.extend_protection(page.app, caller=page.caller, order_id=order_id, days=int(days))
    return await order_action(page, order_id, run, page._("The buyer's protection is extended."))


@router.post("/orders/{order_id}/messages")
async def post_message(order_id: PathId, page: PageDep):
    """R4: buyer and seller write to each other on the order."""
    return await order_action(page, order_id, lambda: conversations.post_order_message(
        page.app, caller=page.caller, order_id=order_id, body=page.field("body")),
        page._("Message sent."))


@router.get("/refunds")
async def refunds(page: PageDep):
    """R20: each refund with the dates it is expected to land between."""
    page.require("buyer", "seller")
    found = await queries.list_refunds(page.app, page.caller, limit=200)
    titles = await reads.lines(page.app, [r["line_id"] for r in found])
    return page.render("refunds.html", refunds=found, titles=titles)
