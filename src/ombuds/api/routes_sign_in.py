"""R43: the marketplace asks for a sign-in link for one of its buyers or sellers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from ombuds.api.auth import app_state, get_caller
from ombuds.api.schemas import PathId
from ombuds.services import sign_in_links
from ombuds.services.context import Caller, Ombuds

router = APIRouter(prefix="/api/v1", tags=["users"])


class NewSignInLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    landing_page: str | None = Field(
        None, max_length=500, description="a path on Ombuds' pages, e.g. /disputes/12; "
                                          "default: the person's start page", examples=["/disputes/12"])


@router.post("/users/{user_id}/sign-in-links", status_code=201)
async def create_sign_in_link(user_id: PathId, request: Request,
                              caller: Annotated[Caller, Depends(get_caller)],
                              app: Annotated[Ombuds, Depends(app_state)],
                              body: NewSignInLink | None = None) -> dict:
    """A single-use link that signs the person in to Ombuds' pages and lands on the page given
    (R43; marketplace key). It lives ``sign_in_link_minutes`` (policy, 15). Send the person there
    from your site or your e-mail; only its hash is kept, so it cannot be shown again."""
    return await sign_in_links.issue(app, caller=caller, user_id=user_id,
                                     landing_page=body.landing_page if body else None,
                                     public_url=request.app.state.settings.public_url)
