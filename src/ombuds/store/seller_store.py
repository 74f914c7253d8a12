"""A seller's rating facts, penalties, flags and timeline (R21), read and written on the
caller's connection; the sweeper's flag check claims its one state row here.

Penalties themselves are written by :func:`ombuds.store.trust_repository.add_penalty`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ombuds.domain.penalties import PENALTIES
from ombuds.domain.rating import REFUNDED, DisputeFacts
from ombuds.store import tables as t
from ombuds.store.tables_trust import complaints, seller_flags, seller_penalties, trust_sweep_state


@dataclass(frozen=True, slots=True)
class Flag:
    """One crossing of the R21 threshold; ``cleared_at`` once the seller fell back under it."""

    id: int
    seller_id: int
    raised_at: datetime
    orders: int
    lost_orders: int
    threshold: str  # the policy's ratio then, as written
    cleared_at: datetime | None
    cleared_orders: int | None
    cleared_lost_orders: int | None


@dataclass(frozen=True, slots=True)
class Penalty:
    id: int
    kind: str
    reason: str
    by_id: int | None
    by_role: str
    dispute_id: int | None
    complaint_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VerdictPenalty:
    """A verdict that penalised the seller."""

    dispute_id: int
    verdict_at: datetime
    verdict_message: str | None
    verdict_round: int | None
    dispute_state: str


@dataclass(frozen=True, slots=True)
class ComplaintFiled:
    """A complaint about the seller, as the seller's timeline shows it to staff."""

    id: int
    opened_at: datetime
    about: str
    state: str


def _flag(r: Row[Any]) -> Flag:
    return Flag(r.id, r.seller_id, r.raised_at, r.orders, r.lost_orders, r.threshold, r.cleared_at,
                r.cleared_orders, r.cleared_lost_orders)


def penalty_from_row(r: Row[Any]) -> Penalty:
    return Penalty(r.id, r.kind, r.reason, r.by_id, r.by_role, r.dispute_id, r.complaint_id, r.created_at)


# The rating ----------------------------------------------------------------------------------

async def rating_facts(conn: AsyncConnection, seller_ids: list[int], since: datetime, now: datetime
                       ) -> tuple[dict[int, int], dict[int, list[DisputeFacts]]]:
    """Each seller's orders counted in ``[since, now]`` and disputes opened or closed since
    ``since``, in two queries."""
    o = t.orders
    counted: dict[int, int] = dict((await conn.execute(
        select(o.c.seller_id, func.count()).where(
            o.c.seller_id.in_(seller_ids), o.c.created_at >= since, o.c.created_at <= now,
            o.c.state != "cancelled", o.c.replacement_for_line_id.is_(None))
        .group_by(o.c.seller_id))).all())
    d = t.disputes
    rows = (await conn.execute(
        select(d.c.id, d.c.seller_id, d.c.order_id, d.c.buyer_id, d.c.opened_at, d.c.closed_at,
               d.c.outcome, d.c.first_seller_response_at, d.c.escalated_at, d.c.verdict_at)
        .where(d.c.seller_id.in_(seller_ids), (d.c.opened_at >= since) | (d.c.closed_at >= since)))).all()
    facts: dict[int, list[DisputeFacts]] = defaultdict(list)
    for r in rows:
        facts[r.seller_id].append(DisputeFacts(r.id, r.order_id, r.buyer_id, r.opened_at, r.closed_at,
                                               r.outcome, r.first_seller_response_at, r.escalated_at,
                                               r.verdict_at))
    return counted, facts


async def penalty_counts(conn: AsyncConnection, seller_id: int, since: datetime, now: datetime
                         ) -> tuple[dict[str, int], int]:
    """Penalties given in ``[since, now]``: (kind → how many, verdicts that penalised the seller)."""
    p = seller_penalties
    kinds: dict[str, int] = dict((await conn.execute(
        select(p.c.kind, func.count()).where(
            p.c.seller_id == seller_id, p.c.created_at >= since, p.c.created_at <= now,
            p.c.kind.in_([k.value for k in PENALTIES])).group_by(p.c.kind))).all())
    d = t.disputes
    by_verdict = (await conn.execute(select(func.count()).select_from(d).where(
        d.c.seller_id == seller_id, d.c.verdict_penalise_seller.is_(True), d.c.verdict_at >= since,
        d.c.verdict_at <= now))).scalar_one()
    return kinds, by_verdict


# Penalties and the timeline ------------------------------------------------------------------

async def dispute_seller(conn: AsyncConnection, dispute_id: int) -> int | None:
    """The seller of a dispute, or None if there is no such dispute."""
    return (await conn.execute(select(t.disputes.c.seller_id).where(t.disputes.c.id == dispute_id))).scalar()


async def lock_seller(conn: AsyncConnection, seller_id: int) -> None:
    """PostgreSQL: one penalty at a time per seller, so two suspensions never both pass."""
    if conn.dialect.name == "postgresql":
        await conn.execute(select(t.users.c.id).where(t.users.c.id == seller_id).with_for_update())


async def penalties_of(conn: AsyncConnection, seller_id: int) -> list[Penalty]:
    return [penalty_from_row(r) for r in (await conn.execute(select(seller_penalties).where(
        seller_penalties.c.seller_id == seller_id))).all()]


async def verdict_penalties(conn: AsyncConnection, seller_id: int) -> list[VerdictPenalty]:
    d = t.disputes
    return [VerdictPenalty(r.id, r.verdict_at, r.verdict_message, r.verdict_round, r.state)
            for r in (await conn.execute(select(d.c.id, d.c.verdict_at, d.c.verdict_message,
                                                d.c.verdict_round, d.c.state).where(
                d.c.seller_id == seller_id, d.c.verdict_penalise_seller.is_(True)))).all()]


async def flags_of(conn: AsyncConnection, seller_id: int) -> list[Flag]:
    return [_flag(r) for r in (await conn.execute(select(seller_flags).where(
        seller_flags.c.seller_id == seller_id))).all()]


async def complaints_about(conn: AsyncConnection, seller_id: int) -> list[ComplaintFiled]:
    return [ComplaintFiled(r.id, r.opened_at, r.about, r.state)
            for r in (await conn.execute(select(complaints.c.id, complaints.c.opened_at, complaints.c.about,
                                                complaints.c.state)
                                         .where(complaints.c.seller_id == seller_id))).all()]


# Flags ---------------------------------------------------------------------------------------

async def open_flag(conn: AsyncConnection, seller_id: int) -> Flag | None:
    row = (await conn.execute(select(seller_flags).where(
        seller_flags.c.seller_id == seller_id, seller_flags.c.cleared_at.is_(None)))).first()
    return None if row is None else _flag(row)


async def flagged(engine: AsyncEngine) -> list[Flag]:
    """Every open flag, the oldest first."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(seller_flags).where(seller_flags.c.cleared_at.is_(None))
                                   .order_by(seller_flags.c.raised_at))).all()
    return [_flag(r) for r in rows]


@dataclass(frozen=True, slots=True)
class FlagCheck:
    next_at: datetime | None  # None: at the next sweep


async def claim_flag_check(conn: AsyncConnection) -> FlagCheck | None:
    """The flag check's state row, held until the transaction ends; None when another sweeper
    holds it (PostgreSQL) or it is missing."""
    q = select(trust_sweep_state).where(trust_sweep_state.c.id == 1)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    state = (await conn.execute(q)).first()
    return None if state is None else FlagCheck(state.next_flag_check_at)


async def set_next_flag_check(conn: AsyncConnection, at: datetime) -> None:
    await conn.execute(update(trust_sweep_state).where(trust_sweep_state.c.id == 1)
                       .values(next_flag_check_at=at))


async def flag_candidates(conn: AsyncConnection, since: datetime, until: datetime) -> set[int]:
    """Sellers with a dispute closed with a refund in ``[since, until]``: those who may be over
    the threshold."""
    d = t.disputes
    return set((await conn.execute(select(d.c.seller_id).distinct().where(
        d.c.state == "closed", d.c.closed_at >= since, d.c.closed_at <= until,
        d.c.outcome.in_(REFUNDED)))).scalars())


async def open_flags(conn: AsyncConnection) -> dict[int, Flag]:
    """Seller → open flag."""
    return {r.seller_id: _flag(r) for r in (await conn.execute(
        select(seller_flags).where(seller_flags.c.cleared_at.is_(None)))).all()}


async def raise_flag(conn: AsyncConnection, *, seller_id: int, now: datetime, orders: int, lost_orders: int,
                     threshold: str) -> int:
    return (await conn.execute(seller_flags.insert().values(
        seller_id=seller_id, raised_at=now, orders=orders, lost_orders=lost_orders,
        threshold=threshold).returning(seller_flags.c.id))).scalar_one()


async def clear_flag(conn: AsyncConnection, flag_id: int, *, now: datetime, orders: int, lost_orders: int) -> None:
    await conn.execute(update(seller_flags).where(seller_flags.c.id == flag_id).values(
        cleared_at=now, cleared_orders=orders, cleared_lost_orders=lost_orders))
