"""The dispute page for each party and the arbitrator's case page (R12–R19, R25, R27), the
actions allowed now as forms, evidence (R10), staff notes (R32); the seller's inbox and the
arbitration queue, each ordered by the deadline running."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends

from ombuds.adapters.http_files import evidence_response
from ombuds.domain import commands as c
from ombuds.domain.disputes import Dispute, Resolution, ReturnCondition
from ombuds.domain.errors import DomainError, NotFound
from ombuds.domain.identity import saved_id
from ombuds.domain.lifecycle import Action
from ombuds.domain.text import written
from ombuds.services import (
    buyer_risk,
    chargebacks,
    conversations,
    disputes,
    evidence,
    protection_requests,
    queries,
    sellers,
    tracking,
)
from ombuds.services.arbitration import queue as arbitration_queue
from ombuds.services.views import dispute_view
from ombuds.web import reads
from ombuds.web.dispute_parts import attach, check_language, evidence_limits
from ombuds.web.pages import Page, PageDep, PathId, WebExit, csrf_protect
from ombuds.web.progress import STATUS as progress_status
from ombuds.web.progress import progress
from ombuds.wording import words

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
TEXT_ACTIONS = {Action.reject, Action.argue, Action.agree_verdict, Action.disagree_verdict}


async def load_dispute(page: Page, dispute_id: int) -> Dispute:
    try:
        return await disputes.get_dispute(page.app, caller=page.caller, dispute_id=dispute_id)
    except NotFound:
        raise WebExit(page.not_found()) from None


def deadline_box(page: Page, view: dict) -> dict | None:
    dl = view["deadline"]
    if dl is None:
        return None
    f = page.f
    left = timedelta(seconds=dl["seconds_left"] or 0)
    role = view["your_role"] if view["your_role"] in ("buyer", "seller") else None
    return {"name": dl["name"], "at": dl["at"], "left": f.duration(left),
            "text": words.deadline_text(f, dl["name"], role, f.datetime(dl["at"]), f.duration(left)),
            "against_you": dl["decides_against"] == view["your_role"],
            "urgent": left < timedelta(days=1), "short": f.gettext(words.DEADLINE_SHORT.get(dl["name"], dl["name"]))}


def statements(timeline: list[dict]) -> list[dict]:
    """What each side said: the claim, proposals, rejections, arguments, replies."""
    said = []
    for e in timeline:
        d = e["details"] or {}
        if e["action"] in ("open", "amend", "propose"):
            said.append({"at": e["at"], "by": d.get("by") or e["actor"], "action": e["action"],
                         "resolution": d.get("resolution"), "amount": d.get("amount"), "message": d.get("message")})
        elif e["action"] in ("reject", "argue", "agree_verdict", "disagree_verdict", "accept", "withdraw",
                             "confirm_return") and e["actor"] in ("buyer", "seller"):
            said.append({"at": e["at"], "by": e["actor"], "action": e["action"], "message": d.get("message"),
                         "condition": d.get("condition")})
    return said


@router.get("/disputes/{dispute_id}")
async def dispute_page(dispute_id: PathId, page: PageDep):
    page.require("buyer", "seller", "arbitrator")
    d = await load_dispute(page, dispute_id)
    return await show_dispute(page, d, drafts=await _restored(page, d))


async def _restored(page: Page, d: Dispute) -> dict | None:
    """What the reader typed into one of this page's forms when their session ended (web.drafts)."""
    found = await page.restore(*(f"/disputes/{d.id}/do/{action.value}" for action in FORM_OF))
    if found is None:
        return None
    address, fields = found
    return {FORM_OF[Action(address.rsplit("/", 1)[1])]: {
        "message": fields.get("message", ""), "amount": fields.get("amount") or fields.get("refund_amount")}}


async def show_dispute(page: Page, d: Dispute, *, status: int = 200, drafts: dict | None = None):
    """The dispute page, or the case page for staff; ``drafts`` brings back what the reader
    typed into a form the service refused, with the refusal beside it."""
    user, dispute_id = page.signed_in, saved_id(d)
    timeline = await queries.timeline(page.app, dispute_id)
    view = dispute_view(d, page.caller, page.app.policy, page.now, timeline)
    line = (await reads.lines(page.app, [d.line_id]))[d.line_id]
    names = await reads.people(page.app, [d.buyer_id, d.seller_id])
    refunds = [r for r in await queries.list_refunds(page.app, page.caller, order_id=d.order_id)
               if r["dispute_id"] == dispute_id]
    files = await evidence.list_evidence(page.app, caller=page.caller, dispute_id=dispute_id)
    context = dict(d=d, v=view, line=line, names=names, refunds=refunds, evidence=files,
                   deadline=deadline_box(page, view), said=statements(timeline),
                   steps=progress(view["state"], view["outcome"], (e["to_state"] for e in timeline)),
                   progress_status=progress_status,
                   allowed=set(view["allowed_actions"]), limits=evidence_limits(page),
                   can_upload=view["state"] != "closed" and user.role != "arbitrator", drafts=drafts or {},
                   tracks=await tracking.tracks(page.app, order_id=d.order_id, dispute_id=dispute_id))
    if user.role == "arbitrator":
        notes = await conversations.notes_of(page.app, caller=page.caller, dispute_id=dispute_id)
        risk = await buyer_risk.buyer_risk(page.app, caller=page.caller, buyer_id=d.buyer_id)
        rating = await sellers.seller_rating(page.app, caller=page.caller, seller_id=d.seller_id)
        context.update(notes=notes, risk=risk, rating=rating,
                       buyer_history=await reads.buyer_history(page.app, d.buyer_id),
                       seller_history=await reads.seller_history(page.app, d.seller_id),
                       target=(d.escalated_at + page.app.policy.days("arbitration_review_target_days")
                               if d.escalated_at else None),
                       limit=(d.escalated_at + page.app.policy.days("arbitration_limit_days")
                              if d.escalated_at else None))
        context["messages"] = await order_chat(page, d)
        context["chargebacks"] = await chargebacks.of_order(page.app, caller=page.caller, order_id=d.order_id)
        return page.render("case.html", status=status, **context)
    return page.render("dispute.html", status=status, **context)


async def order_chat(page: Page, d: Dispute) -> list[dict]:
    """R4 for the arbitrator: what buyer and seller wrote to each other on the order."""
    return await conversations.order_messages_of(page.app, caller=page.caller, order_id=d.order_id, after_id=None,
                                                 limit=200)


async def _command(page: Page, action: Action, d: Dispute):
    f = page.f
    message = page.field("message")
    if action in TEXT_ACTIONS or action in (Action.propose, Action.amend):
        problem = await check_language(page, message, "message")
        if problem:
            raise DomainError("language_not_allowed", problem, "message")
    if action in (Action.propose, Action.amend):
        resolution = page.field("resolution") or "refund_only"
        if resolution not in Resolution.__members__:
            resolution = "refund_only"
        try:
            amount = f.parse_amount(page.field("amount"), d.currency)
        except ValueError:
            raise DomainError("invalid_amount", "Write the amount as a number.", "amount") from None
        return c.Propose(Resolution(resolution), amount, message)
    if action is Action.accept:  # R34: the proposal the page showed
        shown = page.field("proposal_id")
        return c.Accept(int(shown)) if shown.isdigit() and len(shown) < 10 else None
    if action in TEXT_ACTIONS:
        return c.Say(message)
    if action is Action.decide:
        if not written(message):  # both parties read why (the page asks for reasons; R15)
            raise DomainError("reasons_required", "Give the reasons for the verdict.", "message")
        try:
            amount = f.parse_amount(page.field("refund_amount"), d.currency)
        except ValueError:
            raise DomainError("invalid_amount", "Write the amount as a number.", "refund_amount") from None
        return c.Decide(amount or 0, page.field("return_required") == "on", page.field("penalise_seller") == "on",
                        message)
    if action in (Action.ship_return, Action.reship):
        return c.Ship(page.field("carrier") or "—", page.field("tracking_number"))
    if action is Action.confirm_return:
        condition = page.field("condition")
        if condition not in ReturnCondition.__members__:
            raise DomainError("condition_required", "Say in what condition the return arrived.", "condition")
        return c.ConfirmReturn(ReturnCondition(condition), message)
    return None


# The form on the page each action is sent from (its text field's name_id), so that a
# refused form comes back with what was typed; and refusals after which that form is gone.
FORM_OF = {Action.propose: "propose", Action.amend: "amend", Action.reject: "reject", Action.argue: "argue",
           Action.decide: "decide", Action.agree_verdict: "verdict", Action.disagree_verdict: "verdict",
           Action.confirm_return: "confirm_return"}
MOVED_ON = {"deadline_passed", "action_not_allowed", "dispute_moved_on", "not_your_action", "dispute_closed",
            "version_mismatch", "proposal_changed", "verdict_final"}

DONE = {
    Action.amend: words.N_("Your request is changed."),
    Action.propose: words.N_("Your proposal is sent."),
    Action.accept: words.N_("You accepted the proposal."),
    Action.reject: words.N_("You rejected the proposal."),
    Action.withdraw: words.N_("The dispute is withdrawn."),
    Action.escalate: words.N_("The platform's arbitrators will decide."),
    Action.argue: words.N_("Your argument is added."),
    Action.decide: words.N_("The verdict is issued."),
    Action.agree_verdict: words.N_("Your reply is recorded: you agree."),
    Action.disagree_verdict: words.N_("Your reply is recorded: you disagree."),
    Action.ship_return: words.N_("The return's tracking number is recorded."),
    Action.confirm_return: words.N_("The return is confirmed."),
    Action.reship: words.N_("The replacement is shipped."),
}


@router.post("/disputes/{dispute_id}/do/{action}")
async def act(dispute_id: PathId, action: str, page: PageDep):
    """One of the actions the dispute page offered (R27)."""
    page.require("buyer", "seller", "arbitrator")
    d = await load_dispute(page, dispute_id)
    if action not in DONE:
        return page.not_found()
    what = Action(action)
    try:
        seen = page.field("version")  # R34: the version the page showed, sent back by the form
        await disputes.act(page.app, caller=page.caller, dispute_id=dispute_id, action=what,
                           cmd=await _command(page, what, d),
                           expected_version=int(seen) if seen.isdigit() and len(seen) < 10 else None)
    except DomainError as exc:
        error = exc.message if exc.code == "language_not_allowed" else page.error_text(exc, currency=d.currency)
        form = FORM_OF.get(what)
        if form is not None and exc.code not in MOVED_ON:  # the form again, with what was typed
            typed = {"message": page.field("message"), "error": error,
                     "amount": page.field("amount") or page.field("refund_amount")}
            return await show_dispute(page, await load_dispute(page, dispute_id), drafts={form: typed},
                                      status=409 if exc.status == 409 else 422)
        page.flash("error", error)
    else:
        page.flash("ok", page._(DONE[what]))
    return page.redirect(f"/disputes/{dispute_id}")


@router.post("/disputes/{dispute_id}/evidence")
async def add_evidence(dispute_id: PathId, page: PageDep):
    page.require("buyer", "seller")
    await load_dispute(page, dispute_id)  # "not found" for a dispute they may not see
    uploads = page.uploads("file")  # several at once (R10), each saying what it shows (R37)
    if not uploads:
        page.flash("error", page.error_text(DomainError("file_required", "")))
    for upload in uploads:
        await attach(page, dispute_id, upload, shows=page.field("shows") or None)
    return page.redirect(f"/disputes/{dispute_id}#evidence")


async def _serve(page: Page, evidence_id: int, thumbnail: bool):
    page.require("buyer", "seller", "arbitrator")
    try:
        sha256, media_type, name = await evidence.evidence_file(page.app, caller=page.caller,
                                                                evidence_id=evidence_id, thumbnail=thumbnail)
    except NotFound:
        return page.not_found()
    return evidence_response(page.request.app.state.evidence_store, sha256, media_type, name)


@router.get("/evidence/{evidence_id}/file")
async def evidence_file(evidence_id: PathId, page: PageDep):
    return await _serve(page, evidence_id, thumbnail=False)


@router.get("/evidence/{evidence_id}/thumbnail")
async def evidence_thumbnail(evidence_id: PathId, page: PageDep):
    return await _serve(page, evidence_id, thumbnail=True)


@router.post("/disputes/{dispute_id}/notes")
async def add_note(dispute_id: PathId, page: PageDep):
    """R32: a note only staff see."""
    page.require("arbitrator")
    await load_dispute(page, dispute_id)  # "not found" for a dispute they may not see
    try:
        await conversations.add_note(page.app, caller=page.caller, dispute_id=dispute_id, body=page.field("body"))
    except DomainError as exc:
        page.flash("error", page.error_text(exc))
    else:
        page.flash("ok", page._("Note added (staff only)."))
    return page.redirect(f"/disputes/{dispute_id}#notes")


def your_move(v: dict) -> bool:
    """Is the reader the one who must act before the running deadline?"""
    role, allowed = v["your_role"], set(v["allowed_actions"])
    if v["deadline"] and v["deadline"]["decides_against"] == role:
        return True
    if "agree_verdict" in allowed or "accept" in allowed and v["state"] == "negotiating":
        return True
    return role == "arbitrator" and "decide" in allowed


async def _rows(page: Page, found: list[Dispute]) -> list[dict]:
    lines = await reads.lines(page.app, [d.line_id for d in found])
    names = await reads.people(page.app, {i for d in found for i in (d.buyer_id, d.seller_id)})
    rows = []
    for d in found:
        v = dispute_view(d, page.caller, page.app.policy, page.now)
        rows.append({"d": d, "v": v, "line": lines.get(d.line_id, {}), "buyer": names.get(d.buyer_id, {}),
                     "seller": names.get(d.seller_id, {}), "deadline": deadline_box(page, v),
                     "your_move": your_move(v)})
    return rows


@router.get("/inbox")
async def inbox(page: PageDep):
    """The seller's disputes, the nearest respond-by first, with the time left (R12)."""
    user = page.require("seller", "buyer")
    open_ = await queries.list_disputes(page.app, page.caller, state=None, open_only=True, limit=200, after_id=None)
    closed = await queries.list_disputes(page.app, page.caller, state="closed", open_only=False, limit=200,
                                         after_id=None)
    closed.sort(key=lambda d: d.closed_at or d.opened_at, reverse=True)
    waiting = await reads.unanswered_messages(page.app, user.id, user.role)
    # R38: buyers waiting for an answer to their request for more protection
    asking = (await protection_requests.waiting_for_seller(page.app, seller_id=user.id)
              if user.role == "seller" else [])
    writers = await reads.people(page.app, [m["author_id"] for m in waiting] + [r["buyer_id"] for r in asking])
    return page.render("inbox.html", open_rows=await _rows(page, open_), closed_rows=await _rows(page, closed[:30]),
                       waiting=waiting, writers=writers, asking=asking)


@router.get("/arbitration")
async def arbitration(page: PageDep):
    """R15: escalated disputes, the nearest deadline first, with target and limit."""
    page.require("arbitrator")
    found = await arbitration_queue(page.app, caller=page.caller, limit=100, offset=0)
    rows = await _rows(page, found.items)
    policy = page.app.policy
    for row in rows:
        d = row["d"]
        row["target"] = d.escalated_at + policy.days("arbitration_review_target_days")
        row["limit"] = d.escalated_at + policy.days("arbitration_limit_days")
        row["past_target"] = page.now >= row["target"]
        row["target_left"] = page.f.duration(row["target"] - page.now)
    return page.render("arbitration.html", rows=rows)
