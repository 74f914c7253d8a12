"""Money: refunds recorded for buyers and payouts owed to sellers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ombuds.api.auth import app_state, get_caller
from ombuds.services import queries
from ombuds.services.context import Caller, Ombuds

router = APIRouter(prefix="/api/v1", tags=["money"])
CallerDep = Annotated[Caller, Depends(get_caller)]
AppDep = Annotated[Ombuds, Depends(app_state)]


@router.get("/refunds")
async def list_refunds(caller: CallerDep, app: AppDep, order_id: int | None = None,
                       buyer_id: int | None = None, status: str | None = None,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    """Refunds recorded so far (money movement and dates belong to the ledger)."""
    return {"items": await queries.list_refunds(app, caller, order_id=order_id, buyer_id=buyer_id,
                                                status=status, limit=limit)}


@router.get("/payouts")
async def list_payouts(caller: CallerDep, app: AppDep, order_id: int | None = None,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    """What sellers are owed, line by line (R1)."""
    return {"items": await queries.list_payouts(app, caller, order_id=order_id, limit=limit)}
