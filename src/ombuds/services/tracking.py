"""R40: carrier checkpoints for the order's shipment and a dispute's return.

``record`` takes checkpoints that a verified webhook carried (see ``api/routes_tracking.py``),
finds the parcel by its tracking number, applies what a checkpoint means — through the order
and dispute use cases, never around them — and keeps the checkpoints:

- the shipment ``delivered``: the order records its delivery (R26's wait is lifted; the order
  does not complete, §3);
- the shipment ``returned_to_sender``: recorded on the order; R26's wait is lifted too, since the
  buyer will not get it;
- a return ``delivered``: the dispute's ``return_delivered`` action, which starts the seller's
  R18 timer to confirm the return.

The effect comes first and the checkpoints after it, in their own transaction: both steps are
idempotent (a delivery is recorded once; ``return_delivered`` is refused once the return is no
longer in transit), so a crash between them is mended by the carrier's retry, and nothing is
recorded for an event that could not be matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ombuds.domain.errors import Conflict, DomainError, NotFound
from ombuds.domain.events import Event
from ombuds.domain.lifecycle import Action
from ombuds.domain.tracking import Checkpoint, Parcel, ParcelStatus
from ombuds.services import disputes, orders
from ombuds.services.context import PLATFORM, Ombuds
from ombuds.store import tracking_store
from ombuds.store.tracking_store import CheckpointRow


@dataclass(frozen=True, slots=True)
class FoundParcel:
    parcel: Parcel
    order_id: int
    dispute_id: int | None

    @property
    def key(self) -> str:
        return f"order:{self.order_id}" if self.parcel is Parcel.shipment else f"return:{self.dispute_id}"


async def find_parcel(app: Ombuds, tracking_number: str, order_id: int | None = None) -> FoundParcel:
    """The one parcel with this tracking number (narrowed by ``order_id`` when given)."""
    shipments, returns = await tracking_store.parcels_numbered(app.engine, tracking_number, order_id)
    found = ([FoundParcel(Parcel.shipment, i, None) for i in shipments]
             + [FoundParcel(Parcel.ret, o, d) for o, d in returns])
    if not found:
        raise NotFound("parcel", "tracking_number")
    if len(found) > 1:
        raise Conflict("parcel_ambiguous",
                       f"{len(found)} parcels have the tracking number {tracking_number}; "
                       "send the order_id to say which.", "tracking_number")
    return found[0]


async def already_received(app: Ombuds, event_id: str) -> bool:
    return await tracking_store.event_seen(app.engine, event_id)


async def record(app: Ombuds, *, event_id: str, source: str, checkpoints: list[Checkpoint],
                 order_id: int | None = None) -> dict:
    """Apply and keep a webhook's checkpoints (all for one parcel). A replayed event is
    acknowledged (``already_received``) and changes nothing; an unknown parcel is 404."""
    if not checkpoints:
        raise DomainError("no_checkpoints", "The event carries no checkpoint Ombuds can use.", "checkpoints")
    numbers = {c.tracking_number for c in checkpoints}
    if len(numbers) != 1:
        raise DomainError("several_parcels", "One event is about one parcel.", "tracking_number")
    if await already_received(app, event_id):  # a carrier's retry: acknowledged, so that it stops
        return _already_received(len(checkpoints))
    parcel = await find_parcel(app, numbers.pop(), order_id)
    for checkpoint in sorted(checkpoints, key=lambda c: c.occurred_at):
        await _apply(app, parcel, checkpoint)
    kept = await _keep(app, parcel, checkpoints, event_id=event_id, source=source)
    if kept < 0:
        return _already_received(len(checkpoints))
    return {"parcel": parcel.parcel.value, "order_id": parcel.order_id, "dispute_id": parcel.dispute_id,
            "recorded": kept, "received": len(checkpoints), "already_received": False}


def _already_received(received: int) -> dict:
    return {"parcel": None, "order_id": None, "dispute_id": None, "recorded": 0, "received": received,
            "already_received": True}


async def _apply(app: Ombuds, parcel: FoundParcel, checkpoint: Checkpoint) -> None:
    try:
        if parcel.parcel is Parcel.shipment and checkpoint.status is ParcelStatus.delivered:
            await orders.record_delivery(app, caller=PLATFORM, order_id=parcel.order_id)
        elif parcel.parcel is Parcel.shipment and checkpoint.status is ParcelStatus.returned_to_sender:
            await _returned_to_sender(app, parcel.order_id)
        elif (parcel.parcel is Parcel.ret and checkpoint.status is ParcelStatus.delivered
              and parcel.dispute_id is not None):  # a return is always a dispute's
            await disputes.act(app, caller=PLATFORM, dispute_id=parcel.dispute_id,
                               action=Action.return_delivered)
    except Conflict:
        pass  # the order or dispute is past that point (closed, already confirmed): kept as a checkpoint


async def _returned_to_sender(app: Ombuds, order_id: int) -> None:
    async def attempt() -> None:
        now = await app.now()
        async with app.uow() as uow:
            order = await orders.load_visible(uow.repo, order_id, PLATFORM)
            async with orders.keeping_timers(uow, await orders.catch_up(uow.repo, order, now, app.policy)):
                order.record_returned_to_sender(now=now)
            await uow.repo.save_order(order, now)
            await uow.commit()
    await orders.retry_if_order_moved(attempt)


async def _keep(app: Ombuds, parcel: FoundParcel, checkpoints: list[Checkpoint], *, event_id: str,
                source: str) -> int:
    now = await app.now()
    kept = 0
    async with app.uow() as uow:
        seen = await tracking_store.moments_seen(uow.conn, parcel.key)
        rows: list[dict[str, Any]] = []
        for c in checkpoints:
            if (c.occurred_at, c.status.value) in seen:
                continue  # a feed that resends the parcel's history adds nothing
            seen.add((c.occurred_at, c.status.value))
            rows.append({"parcel_key": parcel.key, "parcel": parcel.parcel.value, "order_id": parcel.order_id,
                         "dispute_id": parcel.dispute_id, "tracking_number": c.tracking_number,
                         "carrier": c.carrier, "status": c.status.value, "occurred_at": c.occurred_at,
                         "location": c.location, "message": c.message, "source": source,
                         "event_id": event_id, "received_at": now})
        if rows:
            if not await tracking_store.add_checkpoints(uow.conn, rows):
                return -1  # the same event, delivered twice at once: the other one won
            await uow.repo.add_events([Event("parcel.checkpoint", "order", parcel.order_id, {
                "order_id": parcel.order_id, "dispute_id": parcel.dispute_id, "parcel": parcel.parcel.value,
                "tracking_number": r["tracking_number"], "status": r["status"],
                "occurred_at": r["occurred_at"].isoformat(), "location": r["location"]}) for r in rows],
                parcel.order_id, now)
            kept = len(rows)
        await uow.commit()
    return kept


@dataclass(frozen=True, slots=True)
class ParcelTrack:
    """One parcel's checkpoints, oldest first, for the pages and the case file."""

    parcel: str
    tracking_number: str
    carrier: str | None
    checkpoints: list[CheckpointRow]

    @property
    def latest(self) -> CheckpointRow | None:
        return self.checkpoints[-1] if self.checkpoints else None


async def tracks(app: Ombuds, *, order_id: int, dispute_id: int | None = None,
                 all_returns: bool = False) -> list[ParcelTrack]:
    """The order's shipment and (for a dispute, or every dispute) the return, with checkpoints."""
    rows = await tracking_store.checkpoints_of(app.engine, order_id=order_id, dispute_id=dispute_id,
                                               all_returns=all_returns)
    found: dict[str, ParcelTrack] = {}
    for r in rows:
        track = found.setdefault(r.parcel_key, ParcelTrack(r.parcel, r.tracking_number, r.carrier, []))
        track.checkpoints.append(r)
    return sorted(found.values(), key=lambda tr: tr.parcel != Parcel.shipment.value)
