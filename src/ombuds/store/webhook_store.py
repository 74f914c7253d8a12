"""Webhooks for the marketplace's own systems: endpoints, deliveries and their tries.

Every function works in the caller's connection and transaction, except the read models that
take the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, desc, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.store.tables import outbox
from ombuds.store.tables_notify import webhook_attempts as wa
from ombuds.store.tables_notify import webhook_deliveries as wd
from ombuds.store.tables_notify import webhook_endpoints as we

EndpointRow = Row[*tuple[Any, ...]]
DeliveryRow = Row[*tuple[Any, ...]]
AttemptRow = Row[*tuple[Any, ...]]

PENDING, FAILED = "pending", "failed"


# Endpoints ----------------------------------------------------------------------------------

async def add_endpoint(conn: AsyncConnection, **values: Any) -> int:
    return (await conn.execute(insert(we).values(**values).returning(we.c.id))).scalar_one()


async def endpoints(engine: AsyncEngine) -> list[EndpointRow]:
    """The endpoints not deleted, in id order."""
    async with engine.connect() as conn:
        return list((await conn.execute(select(we).where(we.c.deleted_at.is_(None)).order_by(we.c.id))).all())


async def endpoint(conn: AsyncConnection, endpoint_id: int) -> EndpointRow | None:
    """The endpoint, unless deleted."""
    return (await conn.execute(select(we).where(we.c.id == endpoint_id, we.c.deleted_at.is_(None)))).first()


async def update_endpoint(conn: AsyncConnection, endpoint_id: int, **values: Any) -> None:
    await conn.execute(update(we).where(we.c.id == endpoint_id).values(**values))


async def enabled_endpoints(conn: AsyncConnection) -> list[EndpointRow]:
    """The endpoints that receive events: ``id`` and ``event_types``."""
    return list((await conn.execute(select(we.c.id, we.c.event_types)
                                    .where(we.c.enabled.is_(True), we.c.deleted_at.is_(None)))).all())


async def signing(engine: AsyncEngine, endpoint_ids: Iterable[int]) -> dict[int, EndpointRow]:
    """Endpoint → its ``url`` and ``secret``."""
    async with engine.connect() as conn:
        return {e.id: e for e in (await conn.execute(
            select(we.c.id, we.c.url, we.c.secret).where(we.c.id.in_(set(endpoint_ids))))).all()}


async def reset_failures(conn: AsyncConnection, endpoint_id: int) -> None:
    """A delivery succeeded: the endpoint's run of failures ends (written only if it had one)."""
    await conn.execute(update(we).where(we.c.id == endpoint_id, we.c.consecutive_failures != 0)
                       .values(consecutive_failures=0))


async def count_failure(conn: AsyncConnection, endpoint_id: int) -> EndpointRow:
    """A delivery failed: one more in the endpoint's run; returns its ``consecutive_failures``,
    ``enabled`` and ``url``."""
    return (await conn.execute(update(we).where(we.c.id == endpoint_id)
                               .values(consecutive_failures=we.c.consecutive_failures + 1)
                               .returning(we.c.consecutive_failures, we.c.enabled, we.c.url))).one()


async def disable_endpoint(conn: AsyncConnection, endpoint_id: int, *, at: datetime, reason: str,
                           event: dict[str, Any]) -> None:
    """Turn the endpoint off, fail what it still had pending, and tell the operator through the
    outbox (``event``: the outbox row's ``type``, ``aggregate`` and ``payload``)."""
    await conn.execute(update(we).where(we.c.id == endpoint_id)
                       .values(enabled=False, disabled_at=at, disabled_reason=reason))
    await fail_pending(conn, endpoint_id)
    await conn.execute(insert(outbox).values(aggregate_id=endpoint_id, created_at=at, **event))


# Deliveries ---------------------------------------------------------------------------------

async def add_deliveries(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Deliveries, one multi-row INSERT."""
    await conn.execute(insert(wd), list(rows))


async def deliveries(conn: AsyncConnection, endpoint_id: int, *, status: str | None,
                     limit: int) -> tuple[list[DeliveryRow], dict[int, list[AttemptRow]]]:
    """The endpoint's deliveries, newest first, and delivery → its tries in order."""
    q = select(wd).where(wd.c.endpoint_id == endpoint_id).order_by(desc(wd.c.id)).limit(limit)
    if status:
        q = q.where(wd.c.status == status)
    found = list((await conn.execute(q)).all())
    tries: dict[int, list[AttemptRow]] = {}
    if found:
        for a in (await conn.execute(select(wa).where(wa.c.delivery_id.in_([d.id for d in found]))
                                     .order_by(wa.c.delivery_id, wa.c.number))).all():
            tries.setdefault(a.delivery_id, []).append(a)
    return found, tries


async def record_try(conn: AsyncConnection, delivery_id: int, *, number: int, at: datetime,
                     next_attempt_at: datetime | None, succeeded: bool, status_code: int | None,
                     error: str | None, response_body: str | None, **values: Any) -> None:
    """A try's result: the delivery, if still pending (its lease given back), and the try."""
    await conn.execute(update(wd).where(wd.c.id == delivery_id, wd.c.status == PENDING)
                       .values(attempts=number, next_attempt_at=next_attempt_at, claimed_until=None, **values))
    await conn.execute(insert(wa).values(delivery_id=delivery_id, number=number, attempted_at=at,
                                         succeeded=succeeded, status_code=status_code, error=error,
                                         response_body=response_body, next_attempt_at=next_attempt_at))


async def fail_pending(conn: AsyncConnection, endpoint_id: int) -> None:
    await conn.execute(update(wd).where(wd.c.endpoint_id == endpoint_id, wd.c.status == PENDING)
                       .values(status=FAILED, next_attempt_at=None, claimed_until=None))
