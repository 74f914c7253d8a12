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

import structlog
from sqlalchemy import desc, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.adapters.webhook_http import PostResult, SignedPost, WebhookPoster
from ombuds.domain.errors import DomainError, Forbidden, NotFound
from ombuds.emails.notices import OutboxEvent
from ombuds.services.context import Caller, Ombuds
from ombuds.services.delivery import DispatchConfig, claim_due
from ombuds.store.tables import outbox
from ombuds.store.tables_notify import webhook_attempts as wa
from ombuds.store.tables_notify import webhook_deliveries as wd
from ombuds.store.tables_notify import webhook_endpoints as we

log = structlog.get_logger("ombuds.webhooks")

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
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
        row["id"] = (await uow.conn.execute(insert(we).values(**row).returning(we.c.id))).scalar_one()
        await uow.commit()
    return {**endpoint_view(row, disabled_at=None, disabled_reason=None), "secret": row["secret"]}


def endpoint_view(row, **overrides) -> dict:
    r = {**(row if isinstance(row, dict) else row._asdict()), **overrides}
    return {"id": r["id"], "url": r["url"], "event_types": r["event_types"], "description": r["description"],
            "enabled": r["enabled"], "consecutive_failures": r["consecutive_failures"],
            "disabled_at": r["disabled_at"] and r["disabled_at"].isoformat(),
            "disabled_reason": r["disabled_reason"], "created_at": r["created_at"].isoformat()}


async def list_endpoints(app: Ombuds, *, caller: Caller) -> list[dict]:
    _require_marketplace(caller)
    async with app.engine.connect() as conn:
        rows = (await conn.execute(select(we).where(we.c.deleted_at.is_(None)).order_by(we.c.id))).all()
    return [endpoint_view(r) for r in rows]


async def get_endpoint(app: Ombuds, *, caller: Caller, endpoint_id: int) -> dict:
    _require_marketplace(caller)
    async with app.engine.connect() as conn:
        return endpoint_view(await _endpoint(conn, endpoint_id))


async def _endpoint(conn: AsyncConnection, endpoint_id: int):
    row = (await conn.execute(select(we).where(we.c.id == endpoint_id, we.c.deleted_at.is_(None)))).first()
    if row is None:
        raise NotFound("webhook_endpoint", "id")
    return row


async def delete_endpoint(app: Ombuds, *, caller: Caller, endpoint_id: int) -> None:
    """Stop sending to it. Its delivery log is kept; what was still pending is not sent."""
    _require_marketplace(caller)
    now = await app.now()
    async with app.uow() as uow:
        await _endpoint(uow.conn, endpoint_id)
        await uow.conn.execute(update(we).where(we.c.id == endpoint_id).values(deleted_at=now, enabled=False))
        await _fail_pending(uow.conn, endpoint_id)
        await uow.commit()


async def enable_endpoint(app: Ombuds, *, caller: Caller, endpoint_id: int) -> dict:
    """Turn a disabled endpoint back on; it receives events from now on."""
    _require_marketplace(caller)
    async with app.uow() as uow:
        await _endpoint(uow.conn, endpoint_id)
        await uow.conn.execute(update(we).where(we.c.id == endpoint_id).values(
            enabled=True, consecutive_failures=0, disabled_at=None, disabled_reason=None))
        row = await _endpoint(uow.conn, endpoint_id)
        await uow.commit()
    return endpoint_view(row)


async def list_deliveries(app: Ombuds, *, caller: Caller, endpoint_id: int, status: str | None = None,
                          limit: int = 100) -> list[dict]:
    """The endpoint's delivery log, newest first, each delivery with its tries."""
    _require_marketplace(caller)
    async with app.engine.connect() as conn:
        await _endpoint(conn, endpoint_id)
        q = select(wd).where(wd.c.endpoint_id == endpoint_id).order_by(desc(wd.c.id)).limit(limit)
        if status:
            q = q.where(wd.c.status == status)
        deliveries = (await conn.execute(q)).all()
        tries: dict[int, list] = {}
        if deliveries:
            for a in (await conn.execute(select(wa).where(wa.c.delivery_id.in_([d.id for d in deliveries]))
                                         .order_by(wa.c.delivery_id, wa.c.number))).all():
                tries.setdefault(a.delivery_id, []).append(a)
    return [{"id": d.id, "event_id": f"evt_{d.event_id}", "event_type": d.event_type, "status": d.status,
             "attempts": d.attempts, "next_attempt_at": _iso(d.next_attempt_at),
             "created_at": _iso(d.created_at), "delivered_at": _iso(d.delivered_at),
             "payload": json.loads(d.body),
             "tries": [{"number": a.number, "attempted_at": _iso(a.attempted_at), "succeeded": a.succeeded,
                        "status_code": a.status_code, "error": a.error, "response_body": a.response_body,
                        "next_attempt_at": _iso(a.next_attempt_at)} for a in tries.get(d.id, [])]}
            for d in deliveries]


def _iso(t):
    return t and t.isoformat()


# Fan-out and sending ----------------------------------------------------------------

def body_of(e: OutboxEvent) -> str:
    """What is posted: ``{id, type, timestamp, data}`` (the Standard Webhooks payload shape)."""
    return json.dumps({"id": e.public_id, "type": e.type, "timestamp": e.created_at.isoformat(),
                       "data": e.payload}, separators=(",", ":"), sort_keys=True, default=str)


async def queue(conn: AsyncConnection, events: list[OutboxEvent], *, now) -> int:
    """Within the fan-out transaction: a delivery per event per enabled endpoint that wants it."""
    endpoints = (await conn.execute(select(we.c.id, we.c.event_types)
                                    .where(we.c.enabled.is_(True), we.c.deleted_at.is_(None)))).all()
    rows = [{"endpoint_id": ep.id, "event_id": e.id, "event_type": e.type, "body": body_of(e),
             "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now}
            for e in events for ep in endpoints
            if matches(ep.event_types, e.type) and not (e.type == ENDPOINT_DISABLED and e.aggregate_id == ep.id)]
    if rows:
        await conn.execute(insert(wd), rows)
    return len(rows)


async def send_due(app: Ombuds, config: DispatchConfig) -> int:
    """Post one batch of due deliveries, recording each try as soon as its answer is in."""
    now = await app.now()
    # A batch must finish within the lease, or another dispatcher would send it again.
    rounds = max(1, int(config.lease.total_seconds() // max(config.webhook_timeout, 0.001)))
    limit = max(1, min(config.batch, rounds * config.webhook_concurrency))
    rows = await claim_due(app, wd, now=now, limit=limit, lease=config.lease)
    if not rows:
        return 0
    async with app.engine.connect() as conn:
        endpoints = {e.id: e for e in (await conn.execute(
            select(we.c.id, we.c.url, we.c.secret).where(we.c.id.in_({r.endpoint_id for r in rows})))).all()}
    posts = [SignedPost(endpoints[r.endpoint_id].url, endpoints[r.endpoint_id].secret, f"evt_{r.event_id}",
                        r.body) for r in rows]

    async def record(i: int, result: PostResult) -> None:
        await _record(app, rows[i], result, now=now, config=config)

    await WebhookPoster(timeout=config.webhook_timeout, concurrency=config.webhook_concurrency
                        ).post_all(posts, record)
    return len(rows)


async def _record(app: Ombuds, row, result: PostResult, *, now, config: DispatchConfig) -> None:
    number = row.attempts + 1
    next_at = None
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
        if result.ok:
            await c.execute(update(we).where(we.c.id == row.endpoint_id, we.c.consecutive_failures != 0)
                            .values(consecutive_failures=0))
        else:
            ep = (await c.execute(update(we).where(we.c.id == row.endpoint_id)
                                  .values(consecutive_failures=we.c.consecutive_failures + 1)
                                  .returning(we.c.consecutive_failures, we.c.enabled, we.c.url))).first()
        await c.execute(update(wd).where(wd.c.id == row.id, wd.c.status == PENDING)
                        .values(attempts=number, next_attempt_at=next_at, claimed_until=None, **values))
        await c.execute(insert(wa).values(delivery_id=row.id, number=number, attempted_at=now,
                                          succeeded=result.ok, status_code=result.status_code,
                                          error=result.error, response_body=result.response_body,
                                          next_attempt_at=next_at))
        if not result.ok and ep.enabled and ep.consecutive_failures >= config.disable_after_failures:
            await _disable(c, row.endpoint_id, ep.url, ep.consecutive_failures, result, now)
        await uow.commit()


async def _disable(conn: AsyncConnection, endpoint_id: int, url: str, failures: int, last: PostResult,
                   now) -> None:
    reason = f"{failures} deliveries in a row failed; the last: {last.error}"
    await conn.execute(update(we).where(we.c.id == endpoint_id)
                       .values(enabled=False, disabled_at=now, disabled_reason=reason))
    await _fail_pending(conn, endpoint_id)
    # The operator is told through the outbox, like every other change.
    await conn.execute(insert(outbox).values(
        type=ENDPOINT_DISABLED, aggregate="webhook", aggregate_id=endpoint_id, created_at=now,
        payload={"webhook_endpoint_id": endpoint_id, "url": url, "consecutive_failures": failures,
                 "reason": reason, "disabled_at": now.isoformat()}))
    log.warning("webhook_endpoint_disabled", endpoint=endpoint_id, url=url, failures=failures,
                last_error=last.error)


async def _fail_pending(conn: AsyncConnection, endpoint_id: int) -> None:
    await conn.execute(update(wd).where(wd.c.endpoint_id == endpoint_id, wd.c.status == PENDING)
                       .values(status=FAILED, next_attempt_at=None, claimed_until=None))
