"""The operator's dashboard as numbers (the marketplace key and arbitrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ombuds.api.auth import app_state, get_caller
from ombuds.services.context import Caller, Ombuds
from ombuds.services.dashboard import MAX_DAYS, dashboard

router = APIRouter(prefix="/api/v1", tags=["arbitration"])


@router.get("/dashboard")
async def dashboard_numbers(caller: Annotated[Caller, Depends(get_caller)], app: Annotated[Ombuds, Depends(app_state)],
                            days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 30) -> dict:
    """Disputes opened and closed per day, how they ended, time to the seller's first answer and to
    resolution (median and 90th percentile, hours), the arbitration queue against its target and
    limit, refunds by payment method with their on-time rate, and the sellers nearest the flag
    threshold — over the last ``days`` (staff only)."""
    return await dashboard(app, caller=caller, days=days)
