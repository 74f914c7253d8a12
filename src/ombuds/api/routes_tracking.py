"""R40: carrier webhooks. Ombuds' own JSON (signed per Standard Webhooks) and AfterShip's.

No bearer token: the signature is the credential. Everything is checked — signature, shape,
the parcel, a replay — before anything changes; each refusal is a 4xx with a stable code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ombuds.adapters import carrier_webhooks as cw
from ombuds.api.auth import app_state, get_caller
from ombuds.api.schemas import PathId, QueryId
from ombuds.domain.errors import DomainError
from ombuds.domain.tracking import Checkpoint, ParcelStatus, aftership_status
from ombuds.services import orders, tracking
from ombuds.services.context import Caller, Ombuds

router = APIRouter(prefix="/api/v1", tags=["tracking"])
AppDep = Annotated[Ombuds, Depends(app_state)]
MAX_BODY = 1024 * 1024


class CheckpointData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tracking_number: str = Field(min_length=1, max_length=100)
    carrier: str | None = Field(None, max_length=100)
    order_id: int | None = Field(None, ge=1, le=2**63 - 1, description="only when a tracking number is reused")
    status: ParcelStatus
    occurred_at: AwareDatetime
    location: str | None = Field(None, max_length=200)
    message: str | None = Field(None, max_length=2000)


class CheckpointEvent(BaseModel):
    """Ombuds' tracking webhook: ``{"type": "parcel.checkpoint", "timestamp": …, "data": {…}}``."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["parcel.checkpoint"]
    timestamp: datetime | None = None
    data: CheckpointData


class AfterShipCheckpoint(BaseModel):
    model_config = ConfigDict(extra="ignore")
    checkpoint_time: str | None = None
    tag: str | None = None
    subtag: str | None = None
    message: str | None = Field(None, max_length=2000)
    location: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    country_iso3: str | None = Field(None, max_length=3)


class AfterShipTracking(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tracking_number: str = Field(min_length=1, max_length=100)
    slug: str | None = Field(None, max_length=100)
    tag: str | None = None
    subtag: str | None = None
    checkpoints: list[AfterShipCheckpoint] = Field(default_factory=list, max_length=500)


class AfterShipEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event: str
    event_id: str = Field(min_length=1, max_length=100)
    msg: AfterShipTracking


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise DomainError("payload_too_large", "A tracking event is at most 1 MB.", None)
    return body


def _parsed(model, data):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise DomainError("invalid_request", f"'{field}': {first['msg']}" if field else first["msg"], field,
                          problems=[{"field": ".".join(str(p) for p in e["loc"]) or None, "message": e["msg"]}
                                    for e in exc.errors()]) from None


@router.post("/tracking/events")
async def ombuds_tracking_event(request: Request, app: AppDep) -> dict:
    """A carrier checkpoint in Ombuds' format, signed per Standard Webhooks with
    ``OMBUDS_TRACKING_WEBHOOK_SECRET``. 404 ``parcel_not_found`` for an unknown tracking number,
    200 with ``already_received: true`` for a ``webhook-id`` seen before (a carrier's retry: nothing
    changes, and the 2xx stops its retries), 401 for a bad signature."""
    secret = request.app.state.settings.tracking_webhook_secret
    if not secret:
        raise cw.NotConfigured("tracking", "OMBUDS_TRACKING_WEBHOOK_SECRET")
    body = await _body(request)
    event = _parsed(CheckpointEvent, cw.verify_standard(secret, body, dict(request.headers)))
    d = event.data
    checkpoint = Checkpoint(d.tracking_number.strip(), d.status, d.occurred_at, d.location, d.message, d.carrier)
    return await tracking.record(app, event_id=f"std:{request.headers['webhook-id']}", source="ombuds",
                                 checkpoints=[checkpoint], order_id=d.order_id)


@router.post("/tracking/aftership")
async def aftership_tracking_event(request: Request, app: AppDep) -> dict:
    """AfterShip's tracking webhook (``tracking_update``), verified with its
    ``aftership-hmac-sha256`` header and ``OMBUDS_AFTERSHIP_WEBHOOK_SECRET``. Each checkpoint of
    the tracking is kept once; its tags map to in transit, out for delivery, delivered,
    returned to sender (sub-tag ``Exception_011``) and exception."""
    secret = request.app.state.settings.aftership_webhook_secret
    if not secret:
        raise cw.NotConfigured("AfterShip", "OMBUDS_AFTERSHIP_WEBHOOK_SECRET")
    body = await _body(request)
    event = _parsed(AfterShipEvent, cw.verify_aftership(secret, body, request.headers.get(cw.AFTERSHIP_HEADER)))
    if event.event != "tracking_update":
        raise DomainError("event_not_handled", f"Ombuds takes 'tracking_update' events, not '{event.event}'.",
                          "event")
    return await tracking.record(app, event_id=f"aftership:{event.event_id}", source="aftership",
                                 checkpoints=_aftership_checkpoints(event.msg))


def _aftership_checkpoints(msg: AfterShipTracking) -> list[Checkpoint]:
    found = []
    for i, c in enumerate(msg.checkpoints):
        status = aftership_status(c.tag, c.subtag)
        if status is None:
            continue
        try:
            at = datetime.fromisoformat(c.checkpoint_time or "")
        except ValueError:
            raise DomainError("invalid_request", "checkpoint_time must be an ISO 8601 time.",
                              f"msg.checkpoints.{i}.checkpoint_time") from None
        if at.tzinfo is None:
            raise DomainError("invalid_request", "checkpoint_time needs its UTC offset.",
                              f"msg.checkpoints.{i}.checkpoint_time")
        place = c.location or ", ".join(p for p in (c.city, c.country_iso3) if p) or None
        found.append(Checkpoint(msg.tracking_number.strip(), status, at, place, c.message, msg.slug))
    return found



@router.get("/orders/{order_id}/tracking")
async def order_tracking(order_id: PathId, caller: Annotated[Caller, Depends(get_caller)], app: AppDep,
                         dispute_id: QueryId = None) -> dict:
    """The order's parcels with their checkpoints, oldest first: the shipment and, for the
    disputes on the order, their returns (parties and staff)."""
    await orders.get_order(app, caller=caller, order_id=order_id)  # 404 unless the caller may see it
    found = await tracking.tracks(app, order_id=order_id, dispute_id=dispute_id, all_returns=dispute_id is None)
    return {"order_id": order_id, "parcels": [{
        "parcel": tr.parcel, "tracking_number": tr.tracking_number, "carrier": tr.carrier,
        "dispute_id": tr.checkpoints[0].dispute_id,
        "checkpoints": [{"status": c.status, "occurred_at": c.occurred_at.isoformat(), "location": c.location,
                         "message": c.message, "source": c.source} for c in tr.checkpoints]} for tr in found]}
