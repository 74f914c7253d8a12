"""Evidence (R10, R22), conversations (R4, R32) and the live language check (R9)."""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import Field
from starlette.datastructures import UploadFile

from ombuds.adapters.http_files import BodyTooLarge, bounded, evidence_response
from ombuds.adapters.storage import EvidenceStore, store_from_settings
from ombuds.api.auth import app_state, get_caller
from ombuds.api.schemas import Body, OptionalText, PathId, QueryId
from ombuds.domain import evidence as rules
from ombuds.domain.errors import DomainError
from ombuds.domain.evidence_guidance import Proof
from ombuds.services import conversations, evidence
from ombuds.services.context import Caller, Ombuds
from ombuds.settings import Settings

router = APIRouter(prefix="/api/v1")
CallerDep = Annotated[Caller, Depends(get_caller)]
AppDep = Annotated[Ombuds, Depends(app_state)]
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and headers around the file


def install(app: FastAPI, settings: Settings) -> None:
    """Register the routes and the evidence store the settings name."""
    app.state.evidence_store = store_from_settings(settings)
    app.include_router(router)


def store_of(request: Request) -> EvidenceStore:
    return request.app.state.evidence_store


StoreDep = Annotated[EvidenceStore, Depends(store_of)]


class MessageBody(Body):
    body: Annotated[str, OptionalText(conversations.MAX_BODY)]  # blank or invisible: "message_required"


class LanguageCheckBody(Body):
    text: str = Field(max_length=20_000)
    field: str | None = Field(None, max_length=100, description="the form field, echoed in the answer")


# R9: the live check the dispute form calls as the writer types ----------------------------

@router.post("/language-check", tags=["disputes"])
async def language_check(body: LanguageCheckBody, caller: CallerDep, app: AppDep) -> dict:
    """Is this text in an allowed language (R9)? The same check opening, proposing and
    arguing apply; ``message`` says what to do when it is not."""
    allowed = tuple(app.policy.allowed_languages)
    checker = await to_thread.run_sync(app.language_checker)
    try:
        await to_thread.run_sync(
            lambda: checker.check(body.text, allowed=allowed, field=body.field or "text"))
    except DomainError as refused:
        return {"ok": False, "found": refused.details["found"], "message": refused.message,
                "field": body.field, "allowed": list(allowed)}
    return {"ok": True, "found": checker.detect(body.text), "message": None, "field": body.field,
            "allowed": list(allowed)}


# R4: messages on an order -----------------------------------------------------------------

@router.post("/orders/{order_id}/messages", status_code=201, tags=["orders"])
async def post_order_message(order_id: PathId, body: MessageBody, caller: CallerDep, app: AppDep) -> dict:
    """Buyer and seller talk on the order, before any dispute (R4). Staff may write too."""
    return await conversations.post_order_message(app, caller=caller, order_id=order_id, body=body.body)


@router.get("/orders/{order_id}/messages", tags=["orders"])
async def order_messages(order_id: PathId, caller: CallerDep, app: AppDep, after_id: QueryId = None,
                         limit: Annotated[int, Query(ge=1, le=200)] = 100) -> dict:
    return {"items": await conversations.order_messages_of(app, caller=caller, order_id=order_id,
                                                           after_id=after_id, limit=limit)}


# R32: staff-only notes ----------------------------------------------------------------------

@router.post("/disputes/{dispute_id}/notes", status_code=201, tags=["arbitration"])
async def add_note(dispute_id: PathId, body: MessageBody, caller: CallerDep, app: AppDep) -> dict:
    """A note only arbitrators and the marketplace see (R32); parties get 404."""
    return await conversations.add_note(app, caller=caller, dispute_id=dispute_id, body=body.body)


@router.get("/disputes/{dispute_id}/notes", tags=["arbitration"])
async def notes(dispute_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    return {"items": await conversations.notes_of(app, caller=caller, dispute_id=dispute_id)}


# R10: evidence ----------------------------------------------------------------------------

@router.get("/evidence/limits", tags=["evidence"])
async def evidence_limits(request: Request, app: AppDep) -> dict:
    """What may be uploaded, published so a client can check before sending (public)."""
    return rules.limits(app.policy, max_image_pixels=request.app.state.settings.evidence_max_image_pixels)


_UPLOAD_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "one photo, video or PDF; see GET /evidence/limits"},
                   "shows": {"type": "string", "enum": [p.value for p in Proof],
                             "description": "R37 (optional): what the file shows; the policy's "
                                            "evidence_guidance lists what helps each reason"}}}}}}}


@router.post("/disputes/{dispute_id}/evidence", status_code=201, tags=["evidence"],
             openapi_extra=_UPLOAD_DOC)
async def add_evidence(dispute_id: PathId, request: Request, caller: CallerDep, app: AppDep,
                       store: StoreDep) -> dict:
    """Attach one file (multipart field ``file``) to a dispute that is not closed (R10), with
    what it shows if you like (field ``shows``, R37). Its type is read from its bytes; it can
    never be edited or deleted afterwards."""
    await evidence.check_may_add(app, caller=caller, dispute_id=dispute_id)  # before reading the body
    limit = max(app.policy.evidence_photo_max_bytes, app.policy.evidence_video_max_bytes) + FORM_OVERHEAD
    try:
        form = await bounded(request, limit).form(max_files=1, max_fields=4)
    except BodyTooLarge:
        raise _body_too_large(limit) from None
    try:
        upload, shows = form.get("file"), form.get("shows")
        if not isinstance(upload, UploadFile):
            raise DomainError("file_required", "Send the file as the multipart form field 'file'.", "file")
        return await evidence.add_evidence(
            app, store, caller=caller, dispute_id=dispute_id,
            upload=evidence.Upload(upload.file, upload.filename),
            max_image_pixels=request.app.state.settings.evidence_max_image_pixels,
            shows=shows if isinstance(shows, str) else None)
    finally:
        await form.close()


@router.get("/disputes/{dispute_id}/evidence", tags=["evidence"])
async def list_evidence(dispute_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """Both sides' files, with a count per side; staff also see reuse flags (R22)."""
    return await evidence.list_evidence(app, caller=caller, dispute_id=dispute_id)


@router.get("/evidence/{evidence_id}/file", tags=["evidence"])
async def evidence_file(evidence_id: PathId, caller: CallerDep, app: AppDep, store: StoreDep):
    """The file as others see it: photos re-encoded without GPS or other metadata."""
    return evidence_response(store, *await evidence.evidence_file(app, caller=caller, evidence_id=evidence_id))


@router.get("/evidence/{evidence_id}/thumbnail", tags=["evidence"])
async def evidence_thumbnail(evidence_id: PathId, caller: CallerDep, app: AppDep, store: StoreDep):
    return evidence_response(store, *await evidence.evidence_file(app, caller=caller, evidence_id=evidence_id,
                                                       thumbnail=True))


def _body_too_large(limit: int) -> rules.FileTooLarge:
    return rules.FileTooLarge("file_too_large",
                              f"The upload is larger than the biggest file evidence may be "
                              f"({limit - FORM_OVERHEAD} bytes).", "file", max_bytes=limit - FORM_OVERHEAD)
