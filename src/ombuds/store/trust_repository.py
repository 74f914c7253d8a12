"""Loading and saving complaints, penalties and staff alerts, on the unit of work's connection,
and reading the complaints' queue.

Complaint saves are version-checked like dispute saves, so an arbitrator's answer and the
sweeper closing the complaint at the same moment never both apply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.domain.complaints import About, Complaint, ComplaintState
from ombuds.domain.events import Event
from ombuds.domain.identity import saved_id
from ombuds.domain.penalties import PenaltyKind, PenaltyRecord
from ombuds.store import tables as t
from ombuds.store.read_models import TimelineEntry, timeline_entry
from ombuds.store.repository import MovedOn, Repository
from ombuds.store.seller_store import Penalty, penalty_from_row
from ombuds.store.sweep_store import not_set_aside
from ombuds.store.tables import outbox
from ombuds.store.tables_trust import complaint_timeline, complaints, seller_penalties, staff_alerts

COMPLAINT_FIELDS = ("buyer_id", "seller_id", "order_id", "line_id", "message", "currency", "opened_at",
                    "state_entered_at", "deadline", "deadline_at", "reminder_at", "reminded_deadline_at",
                    "overdue_since", "answered_at", "answered_by", "answer", "goodwill_amount",
                    "goodwill_refund_id", "outcome", "closed_at")


def complaint_to_row(c: Complaint) -> dict[str, Any]:
    row = {f: getattr(c, f) for f in COMPLAINT_FIELDS}
    row.update(state=c.state.value, about=c.about.value, due_at=c.due_at)
    return row


def row_to_complaint(row: Row[Any]) -> Complaint:
    m = row._mapping
    return Complaint(id=m["id"], version=m["version"], state=ComplaintState(m["state"]),
                     about=About(m["about"]), **{f: m[f] for f in COMPLAINT_FIELDS})


def outbox_rows(events: list[Event], aggregate_id: int, now: datetime) -> list[dict[str, Any]]:
    return [Repository._outbox_row(e, aggregate_id, now) for e in events]


async def add_events(conn: AsyncConnection, events: list[Event], aggregate_id: int, now: datetime) -> None:
    if events:
        await conn.execute(insert(outbox), outbox_rows(events, aggregate_id, now))


async def add_complaint(conn: AsyncConnection, c: Complaint) -> Complaint:
    c.id = (await conn.execute(insert(complaints).values(version=0, **complaint_to_row(c))
                               .returning(complaints.c.id))).scalar_one()
    await _flush(conn, [c], now=c.opened_at)
    return c


async def get_complaint(conn: AsyncConnection, complaint_id: int, *, lock: bool = False) -> Complaint | None:
    q = select(complaints).where(complaints.c.id == complaint_id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = (await conn.execute(q)).first()
    return None if row is None else row_to_complaint(row)


async def save_complaint(conn: AsyncConnection, c: Complaint, now: datetime) -> None:
    result = await conn.execute(
        update(complaints).where(complaints.c.id == c.id, complaints.c.version == c.version)
        .values(version=c.version + 1, **complaint_to_row(c)))
    if result.rowcount != 1:
        state = (await conn.execute(select(complaints.c.state).where(complaints.c.id == c.id))).scalar()
        raise MovedOn("complaint", state)
    c.version += 1
    await _flush(conn, [c], now=now)


async def due_complaints(conn: AsyncConnection, until: datetime, limit: int, *, set_aside_kind: str,
                         only: int | None = None) -> list[Complaint]:
    """Complaints with a reminder or timer due, earliest first, leaving out those the sweeper
    set aside as ``set_aside_kind`` (and all but ``only``, when given)."""
    where = [not_set_aside(set_aside_kind, complaints.c.id)]
    if only is not None:
        where.append(complaints.c.id == only)
    q = (select(complaints).where(complaints.c.due_at <= until, *where)
         .order_by(complaints.c.due_at, complaints.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return [row_to_complaint(r) for r in (await conn.execute(q)).all()]


async def save_locked_complaints(conn: AsyncConnection, cs: list[Complaint], now: datetime) -> None:
    """Save complaints whose rows this transaction holds (the sweeper's claim) in one statement."""
    if not cs:
        return
    rows = [{"b_id": c.id, "version": c.version + 1, **complaint_to_row(c)} for c in cs]
    await conn.execute(update(complaints).where(complaints.c.id == bindparam("b_id")), rows)
    for c in cs:
        c.version += 1
    await _flush(conn, cs, now=now)


async def _flush(conn: AsyncConnection, cs: list[Complaint], *, now: datetime) -> None:
    entries = [{"complaint_id": c.id, "at": e.at, "actor": e.actor, "actor_id": e.actor_id,
                "action": e.action, "from_state": e.from_state, "to_state": e.to_state,
                "deadline": e.deadline, "deadline_at": e.deadline_at, "details": e.details}
               for c in cs for e in c.new_timeline]
    if entries:
        await conn.execute(insert(complaint_timeline), entries)
    events = [row for c in cs for row in outbox_rows(c.new_events, saved_id(c), now)]
    if events:
        await conn.execute(insert(outbox), events)
    for c in cs:
        c.new_timeline.clear()
        c.new_events.clear()


async def complaint_timeline_of(conn: AsyncConnection, complaint_id: int) -> list[TimelineEntry]:
    return [timeline_entry(r) for r in (await conn.execute(
        select(complaint_timeline).where(complaint_timeline.c.complaint_id == complaint_id)
        .order_by(complaint_timeline.c.id))).all()]


async def lock_order(conn: AsyncConnection, order_id: int) -> None:
    """PostgreSQL: hold the order's row, so two complaints arriving at once see each other."""
    if conn.dialect.name == "postgresql":
        await conn.execute(select(t.orders.c.id).where(t.orders.c.id == order_id).with_for_update())


async def open_complaint_of(conn: AsyncConnection, order_id: int) -> int | None:
    """The order's complaint that is not closed yet, if any."""
    return (await conn.execute(select(complaints.c.id).where(
        complaints.c.order_id == order_id, complaints.c.state != "closed"))).scalar()


async def refunded_amount(conn: AsyncConnection, order_id: int) -> int:
    """Everything refunded on the order so far, in minor units."""
    return int((await conn.execute(select(func.coalesce(func.sum(t.refunds.c.amount), 0))
                                   .where(t.refunds.c.order_id == order_id))).scalar_one())


async def complaints_queue(engine: AsyncEngine, *, buyer_id: int | None, state: str | None, limit: int,
                           offset: int) -> list[Complaint]:
    """Staff (``buyer_id`` None): open complaints first, the nearest answer target first; a
    buyer: her own, newest first. ``has_penalty`` is set on each."""
    q = select(complaints).limit(limit).offset(offset)
    if buyer_id is None:
        rank = case((complaints.c.state == "open", 0), (complaints.c.state == "answered", 1), else_=2)
        q = q.order_by(rank, complaints.c.opened_at, complaints.c.id)
    else:
        q = q.where(complaints.c.buyer_id == buyer_id).order_by(complaints.c.id.desc())
    if state:
        q = q.where(complaints.c.state == state)
    async with engine.connect() as conn:
        found = [row_to_complaint(r) for r in (await conn.execute(q)).all()]
        penalised = set((await conn.execute(select(seller_penalties.c.complaint_id).where(
            seller_penalties.c.complaint_id.in_([c.id for c in found])))).scalars()) if found else set()
    for c in found:
        c.has_penalty = c.id in penalised
    return found


# Penalties ------------------------------------------------------------------------------

async def has_penalty(conn: AsyncConnection, complaint_id: int) -> bool:
    """Whether a penalty was given through the complaint."""
    return (await conn.execute(select(seller_penalties.c.id).where(
        seller_penalties.c.complaint_id == complaint_id))).first() is not None


async def penalty_of_complaint(conn: AsyncConnection, complaint_id: int) -> Penalty | None:
    row = (await conn.execute(select(seller_penalties).where(
        seller_penalties.c.complaint_id == complaint_id))).first()
    return None if row is None else penalty_from_row(row)


async def latest_standing_record(conn: AsyncConnection, seller_id: int) -> list[PenaltyRecord]:
    """The latest suspension or reinstatement only: all a standing needs (one index probe)."""
    q = (select(seller_penalties).where(
        seller_penalties.c.seller_id == seller_id,
        seller_penalties.c.kind.in_([PenaltyKind.suspension.value, PenaltyKind.reinstatement.value]))
        .order_by(seller_penalties.c.id.desc()).limit(1))
    return [PenaltyRecord(r.id, PenaltyKind(r.kind), r.reason, r.created_at) for r in (await conn.execute(q)).all()]


async def add_penalty(conn: AsyncConnection, *, seller_id: int, kind: PenaltyKind, reason: str,
                      by_id: int | None, by_role: str, now: datetime, dispute_id: int | None = None,
                      complaint_id: int | None = None) -> int:
    penalty_id = (await conn.execute(insert(seller_penalties).values(
        seller_id=seller_id, kind=kind.value, reason=reason, by_id=by_id, by_role=by_role,
        dispute_id=dispute_id, complaint_id=complaint_id, created_at=now).returning(seller_penalties.c.id))
    ).scalar_one()
    data = {"seller_id": seller_id, "penalty_id": penalty_id, "kind": kind.value, "reason": reason,
            "dispute_id": dispute_id, "complaint_id": complaint_id}
    word = {PenaltyKind.warning: "warned", PenaltyKind.suspension: "suspended",
            PenaltyKind.reinstatement: "reinstated"}[kind]
    await add_events(conn, [Event(f"seller.{word}", "seller", seller_id, data)], seller_id, now)
    return penalty_id


# Staff alerts ---------------------------------------------------------------------------

async def add_alert(conn: AsyncConnection, *, kind: str, subject: str, subject_id: int, round_at: datetime,
                    details: dict[str, Any], now: datetime) -> bool:
    """Record an alert once per (kind, subject, round); False if it was already there (another
    sweeper may have recorded it a moment ago: the conflict is ignored, not raised)."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    q = (dialect_insert(staff_alerts).values(kind=kind, subject=subject, subject_id=subject_id,
                                             round_at=round_at, details=details, created_at=now)
         .on_conflict_do_nothing().returning(staff_alerts.c.id))
    return (await conn.execute(q)).first() is not None
