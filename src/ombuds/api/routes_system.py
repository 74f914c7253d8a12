"""The policy in force, health, and — only with a manual clock — moving time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ombuds.api import schemas
from ombuds.api.auth import app_state, get_caller
from ombuds.domain.errors import Forbidden
from ombuds.domain.lifecycle import TIMERS, TRANSITIONS
from ombuds.services import clock as clock_service
from ombuds.services.context import Caller, Ombuds

router = APIRouter(prefix="/api/v1", tags=["system"])
CallerDep = Annotated[Caller, Depends(get_caller)]
AppDep = Annotated[Ombuds, Depends(app_state)]


@router.get("/policy")
async def policy(app: AppDep) -> dict:
    """Every number of the rules in force (public: buyers and sellers may read it)."""
    return app.policy.model_dump(mode="json")


@router.get("/lifecycle")
async def lifecycle() -> dict:
    """The dispute lifecycle table itself: transitions and timers."""
    return {
        "transitions": [{"state": t.state.value, "action": t.action.value,
                         "actors": sorted(a.value for a in t.actors), "to": t.to.value,
                         "rule": t.rule, "doc": t.doc} for t in TRANSITIONS],
        "timers": [{"state": t.state.value, "deadline": t.deadline, "fires": t.action.value,
                    "decides_against": t.against and t.against.value, "rule": t.rule, "doc": t.doc}
                   for t in TIMERS],
    }


@router.get("/clock")
async def get_clock(app: AppDep) -> dict:
    return {"now": (await app.now()).isoformat(), "manual": app.clock.manual}


def clock_router() -> APIRouter:
    """Exists only when the clock is manual (demo and tests)."""
    manual = APIRouter(prefix="/api/v1", tags=["system"])

    @manual.post("/clock/advance")
    async def advance(body: schemas.ClockAdvance, caller: CallerDep, app: AppDep) -> dict:
        """Move the manual clock forward; every deadline that falls due runs, in order."""
        if not caller.is_platform:
            raise Forbidden("marketplace_only", "Only the marketplace moves the demo clock.")
        now, fired = await clock_service.advance(app, clock_service.parse_duration(body.duration))
        return {"now": now.isoformat(), "timers_fired": fired}

    return manual
