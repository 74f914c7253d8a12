"""Webhooks for the marketplace's own systems (DESIGN.md §5).

Endpoints are registered by the marketplace with the event types they want. Every event
becomes one delivery per matching endpoint (queued in the fan-out transaction), posted
signed per Standard Webhooks with ``webhook-id`` = the event's id, and retried with
exponential backoff until it succeeds or ``max_attempts`` tries failed. An endpoint that
fails ``disable_after_failures`` tries in a row is disabled and the operator is told: a
``webhook.endpoint_disabled`` event in the outbox (so other endpoints hear it) and a log line.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from datetime import datetime
from typing import Any

import structlog

from ombuds.adapters.webhook_http import PostResult, SignedPost, WebhookPoster
from ombuds.domain.errors import DomainError, Forbidden, NotFound
from ombuds.emails.notices import OutboxEvent
from ombuds.services.context import Caller, Ombuds
from ombuds.services.delivery import DispatchConfig, claim_due
from ombuds.store import webhook_store
from ombuds.store.delivery_store import Channel, MessageRow
from ombuds.store.uow import Connection
from ombuds.store.webhook_store import FAILED, PENDING, EndpointRow

log = structlog.get_logger("ombuds.webhooks")

SUCCEEDED = "succeeded"
WEBHOOK: Channel = "webhook"
ENDPOINT_DISABLED = "webhook.endpoint_disabled"
EVENT_PATTERN = re.compile(r"^(\*|[a-z_]+\.\*|[a-z_]+\.[a-z_]+)$")


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def matches(patterns: list[str], event_type: str) -> bool:
    """``*`` is every event; ``dispute.*`` every dispute event; otherwise the exact type."""
    return any(p == "*" or p == event_type or (p.endswith(".*") and event_type.startswith(p[:-1]))
               for p in patterns)


def _require_marketplace(caller: Caller) -> None:
    if not caller.is_platform:
        raise Forbidden("marketplace_only", "Only the marketplace manages webhooks.")


# Endpoints --------------------------------------------------------------------------

async def create_endpoint(app: Ombuds, *, caller: Caller, url: str, event_types: list[str],
                          description: str = "") -> dict:
    """Register an endpoint. Its signing secret is returned here, once."""
    _require_marketplace(caller)
    if not event_types:
        raise DomainError("event_types_required", "Name at least one event type, or '*' for all.",
                          "event_types")
    for i, p in enumerate(event_types):
        if not EVENT_PATTERN.match(p):
            raise DomainError("invalid_event_type",
                              f"'{p}' is not an event type: write e.g. 'dispute.opened', 'dispute.*' or '*'.",
                              f"event_types.{i}")
    now = await app.now()
    row = {"url": url, "event_types": list(dict.fromkeys(event_types)), "description": description.strip(),
           "secret": new_secret(), "enabled": True, "consecutive_failures": 0, "created_at": now}
    async with app.uow() as uow:
        row["id"] = await webhook_store.add_endpoint(uow.conn, **row)
        await uow.commit()
    return {**endpoint_view(row, disabled_at=None, disabled_reason=None), "secret": row["secret"]}


def endpoint_view(row: EndpointRow | dict[str, Any], **overrides: Any) -> dict[str, Any]:
    r = {**(row if isinstance(row, dict) else row._asdict()), **overrides}
    return {"id": r["id"], "url": r["url"], "event_types": r["event_types"], "description": r["description"],
            "enabled": r["enabled"], "consecutive_failures": r["consecutive_failures"],
            "disabled_at": r["disabled_at"] and r["disabled_at"].isoformat(),
            "disabled_reason": r["disabled_reason"], "created_at": r["created_at"].isoformat()}


async def list_endpoints(app: Ombuds, *, caller: Caller) -> list[dict]:
    _require_marketplace(caller)
    return [endpoint_view(r) for r in await webhook_store.endpoints(app.engine)]


async def get_endpoint(app: Ombuds, *, caller: Caller, endpoint_id: int) -> dict:
    _require_marketplace(caller)
    async with app.engine.connect() as conn:
        return endpoint_view(await _endpoint(conn, endpoint_id))


async def _endpoint(conn: Connection, endpoint_id: int) -> EndpointRow:
    row = await webhook_store.endpoint(conn, endpoint_id)
    if row is None:
        raise NotFound("webhook_endpoint", "id")
    return row


async def delete_endpoint(app: Ombuds, *, caller: Caller, endpoint_id: int) -> None:
    """Stop sending to it. Its delivery log is kept; what was still pending is not sent."""
    _require_marketplace(caller)
    now = await app.now()
    async with app.uow() as uow:
        await _endpoint(uow.conn, endpoint_id)
        await webhook_store.update_endpoint(uow.conn, endpoint_id, deleted_at=now, enabled=False)
        await webhook_store.fail_pending(uow.conn, endpoint_id)
        await uow.commit()


async def enable_endpoint(app: Ombuds, *, caller: Caller, endpoint_id: int) -> dict:
    """Turn a disabled endpoint back on; it receives events from now on."""
    _require_marketplace(caller)
    async with app.uow() as uow:
        await _endpoint(uow.conn, endpoint_id)
        await webhook_store.update_endpoint(uow.conn, endpoint_id, enabled=True, consecutive_failures=0,
                                            disabled_at=None, disabled_reason=None)
        row = await _endpoint(uow.conn, endpoint_id)
        await uow.commit()
    return endpoint_view(row)


async def list_deliveries(app: Ombuds, *, caller: Caller, endpoint_id: int, status: str | None = None,
                          limit: int = 100) -> list[dict]:
    """The endpoint's delivery log, newest first, each delivery with its tries."""
    _require_marketplace(caller)
    async with app.engine.connect() as conn:
        await _endpoint(conn, endpoint_id)
        deliveries, tries = await webhook_store.deliveries(conn, endpoint_id, status=status, limit=limit)
    return [{"id": d.id, "event_id": f"evt_{d.event_id}", "event_type": d.event_type, "status": d.status,
             "attempts": d.attempts, "next_attempt_at": _iso(d.next_attempt_at),
             "created_at": _iso(d.created_at), "delivered_at": _iso(d.delivered_at),
             "payload": json.loads(d.body),
             "tries": [{"number": a.number, "attempted_at": _iso(a.attempted_at), "succeeded": a.succeeded,
                        "status_code": a.status_code, "error": a.error, "response_body": a.response_body,
                        "next_attempt_at": _iso(a.next_attempt_at)} for a in tries.get(d.id, [])]}
            for d in deliveries]


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


# Fan-out and sending ----------------------------------------------------------------

def body_of(e: OutboxEvent) -> str:
    """What is posted: ``{id, type, timestamp, data}`` (the Standard Webhooks payload shape)."""
    return json.dumps({"id": e.public_id, "type": e.type, "timestamp": e.created_at.isoformat(),
                       "data": e.payload}, separators=(",", ":"), sort_keys=True, default=str)


async def queue(conn: Connection, events: list[OutboxEvent], *, now: datetime) -> int:
    """Within the fan-out transaction: a delivery per event per enabled endpoint that wants it."""
    endpoints = await webhook_store.enabled_endpoints(conn)
    rows = [{"endpoint_id": ep.id, "event_id": e.id, "event_type": e.type, "body": body_of(e),
             "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now}
            for e in events for ep in endpoints
            if matches(ep.event_types, e.type) and not (e.type == ENDPOINT_DISABLED and e.aggregate_id == ep.id)]
    if rows:
        await webhook_store.add_deliveries(conn, rows)
    return len(rows)


async def send_due(app: Ombuds, config: DispatchConfig) -> int:
    """Post one batch of due deliveries, recording each try as soon as its answer is in."""
    now = await app.now()
    # A batch must finish within the lease, or another dispatcher would send it again.
    rounds = max(1, int(config.lease.total_seconds() // max(config.webhook_timeout, 0.001)))
    limit = max(1, min(config.batch, rounds * config.webhook_concurrency))
    rows = await claim_due(app, WEBHOOK, now=now, limit=limit, lease=config.lease)
    if not rows:
        return 0
    endpoints = await webhook_store.signing(app.engine, {r.endpoint_id for r in rows})
    posts = [SignedPost(endpoints[r.endpoint_id].url, endpoints[r.endpoint_id].secret, f"evt_{r.event_id}",
                        r.body) for r in rows]

    async def record(i: int, result: PostResult) -> None:
        await _record(app, rows[i], result, now=now, config=config)

    await WebhookPoster(timeout=config.webhook_timeout, concurrency=config.webhook_concurrency
                        ).post_all(posts, record)
    return len(rows)


async def _record(app: Ombuds, row: MessageRow, result: PostResult, *, now: datetime, config: DispatchConfig) -> None:
    number = row.attempts + 1
    next_at = None
    values: dict[str, Any]
    if result.ok:
        values = {"status": SUCCEEDED, "delivered_at": now}
    elif number >= config.max_attempts:
        values = {"status": FAILED}
    else:
        next_at = now + config.retry_delay(number)
        values = {}
    async with app.uow() as uow:
        c = uow.conn
        # The endpoint row first, then its deliveries: every writer locks in this order.
        ep = None
        if result.ok:
            await webhook_store.reset_failures(c, row.endpoint_id)
        else:
            ep = await webhook_store.count_failure(c, row.endpoint_id)
        await webhook_store.record_try(c, row.id, number=number, at=now, next_attempt_at=next_at,
                                       succeeded=result.ok, status_code=result.status_code, error=result.error,
                                       response_body=result.response_body, **values)
        if ep is not None and ep.enabled and ep.consecutive_failures >= config.disable_after_failures:
            await _disable(c, row.endpoint_id, ep.url, ep.consecutive_failures, result, now)
        await uow.commit()


async def _disable(conn: Connection, endpoint_id: int, url: str, failures: int, last: PostResult,
                   now: datetime) -> None:
    reason = f"{failures} deliveries in a row failed; the last: {last.error}"
    # The operator is told through the outbox, like every other change.
    await webhook_store.disable_endpoint(conn, endpoint_id, at=now, reason=reason, event={
        "type": ENDPOINT_DISABLED, "aggregate": "webhook",
        "payload": {"webhook_endpoint_id": endpoint_id, "url": url, "consecutive_failures": failures,
                    "reason": reason, "disabled_at": now.isoformat()}})
    log.warning("webhook_endpoint_disabled", endpoint=endpoint_id, url=url, failures=failures,
                last_error=last.error)

