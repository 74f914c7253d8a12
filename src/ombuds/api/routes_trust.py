"""Trust on both sides: seller ratings and penalties (R21), buyer risk signals (R22),
complaints (R24) and the arbitrators' queue with its deadlines (R15)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from ombuds.api import schemas
from ombuds.api.auth import app_state, get_caller
from ombuds.api.schemas import Body, Offset, PathId, QueryId
from ombuds.api.views_trust import complaint_view, review_view
from ombuds.domain import complaints as rules
from ombuds.domain.complaints import ComplaintAction
from ombuds.domain.identity import saved_id
from ombuds.services import arbitration, buyer_risk, complaints, sellers
from ombuds.services.context import Caller, Ombuds
from ombuds.services.views import dispute_view

router = APIRouter(prefix="/api/v1")
CallerDep = Annotated[Caller, Depends(get_caller)]
AppDep = Annotated[Ombuds, Depends(app_state)]
LongText = Annotated[str, schemas.Text(5000)]


class PenaltyBody(Body):
    kind: str = Field(description="warning, suspension, or reinstatement (lifts a suspension)")
    reason: LongText
    dispute_id: schemas.Id | None = Field(None, description="the dispute that led to it, if any")


class NewComplaint(Body):
    order_id: schemas.Id
    line_id: schemas.Id | None = Field(None, description="the line it is about; none for the whole order")
    about: str = Field("order", description="order or seller")
    message: LongText


class AnswerBody(Body):
    message: LongText


class GoodwillBody(Body):
    amount: Annotated[int, schemas.Count(1, schemas.MAX_AMOUNT)] = Field(
        description="minor units, in the order's currency")
    message: LongText
    refund_to: str = Field("original_method", max_length=40, description="original_method or platform_balance (R31)")


class ComplaintPenaltyBody(Body):
    kind: str = Field(description="warning or suspension")
    reason: LongText


# Sellers (R21) ------------------------------------------------------------------------------

@router.get("/sellers/flagged", tags=["sellers"])
async def flagged_sellers(caller: CallerDep, app: AppDep) -> dict:
    """Sellers over the lost-disputes threshold now, oldest flag first (staff)."""
    return {"items": await sellers.flagged_sellers(app, caller=caller)}


@router.get("/sellers/{seller_id}/rating", tags=["sellers"])
async def seller_rating(seller_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """R21: the seller's rating over the rolling window, for anyone signed in — a buyer
    looking at an order reads its seller's rating here. Staff also see the flag."""
    return await sellers.seller_rating(app, caller=caller, seller_id=seller_id)


@router.get("/sellers/{seller_id}/timeline", tags=["sellers"])
async def seller_timeline(seller_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """Warnings, suspensions and penalising verdicts (staff and the seller)."""
    return await sellers.seller_timeline(app, caller=caller, seller_id=seller_id)


@router.post("/sellers/{seller_id}/penalties", status_code=201, tags=["sellers"])
async def penalise_seller(seller_id: PathId, body: PenaltyBody, caller: CallerDep, app: AppDep) -> dict:
    """An arbitrator warns or suspends a seller, or lifts a suspension, with a reason. A
    suspended seller takes no new orders (409 ``seller_suspended``)."""
    return await sellers.penalise(app, caller=caller, seller_id=seller_id, kind=body.kind,
                                  reason=body.reason, dispute_id=body.dispute_id)


# Buyers (R22) -------------------------------------------------------------------------------

@router.get("/buyers/{buyer_id}/risk", tags=["arbitration"])
async def buyer_risk_signals(buyer_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """R22: the buyer's risk signals with the numbers behind each (arbitrators only)."""
    return await buyer_risk.buyer_risk(app, caller=caller, buyer_id=buyer_id)


# Arbitration (R15) --------------------------------------------------------------------------

@router.get("/arbitration/queue", tags=["arbitration"])
async def arbitration_queue(caller: CallerDep, app: AppDep,
                            limit: Annotated[int, Query(ge=1, le=200)] = 50,
                            offset: Offset = 0) -> dict:
    """R15: escalated disputes, the nearest limit first: past-limit cases, then those near
    their limit, then the rest. Each shows its review target and limit."""
    found = await arbitration.queue(app, caller=caller, limit=limit, offset=offset)
    items = []
    for d in found.items:
        view = dispute_view(d, caller, app.policy, found.now)
        view["review"] = review_view(d, found.now, app.policy)
        items.append(view)
    return {"items": items, "summary": found.summary}


@router.get("/arbitration/cases/{dispute_id}", tags=["arbitration"])
async def arbitration_case(dispute_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """The case file: the dispute with its timeline and deadlines, the buyer's risk signals
    (R22) and the seller's rating (R21). Arbitrators only."""
    d, timeline, risk, rating = await arbitration.case_file(app, caller=caller, dispute_id=dispute_id)
    now = await app.now()
    return {"dispute": dispute_view(d, caller, app.policy, now, timeline),
            "review": review_view(d, now, app.policy), "buyer_risk": risk, "seller_rating": rating}


@router.get("/arbitration/alerts", tags=["arbitration"])
async def staff_alerts(caller: CallerDep, app: AppDep, kind: str | None = None,
                       before_id: QueryId = None,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict:
    """What the platform's staff were told, newest first: cases near or past their review
    limit, complaints due or overdue, sellers flagged."""
    return {"items": await arbitration.alerts(app, caller=caller, kind=kind, before_id=before_id, limit=limit)}


# Complaints (R24) ---------------------------------------------------------------------------

async def _complaint(app: Ombuds, caller: Caller, complaint_id: int) -> dict:
    c, extras = await complaints.get_complaint(app, caller=caller, complaint_id=complaint_id)
    return complaint_view(c, caller, app.policy, await app.now(), penalty=extras.penalty,
                          timeline=extras.timeline)


async def _act(app: Ombuds, caller: Caller, complaint_id: int, action: ComplaintAction, cmd=None) -> dict:
    await complaints.act(app, caller=caller, complaint_id=complaint_id, action=action, cmd=cmd)
    return await _complaint(app, caller, complaint_id)


@router.post("/complaints", status_code=201, tags=["complaints"])
async def file_complaint(body: NewComplaint, caller: CallerDep, app: AppDep) -> dict:
    """R24: once a line (or the order) can no longer be disputed, the buyer complains to the
    platform about the order or the seller. The platform aims to answer within
    ``complaint_answer_days``."""
    c = await complaints.file_complaint(app, caller=caller, order_id=body.order_id, line_id=body.line_id,
                                        about=body.about, message=body.message)
    return await _complaint(app, caller, saved_id(c))


@router.get("/complaints", tags=["complaints"])
async def list_complaints(caller: CallerDep, app: AppDep, state: str | None = None,
                          limit: Annotated[int, Query(ge=1, le=200)] = 50,
                          offset: Offset = 0) -> dict:
    """Staff: the complaints queue, open ones first by answer target. A buyer: her own."""
    found = await complaints.list_complaints(app, caller=caller, state=state, limit=limit, offset=offset)
    now = await app.now()
    return {"items": [complaint_view(c, caller, app.policy, now) for c in found]}


@router.get("/complaints/{complaint_id}", tags=["complaints"])
async def get_complaint(complaint_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    return await _complaint(app, caller, complaint_id)


@router.post("/complaints/{complaint_id}/answer", tags=["complaints"])
async def answer(complaint_id: PathId, body: AnswerBody, caller: CallerDep, app: AppDep) -> dict:
    return await _act(app, caller, complaint_id, ComplaintAction.answer, rules.Say(body.message))


@router.post("/complaints/{complaint_id}/goodwill-refund", tags=["complaints"])
async def goodwill_refund(complaint_id: PathId, body: GoodwillBody, caller: CallerDep, app: AppDep) -> dict:
    """A refund paid by the platform (not the seller), through the ledger; it shows in the
    buyer's refunds with its expected dates (R20)."""
    return await _act(app, caller, complaint_id, ComplaintAction.grant_goodwill,
                      rules.Goodwill(body.amount, body.message, body.refund_to))


@router.post("/complaints/{complaint_id}/penalty", tags=["complaints"])
async def penalise_through_complaint(complaint_id: PathId, body: ComplaintPenaltyBody, caller: CallerDep,
                                     app: AppDep) -> dict:
    return await _act(app, caller, complaint_id, ComplaintAction.penalise_seller,
                      rules.Penalise(body.kind, body.reason))


@router.post("/complaints/{complaint_id}/close", tags=["complaints"])
async def close(complaint_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    return await _act(app, caller, complaint_id, ComplaintAction.close)


@router.post("/complaints/{complaint_id}/withdraw", tags=["complaints"])
async def withdraw(complaint_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    return await _act(app, caller, complaint_id, ComplaintAction.withdraw)
