"""R41: the case file as a PDF from the dispute page (parties) and the case page (arbitrators)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response

from ombuds.adapters.http_files import pdf_response
from ombuds.domain.errors import NotFound
from ombuds.services import case_file
from ombuds.services.case_pdf import render
from ombuds.web.pages import PageDep, PathId

router = APIRouter(include_in_schema=False)


@router.get("/disputes/{dispute_id}/case-file.pdf")
async def case_file_pdf(dispute_id: PathId, page: PageDep) -> Response:
    page.require("buyer", "seller", "arbitrator")
    try:
        case = await case_file.gather(page.app, getattr(page.request.app.state, "evidence_store", None),
                                      caller=page.caller, dispute_id=dispute_id)
    except NotFound:
        return page.not_found()
    pdf = await asyncio.to_thread(render, case, page.lang, page.f.time_zone)
    return pdf_response(pdf, f"dispute-{dispute_id}-case-file.pdf")
