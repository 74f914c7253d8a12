"""R41: a dispute's whole case as one PDF, for the marketplace, staff and the parties."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from ombuds.adapters.http_files import pdf_response
from ombuds.api.auth import app_state, get_caller
from ombuds.api.schemas import PathId
from ombuds.domain.time_zones import main_zone
from ombuds.services import case_file
from ombuds.services.case_pdf import render
from ombuds.services.context import Caller, Ombuds
from ombuds.store.tables import users
from ombuds.wording.i18n import from_accept_language, pick_language

router = APIRouter(prefix="/api/v1", tags=["disputes"])
PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}, "description": "the case file"}}


@router.get("/disputes/{dispute_id}/case-file", response_class=Response, responses=PDF)
async def case_file_pdf(dispute_id: PathId, request: Request, caller: Annotated[Caller, Depends(get_caller)],
                        app: Annotated[Ombuds, Depends(app_state)],
                        lang: Annotated[Literal["en", "ru"] | None, Query(description="default: the reader's")] = None
                        ) -> Response:
    """The case as one PDF (R41): parties, order and lines, timeline, messages, proposals, both
    sides' evidence (photo thumbnails, every file's SHA-256), carrier checkpoints, the verdict and
    the refunds with their dates. Staff notes only for staff (the marketplace key, arbitrators)."""
    case = await case_file.gather(app, getattr(request.app.state, "evidence_store", None),
                                  caller=caller, dispute_id=dispute_id)
    language, time_zone = await reader(app, caller, request.headers.get("accept-language"))
    pdf = await asyncio.to_thread(render, case, lang or language, time_zone)
    return pdf_response(pdf, f"dispute-{dispute_id}-case-file.pdf")


async def reader(app: Ombuds, caller: Caller, accept_language: str | None) -> tuple[str, str]:
    """The reader's language and time zone (R33); the marketplace key reads in UTC."""
    row = None
    if caller.user_id is not None:
        async with app.engine.connect() as conn:
            row = (await conn.execute(select(users.c.language, users.c.time_zone, users.c.country)
                                      .where(users.c.id == caller.user_id))).first()
    language = pick_language(row.language if row else None, from_accept_language(accept_language))
    return language, (row.time_zone or main_zone(row.country)) if row else "UTC"
