"""Webhook endpoints over the API (marketplace key), and the local mailbox pages.

The mailbox (``/mailbox``) exists only while no SMTP server is configured: it is where the
embedded default and the demo keep the e-mails they would have sent. It has no login, so
it is for demos and development, not for a server that real people's e-mail reaches.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import Field, HttpUrl

from ombuds.api.auth import app_state, get_caller
from ombuds.api.schemas import Body, OptionalText, PathId
from ombuds.domain.errors import NotFound
from ombuds.emails.catalogue import environment
from ombuds.services import mail, webhooks
from ombuds.services.context import Caller, Ombuds

CallerDep = Annotated[Caller, Depends(get_caller)]
AppDep = Annotated[Ombuds, Depends(app_state)]

router = APIRouter()


class NewWebhook(Body):
    url: HttpUrl = Field(description="where events are POSTed (http or https)")
    event_types: list[str] = Field(min_length=1, max_length=100,
                                   description="e.g. ['dispute.opened', 'dispute.*', 'order.*'] or ['*']")
    description: Annotated[str, OptionalText(500)] = ""


@router.post("/api/v1/webhooks", status_code=201, tags=["webhooks"])
async def register_webhook(body: NewWebhook, caller: CallerDep, app: AppDep) -> dict:
    """Register an endpoint. The answer carries its signing secret (``whsec_…``) once: keep it
    to verify the ``webhook-signature`` header (Standard Webhooks)."""
    return await webhooks.create_endpoint(app, caller=caller, url=str(body.url), event_types=body.event_types,
                                          description=body.description)


@router.get("/api/v1/webhooks", tags=["webhooks"])
async def list_webhooks(caller: CallerDep, app: AppDep) -> dict:
    return {"items": await webhooks.list_endpoints(app, caller=caller)}


@router.get("/api/v1/webhooks/{endpoint_id}", tags=["webhooks"])
async def get_webhook(endpoint_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    return await webhooks.get_endpoint(app, caller=caller, endpoint_id=endpoint_id)


@router.delete("/api/v1/webhooks/{endpoint_id}", status_code=204, tags=["webhooks"])
async def delete_webhook(endpoint_id: PathId, caller: CallerDep, app: AppDep) -> Response:
    """Stop sending to this endpoint; deliveries still pending are dropped, the log is kept."""
    await webhooks.delete_endpoint(app, caller=caller, endpoint_id=endpoint_id)
    return Response(status_code=204)


@router.post("/api/v1/webhooks/{endpoint_id}/enable", tags=["webhooks"])
async def enable_webhook(endpoint_id: PathId, caller: CallerDep, app: AppDep) -> dict:
    """Turn an endpoint that was disabled after repeated failures back on."""
    return await webhooks.enable_endpoint(app, caller=caller, endpoint_id=endpoint_id)


@router.get("/api/v1/webhooks/{endpoint_id}/deliveries", tags=["webhooks"])
async def list_webhook_deliveries(endpoint_id: PathId, caller: CallerDep, app: AppDep,
                                  status: str | None = Query(None, pattern="^(pending|succeeded|failed)$"),
                                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict:
    """The delivery log: each event sent to this endpoint, newest first, with every try."""
    return {"items": await webhooks.list_deliveries(app, caller=caller, endpoint_id=endpoint_id,
                                                    status=status, limit=limit)}


def _mailbox_open(request: Request) -> None:
    """Shown only without SMTP, and only in the demo (manual clock) or when the operator
    turns it on: it has no sign-in, so it must not be open on a production server."""
    settings = request.app.state.settings
    if settings.smtp_host or not (settings.clock == "manual" or settings.mailbox_page):
        raise NotFound("mailbox")


def _reader_language(request: Request) -> str:
    """The pages' language choice (the EN/RU switch), else the browser's."""
    from ombuds.wording.i18n import from_accept_language, pick_language
    return pick_language(request.cookies.get("ombuds_lang"),
                         from_accept_language(request.headers.get("accept-language")))


@router.get("/mailbox", response_class=HTMLResponse, include_in_schema=False)
async def mailbox_page(request: Request, app: AppDep) -> HTMLResponse:
    """Every e-mail kept locally, newest first."""
    _mailbox_open(request)
    lang = _reader_language(request)
    page = environment(lang).get_template("mailbox.html").render(messages=await mail.mailbox(app), lang=lang)
    return HTMLResponse(page)


@router.get("/mailbox/{message_id}", response_class=HTMLResponse, include_in_schema=False)
async def mailbox_message_page(message_id: PathId, request: Request, app: AppDep) -> HTMLResponse:
    _mailbox_open(request)
    lang = _reader_language(request)
    page = environment(lang).get_template("mailbox_message.html").render(
        m=await mail.mailbox_message(app, message_id), lang=lang)
    return HTMLResponse(page)
