"""Money: refunds recorded for buyers and payouts owed to sellers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ombuds.api.auth import app_state, get_caller
from ombuds.api.schemas import PathId, QueryId
from ombuds.domain import ledger
from ombuds.domain.errors import Forbidden, NotFound
from ombuds.services import queries, refunds
from ombuds.services.context import Caller, Ombuds

router = APIRouter(prefix="/api/v1", tags=["money"])
CallerDep = Annotated[Caller, Depends(get_caller)]
AppDep = Annotated[Ombuds, Depends(app_state)]


@router.get("/refunds")
async def list_refunds(caller: CallerDep, app: AppDep, order_id: QueryId = None,
                       buyer_id: QueryId = None, status: str | None = None,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    """Refunds recorded so far (money movement and dates belong to the ledger)."""
    return {"items": await queries.list_refunds(app, caller, order_id=order_id, buyer_id=buyer_id,
                                                status=status, limit=limit)}


@router.get("/payouts")
async def list_payouts(caller: CallerDep, app: AppDep, order_id: QueryId = None,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    """What sellers are owed, line by line (R1)."""
    return {"items": await queries.list_payouts(app, caller, order_id=order_id, limit=limit)}


@router.get("/balances/sellers/{seller_id}")
async def seller_balance(seller_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """What the seller has been paid out, per currency (derived from the ledger)."""
    _own_or_staff(caller, seller_id)
    account = ledger.seller(seller_id)
    return {"seller_id": seller_id, "balances": (await queries.balance(app, [account]))[account]}


@router.get("/balances/buyers/{buyer_id}")
async def buyer_balance(buyer_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """The buyer's in-platform balance (R31), per currency."""
    _own_or_staff(caller, buyer_id)
    account = ledger.buyer_balance(buyer_id)
    return {"buyer_id": buyer_id, "balances": (await queries.balance(app, [account]))[account]}


@router.post("/refunds/{refund_id}/retry")
async def retry_refund(refund_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """The operator sends a failed refund to the provider again (marketplace key)."""
    if not caller.is_platform:
        raise Forbidden("marketplace_only", "Only the marketplace retries refunds.")
    return await refunds.retry(app, refund_id=refund_id)


@router.post("/refunds/{refund_id}/settlement")
async def record_settlement(refund_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """A payment provider's callback, relayed by the marketplace: the refund has landed."""
    if not caller.is_platform:
        raise Forbidden("marketplace_only", "Only the marketplace reports settlements.")
    return await refunds.record_settlement(app, refund_id=refund_id)


def _own_or_staff(caller: Caller, user_id: int) -> None:
    if not (caller.is_staff or caller.user_id == user_id):
        raise NotFound("balance")
