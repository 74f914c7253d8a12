"""Disputes: open one per order line, then act on it as the lifecycle table allows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ombuds.api import schemas
from ombuds.api.auth import app_state, get_caller
from ombuds.api.schemas import PathId, QueryId
from ombuds.api.versions import if_match
from ombuds.domain import commands as c
from ombuds.domain.errors import Forbidden
from ombuds.domain.lifecycle import Action
from ombuds.services import disputes, queries
from ombuds.services.context import Caller, Ombuds
from ombuds.services.views import dispute_view

router = APIRouter(prefix="/api/v1", tags=["disputes"])
CallerDep = Annotated[Caller, Depends(get_caller)]
IfMatch = Annotated[int | None, Depends(if_match)]  # R34
AppDep = Annotated[Ombuds, Depends(app_state)]


async def _view(app: Ombuds, caller: Caller, d, with_timeline: bool = False) -> dict:
    timeline = await queries.timeline(app, d.id) if with_timeline else None
    return dispute_view(d, caller, app.policy, await app.now(), timeline)


async def _act(app: Ombuds, caller: Caller, dispute_id: int, action: Action, cmd=None,
               expected_version: int | None = None) -> dict:
    d = await disputes.act(app, caller=caller, dispute_id=dispute_id, action=action, cmd=cmd,
                           expected_version=expected_version)
    return await _view(app, caller, d)


@router.post("/disputes", status_code=201)
async def open_dispute(body: schemas.NewDispute, caller: CallerDep, app: AppDep) -> dict:
    """R5–R8, R26: open a dispute on one order line; the seller's deadline starts (R12)."""
    d = await disputes.open_dispute(app, caller=caller, cmd=c.OpenDispute(**body.model_dump()))
    return await _view(app, caller, d)


@router.get("/disputes")
async def list_disputes(caller: CallerDep, app: AppDep, state: str | None = None,
                        open_only: bool = False, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                        after_id: QueryId = None) -> dict:
    """The caller's disputes, the nearest deadline first (a seller's inbox)."""
    found = await queries.list_disputes(app, caller, state=state, open_only=open_only, limit=limit,
                                        after_id=after_id)
    now = await app.now()
    return {"items": [dispute_view(d, caller, app.policy, now) for d in found]}


@router.get("/disputes/{dispute_id}")
async def get_dispute(dispute_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """The dispute, its timeline (R25), the deadline running and what you may do now (R27)."""
    d = await disputes.get_dispute(app, caller=caller, dispute_id=dispute_id)
    return await _view(app, caller, d, with_timeline=True)


@router.get("/disputes/{dispute_id}/timeline")
async def get_timeline(dispute_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    await disputes.get_dispute(app, caller=caller, dispute_id=dispute_id)
    return {"items": await queries.timeline(app, dispute_id)}


@router.post("/disputes/{dispute_id}/amend")
async def amend(dispute_id: PathId, body: schemas.ProposalBody,
                caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    """The buyer changes what she asks for, while the seller has not answered."""
    return await _act(app, caller, dispute_id, Action.amend, c.Propose(**body.model_dump()), expected_version=version)


@router.post("/disputes/{dispute_id}/proposals")
async def propose(dispute_id: PathId, body: schemas.ProposalBody,
                  caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    """R13: a new proposal (resolution, amount, message)."""
    return await _act(app, caller, dispute_id, Action.propose, c.Propose(**body.model_dump()), expected_version=version)


@router.post("/disputes/{dispute_id}/accept")
async def accept(dispute_id: PathId, body: schemas.AcceptBody, caller: CallerDep, app: AppDep,
                 version: IfMatch) -> dict:
    """Accept the other party's proposal on the table, named by its id (R34): it executes
    (refund, or return). 409 ``proposal_changed`` if another proposal replaced it."""
    return await _act(app, caller, dispute_id, Action.accept, c.Accept(body.proposal_id),
                      expected_version=version)


@router.post("/disputes/{dispute_id}/reject")
async def reject(dispute_id: PathId, body: schemas.MessageBody,
                 caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    return await _act(app, caller, dispute_id, Action.reject, c.Say(body.message), expected_version=version)


@router.post("/disputes/{dispute_id}/withdraw")
async def withdraw(dispute_id: PathId, caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    """R17: the buyer withdraws; the line can never be disputed again (R5)."""
    return await _act(app, caller, dispute_id, Action.withdraw, expected_version=version)


@router.post("/disputes/{dispute_id}/escalate")
async def escalate(dispute_id: PathId, caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    """R14: only when the policy allows manual escalation."""
    return await _act(app, caller, dispute_id, Action.escalate, expected_version=version)


@router.post("/disputes/{dispute_id}/arguments")
async def argue(dispute_id: PathId, body: schemas.MessageBody,
                caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    """R15: an argument for the arbitrator."""
    return await _act(app, caller, dispute_id, Action.argue, c.Say(body.message), expected_version=version)


@router.post("/disputes/{dispute_id}/verdict")
async def verdict(dispute_id: PathId, body: schemas.VerdictBody,
                  caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    """R15: the arbitrator decides (refund full / partial / none, return or not)."""
    if not caller.is_staff:
        raise Forbidden("arbitrators_only", "Only the platform's arbitrators issue verdicts.")
    return await _act(app, caller, dispute_id, Action.decide, c.Decide(**body.model_dump()), expected_version=version)


@router.post("/disputes/{dispute_id}/verdict-replies")
async def reply_to_verdict(dispute_id: PathId, body: schemas.VerdictReplyBody, caller: CallerDep,
                           app: AppDep, version: IfMatch) -> dict:
    """R16: "Reply now" — agree or disagree."""
    action = Action.agree_verdict if body.agree else Action.disagree_verdict
    return await _act(app, caller, dispute_id, action, c.Say(body.message), expected_version=version)


@router.post("/disputes/{dispute_id}/return-shipment")
async def ship_return(dispute_id: PathId, body: schemas.Shipment,
                      caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    """R18: the buyer enters the return's tracking before the deadline."""
    return await _act(app, caller, dispute_id, Action.ship_return, c.Ship(**body.model_dump()),
                      expected_version=version)


@router.post("/disputes/{dispute_id}/return-delivered")
async def return_delivered(dispute_id: PathId, caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    """The carrier delivered the return (marketplace key): the seller's 15 days start (R18)."""
    return await _act(app, caller, dispute_id, Action.return_delivered, expected_version=version)


@router.post("/disputes/{dispute_id}/return-received")
async def return_received(dispute_id: PathId, body: schemas.ReturnReceived, caller: CallerDep,
                          app: AppDep, version: IfMatch) -> dict:
    """R29: the seller confirms the return and its condition."""
    return await _act(app, caller, dispute_id, Action.confirm_return, c.ConfirmReturn(**body.model_dump()),
                      expected_version=version)


@router.post("/disputes/{dispute_id}/reship")
async def reship(dispute_id: PathId, body: schemas.Shipment, caller: CallerDep, app: AppDep, version: IfMatch) -> dict:
    """R19: the seller reships a replacement, with its own protection window."""
    return await _act(app, caller, dispute_id, Action.reship, c.Ship(**body.model_dump()), expected_version=version)

