"""The dispute form (R5–R11): received?, reason, resolution, amount, quantity, description
with a live language check, evidence, and the return-postage warning.

Without JavaScript the form posts and comes back with what must change (a refused language,
the postage warning to acknowledge); with htmx the same answers appear while filling it in.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends

from ombuds.domain import commands as c
from ombuds.domain.disputes import Reason, Resolution
from ombuds.domain.errors import DomainError
from ombuds.domain.identity import saved_id
from ombuds.domain.orders import Order, OrderLine
from ombuds.domain.policy import PostagePayer
from ombuds.services import disputes
from ombuds.web import form_files, reads
from ombuds.web.dispute_parts import check_language, evidence_limits
from ombuds.web.pages import Page, PageDep, PathId, WebExit, csrf_protect
from ombuds.web.routes_orders import line_chance, load_order

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
AT_FAULT_REASONS = {Reason.wrong_item, Reason.not_as_described, Reason.damaged, Reason.counterfeit}


@dataclass
class Claim:
    """The form's values, with the rules' consequences applied (R7, R8, R11)."""

    received: bool
    reason: str
    resolution: str
    quantity: int
    amount_text: str
    full: int
    locked: bool  # not received: 100% refund, no return (R8)
    postage: dict | None  # R11's warning, when a return is asked
    refund_to: str


def _seller_pays_postage(page: Page, reason: str) -> bool:
    return (page.app.policy.return_postage_payer is PostagePayer.at_fault
            and reason in {r.value for r in AT_FAULT_REASONS})


def read_claim(page: Page, o: Order, line: OrderLine, seller_country: str, values) -> Claim:
    f = page.f
    received = values.get("received", "yes") != "no"
    reason = values.get("reason") or ("missing_items" if received else "not_received")
    if reason not in Reason.__members__:
        reason = "other"
    if not received:
        reason = "not_received"
    elif reason == "not_received":
        reason = "missing_items"
    resolution = values.get("resolution") or "refund_only"
    if resolution not in Resolution.__members__:
        resolution = "refund_only"
    try:
        quantity = min(max(int(values.get("quantity") or line.quantity), 1), line.quantity)
    except ValueError:
        quantity = line.quantity
    full = line.unit_price * quantity
    amount_text = (values.get("amount") or "").strip()
    if values.get("switch") == "partial":  # the R11 suggestion: a partial refund, no return
        resolution = "refund_only"
        amount_text = f.major(full // 2 or full, o.currency)
    if not received:  # R8: a full refund of the units, and nothing to send back
        resolution, amount_text = "refund_only", f.major(full, o.currency)
    # The amount follows the quantity while the buyer has not typed her own (R7: 100% first).
    if not amount_text or amount_text == (values.get("full_before") or "").strip():
        amount_text = f.major(full, o.currency)
    postage = None
    if resolution != "refund_only" and not _seller_pays_postage(page, reason):
        estimate = page.app.policy.return_postage_estimates.get(seller_country)
        try:
            asked = f.parse_amount(amount_text, o.currency)
        except ValueError:
            asked = None
        postage = {"country": f.country(seller_country),
                   "estimate": f.money(estimate.amount, estimate.currency) if estimate else None,
                   "exceeds": bool(estimate and estimate.currency == o.currency and asked is not None
                                   and estimate.amount >= asked),
                   "refund": f.money(asked, o.currency) if asked is not None else None}
    refund_to = values.get("refund_to") or "original_method"
    return Claim(received, reason, resolution, quantity, amount_text, full, not received, postage, refund_to)


async def _load(page: Page, order_id: int, line_id: int):
    user = page.require("buyer")
    o = await load_order(page, order_id)
    if o.buyer_id != user.id:
        raise WebExit(page.not_found())
    line = next((ln for ln in o.lines if ln.id == line_id), None)
    if line is None:
        raise WebExit(page.not_found())
    seller = (await reads.people(page.app, [o.seller_id]))[o.seller_id]
    return o, line, seller


async def _closed_door(page: Page, o: Order, line: OrderLine):
    """The line cannot get a dispute: say why, and where to go instead (R5, R6, R24)."""
    disputed = {d.line_id: d for d in await reads.disputes_of_order(page.app, saved_id(o))}
    existing = disputed.get(saved_id(line))
    chance = line_chance(page, o, saved_id(line), existing.id if existing else None)
    if chance["may"]:
        return None
    still_open = existing is not None and existing.state.value != "closed"
    if existing is not None and still_open:  # R5: nothing else on this line while it is open — go to that dispute
        why = page.f.gettext("This line already has an open dispute, #%(id)s: add to it, or answer the "
                             "seller, there.", id=existing.id)
    elif existing is not None:
        why = page.error_text(DomainError("line_already_disputed", ""))
    else:
        why = chance["why"]
    return page.render("dispute_refused.html", status=409, o=o, line=line, why=why,
                       dispute_id=existing.id if existing else None, still_open=still_open,
                       complain=not still_open and (chance.get("complain") or existing is not None))


def _render_form(page: Page, o, line, seller, claim: Claim, *, status=200, errors=None, description="",
                 language_error=None, need_ack=False, files=None):
    return page.render("dispute_form.html", status=status, o=o, line=line, seller=seller, claim=claim,
                       errors=errors or {}, description=description, language_error=language_error,
                       need_ack=need_ack, limits=evidence_limits(page), files=files,
                       balance_offered=page.app.policy.in_platform_balance_offered,
                       allowed_languages=", ".join(page.f.language(c) for c in page.app.policy.allowed_languages))


@router.get("/orders/{order_id}/lines/{line_id}/dispute")
async def dispute_form(order_id: PathId, line_id: PathId, page: PageDep):
    o, line, seller = await _load(page, order_id, line_id)
    refused = await _closed_door(page, o, line)
    if refused is not None:
        return refused
    typed = await page.restore(f"/orders/{o.id}/lines/{line.id}/dispute")  # a session that ended (web.drafts)
    values = typed[1] if typed else page.request.query_params
    claim = read_claim(page, o, line, seller["country"], values)
    return _render_form(page, o, line, seller, claim, description=values.get("description", "") if typed else "",
                        files=await form_files.files_part(page, line, claim.reason))


@router.get("/orders/{order_id}/lines/{line_id}/dispute/claim")
async def claim_fragment(order_id: PathId, line_id: PathId, page: PageDep):
    """htmx: the claim part of the form again, after a choice changed (R8, R11)."""
    o, line, seller = await _load(page, order_id, line_id)
    claim = read_claim(page, o, line, seller["country"], page.request.query_params)
    return page.render("_claim.html", o=o, line=line, seller=seller, claim=claim, errors={}, need_ack=False,
                       balance_offered=page.app.policy.in_platform_balance_offered)


@router.post("/check/language")
async def language_check(page: PageDep):
    """htmx: the live language check under a text field (R9)."""
    page.require()
    field = page.field("field") or "description"
    text = page.field(field) or page.field("message") or page.field("description")
    problem = await check_language(page, text, field)
    return page.render("_language_check.html", problem=problem, text=text)


@router.post("/orders/{order_id}/lines/{line_id}/dispute")
async def open_dispute(order_id: PathId, line_id: PathId, page: PageDep):
    o, line, seller = await _load(page, order_id, line_id)
    refused = await _closed_door(page, o, line)
    if refused is not None:
        return refused
    claim = read_claim(page, o, line, seller["country"], page.form)
    description = page.field("description")
    refused_files = await form_files.stage_chosen(page, o, line)  # first: files survive every round (R10)
    removed = await form_files.remove_chosen(page, line)
    files = await form_files.files_part(page, line, claim.reason, refused_files)
    again = lambda **kw: _render_form(page, o, line, seller, claim, description=description, files=files,  # noqa: E731
                                      **kw)
    if page.field("switch") or removed:
        return again()
    if refused_files:
        return again(status=422)
    try:
        amount = page.f.parse_amount(claim.amount_text, o.currency)
    except ValueError:
        return again(status=422, errors={"amount": page.error_text(DomainError("invalid_amount", ""))})
    if not description:
        return again(status=422, errors={"description": page.error_text(DomainError("description_required", ""))})
    problem = await check_language(page, description, "description")
    if problem:
        return again(status=422, language_error=problem)
    if claim.postage and not page.field("postage_ack"):
        return again(status=422, need_ack=True)
    cmd = c.OpenDispute(o.id, line.id, claim.received, Reason(claim.reason), Resolution(claim.resolution),
                        amount, claim.quantity, description, claim.refund_to)
    try:
        d = await disputes.open_dispute(page.app, caller=page.caller, cmd=cmd)
    except DomainError as exc:
        if exc.code == "language_not_allowed":
            return again(status=422, language_error=page.error_text(exc))
        field = {"received": "reason", "line_id": "form", "order_id": "form"}.get(exc.field or "", exc.field or "form")
        return again(status=422 if exc.status == 422 else 409,
                     errors={field: page.error_text(exc, currency=o.currency)})
    page.flash("ok", page.f.gettext("Your dispute is open. The seller has until %(date)s to answer.",
                                    date=page.f.datetime(d.deadline_at)))
    await form_files.attach_all(page, saved_id(d), line)
    return page.redirect(f"/disputes/{d.id}")
