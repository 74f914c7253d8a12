"""Seller use cases (R21): the rating, penalties, the seller's timeline, and the flag check.

The rating is computed when asked, from orders and disputes (never stored, so it cannot
drift). Flags are the exception that needs memory — "once per crossing" — so the sweeper
re-checks every seller who could be over the threshold every ``FLAG_CHECK_EVERY`` and
records a flag row (and one ``seller.flagged`` event) when one crosses it, clearing the row
when the seller falls back under.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ombuds.domain import penalties as rules
from ombuds.domain.errors import Forbidden, NotFound
from ombuds.domain.events import Event
from ombuds.domain.policy import Policy
from ombuds.domain.rating import REFUNDED, DisputeFacts, SellerRating, rate, window_start
from ombuds.services.context import Caller, Ombuds
from ombuds.store import tables as t
from ombuds.store import trust_repository as repo
from ombuds.store.tables_trust import complaints, seller_flags, seller_penalties, trust_sweep_state

FLAG_CHECK_EVERY = timedelta(hours=1)
CHUNK = 500


async def refuse_if_suspended(app: Ombuds, seller_id: int) -> None:
    """R21: called by ``create_order`` before anything else is written."""
    async with app.engine.connect() as conn:
        rules.refuse_new_order(rules.standing(await repo.latest_standing_record(conn, seller_id)))


async def _require_seller(conn: AsyncConnection, seller_id: int) -> None:
    role = (await conn.execute(select(t.users.c.role).where(t.users.c.id == seller_id))).scalar()
    if role != "seller":
        raise NotFound("seller")


# The rating --------------------------------------------------------------------------------

async def ratings(conn: AsyncConnection, seller_ids: list[int], now: datetime, policy: Policy
                  ) -> dict[int, SellerRating]:
    """The rating of each seller as of ``now``, in two queries."""
    since = window_start(now, policy)
    o = t.orders
    counted = dict((await conn.execute(
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
    return {s: rate(s, orders=counted.get(s, 0), disputes=facts[s], now=now, policy=policy)
            for s in seller_ids}


async def seller_rating(app: Ombuds, *, caller: Caller, seller_id: int) -> dict:
    """R21: anyone signed in may read a seller's rating; staff and the seller see more."""
    now = await app.now()
    async with app.engine.connect() as conn:
        await _require_seller(conn, seller_id)
        rating = (await ratings(conn, [seller_id], now, app.policy))[seller_id]
        standing = rules.standing(await repo.latest_standing_record(conn, seller_id))
        view = rating_view(rating, standing)
        if caller.is_staff or caller.user_id == seller_id:
            view["penalties_in_window"] = await _penalties_in_window(conn, seller_id, rating.since, now)
            view["standing"]["reason"] = standing.reason
        if caller.is_staff:
            flag = (await conn.execute(select(seller_flags).where(
                seller_flags.c.seller_id == seller_id, seller_flags.c.cleared_at.is_(None)))).first()
            view["flag"] = {"over_threshold": rating.over_threshold, "threshold": rating.threshold,
                            "raised_at": flag and flag.raised_at.isoformat(),
                            "lost_dispute_ids": list(rating.lost_dispute_ids)}
    return view


def rating_view(r: SellerRating, standing: rules.Standing) -> dict:
    return {
        "seller_id": r.seller_id, "as_of": r.as_of.isoformat(), "since": r.since.isoformat(),
        "window_days": r.window_days, "orders": r.orders,
        "disputes": {"opened": r.disputes_opened, "orders_disputed": r.disputed_orders,
                     "rate": r.dispute_rate, "closed": r.disputes_closed},
        "lost": {"disputes": r.disputes_lost, "by_seller_silence": r.lost_by_silence,
                 "by_verdict": r.lost_by_verdict, "orders": r.lost_orders, "ratio": r.lost_ratio},
        "first_response": {"answered": r.responded, "average_seconds": r.first_response_seconds,
                           "average_hours": None if r.first_response_seconds is None
                           else round(r.first_response_seconds / 3600, 1)},
        "resolved_without_arbitration": {"disputes": r.resolved_without_arbitration,
                                         "share": r.resolved_without_arbitration_share},
        "standing": {"state": standing.word,
                     "since": standing.since and standing.since.isoformat()},
    }


async def _penalties_in_window(conn: AsyncConnection, seller_id: int, since: datetime, now: datetime) -> dict:
    p = seller_penalties
    kinds = dict((await conn.execute(select(p.c.kind, func.count()).where(
        p.c.seller_id == seller_id, p.c.created_at >= since, p.c.created_at <= now,
        p.c.kind.in_([k.value for k in rules.PENALTIES])).group_by(p.c.kind))).all())
    d = t.disputes
    by_verdict = (await conn.execute(select(func.count()).select_from(d).where(
        d.c.seller_id == seller_id, d.c.verdict_penalise_seller.is_(True), d.c.verdict_at >= since,
        d.c.verdict_at <= now))).scalar_one()
    return {"warnings": kinds.get("warning", 0), "suspensions": kinds.get("suspension", 0),
            "by_verdict": by_verdict,
            "total": kinds.get("warning", 0) + kinds.get("suspension", 0) + by_verdict}


# Penalties and the timeline ------------------------------------------------------------------

async def penalise(app: Ombuds, *, caller: Caller, seller_id: int, kind: str, reason: str,
                   dispute_id: int | None = None) -> dict:
    """An arbitrator warns, suspends or reinstates a seller, with a reason (R15, R21)."""
    if not caller.is_staff:
        raise Forbidden("arbitrators_only", "Only the platform's arbitrators penalise sellers.")
    now = await app.now()
    async with app.uow() as uow:
        await _require_seller(uow.conn, seller_id)
        if dispute_id is not None:
            owner = (await uow.conn.execute(select(t.disputes.c.seller_id)
                                            .where(t.disputes.c.id == dispute_id))).scalar()
            if owner != seller_id:
                raise NotFound("dispute", "dispute_id")
        if uow.is_postgres:  # one penalty at a time per seller: two suspensions never both pass
            await uow.conn.execute(select(t.users.c.id).where(t.users.c.id == seller_id).with_for_update())
        current = rules.standing(await repo.latest_standing_record(uow.conn, seller_id))
        penalty, reason = rules.check_penalty(kind, reason, current)
        penalty_id = await repo.add_penalty(uow.conn, seller_id=seller_id, kind=penalty, reason=reason,
                                            by_id=caller.user_id, by_role=caller.role, now=now,
                                            dispute_id=dispute_id)
        await uow.commit()
    return {"id": penalty_id, "seller_id": seller_id, "kind": penalty.value, "reason": reason,
            "dispute_id": dispute_id, "at": now.isoformat(), "by": caller.role}


async def seller_timeline(app: Ombuds, *, caller: Caller, seller_id: int) -> dict:
    """Penalties (given by hand, through complaints, or by a verdict), oldest first; staff also
    see flags and complaints about the seller. Only staff and the seller read it."""
    if not (caller.is_staff or caller.user_id == seller_id):
        raise NotFound("seller_timeline")
    async with app.engine.connect() as conn:
        await _require_seller(conn, seller_id)
        items = [{"at": r.created_at, "kind": r.kind, "reason": r.reason, "by": r.by_role,
                  "by_id": r.by_id if caller.is_staff else None, "dispute_id": r.dispute_id,
                  "complaint_id": r.complaint_id, "penalty_id": r.id}
                 for r in (await conn.execute(select(seller_penalties).where(
                     seller_penalties.c.seller_id == seller_id))).all()]
        d = t.disputes
        items += [{"at": r.verdict_at, "kind": "verdict_penalty", "reason": r.verdict_message,
                   "by": "arbitrator", "dispute_id": r.id, "round": r.verdict_round,
                   "final": r.state == "closed"}
                  for r in (await conn.execute(select(d.c.id, d.c.verdict_at, d.c.verdict_message,
                                                      d.c.verdict_round, d.c.state).where(
                      d.c.seller_id == seller_id, d.c.verdict_penalise_seller.is_(True)))).all()]
        if caller.is_staff:
            for f in (await conn.execute(select(seller_flags).where(seller_flags.c.seller_id == seller_id))).all():
                items.append({"at": f.raised_at, "kind": "flag_raised", "orders": f.orders,
                              "lost_orders": f.lost_orders, "threshold": float(f.threshold), "flag_id": f.id})
                if f.cleared_at:
                    items.append({"at": f.cleared_at, "kind": "flag_cleared", "orders": f.cleared_orders,
                                  "lost_orders": f.cleared_lost_orders, "flag_id": f.id})
            items += [{"at": r.opened_at, "kind": "complaint_filed", "complaint_id": r.id,
                       "about": r.about, "state": r.state}
                      for r in (await conn.execute(select(complaints.c.id, complaints.c.opened_at,
                                                          complaints.c.about, complaints.c.state)
                                                   .where(complaints.c.seller_id == seller_id))).all()]
        standing = rules.standing(await repo.latest_standing_record(conn, seller_id))
    # Same moment: penalties in the order they were given, then the rest.
    items.sort(key=lambda i: (i["at"], i.get("penalty_id") is None, i.get("penalty_id") or 0))
    for i in items:
        i["at"] = i["at"].isoformat()
    return {"seller_id": seller_id, "standing": {"state": standing.word, "reason": standing.reason,
                                                 "since": standing.since and standing.since.isoformat()},
            "items": items}


async def flagged_sellers(app: Ombuds, *, caller: Caller) -> list[dict]:
    if not caller.is_staff:
        raise Forbidden("arbitrators_only", "Flagged sellers are for the platform's staff.")
    async with app.engine.connect() as conn:
        rows = (await conn.execute(select(seller_flags).where(seller_flags.c.cleared_at.is_(None))
                                   .order_by(seller_flags.c.raised_at))).all()
    return [{"seller_id": r.seller_id, "flag_id": r.id, "raised_at": r.raised_at.isoformat(),
             "orders": r.orders, "lost_orders": r.lost_orders, "threshold": float(r.threshold)} for r in rows]


# The sweeper's flag check -------------------------------------------------------------------

async def check_flags(conn: AsyncConnection, until: datetime, policy: Policy) -> int:
    """R21: re-check every seller who may be over the threshold, at most every
    ``FLAG_CHECK_EVERY``; raise a flag on a crossing (once) and clear it when the seller is
    back under. Returns how many flags changed."""
    q = select(trust_sweep_state).where(trust_sweep_state.c.id == 1)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)  # another sweeper is checking right now
    state = (await conn.execute(q)).first()
    if state is None or (state.next_flag_check_at is not None and state.next_flag_check_at > until):
        return 0
    since = window_start(until, policy)
    d = t.disputes
    candidates = set((await conn.execute(select(d.c.seller_id).distinct().where(
        d.c.state == "closed", d.c.closed_at >= since, d.c.closed_at <= until,
        d.c.outcome.in_(REFUNDED)))).scalars())
    open_flags = {r.seller_id: r for r in (await conn.execute(
        select(seller_flags).where(seller_flags.c.cleared_at.is_(None)))).all()}
    ids = sorted(candidates | set(open_flags))
    changed = 0
    for i in range(0, len(ids), CHUNK):
        for seller_id, r in (await ratings(conn, ids[i:i + CHUNK], until, policy)).items():
            flag = open_flags.get(seller_id)
            if r.over_threshold and flag is None:
                await _raise_flag(conn, r, until)
                changed += 1
            elif not r.over_threshold and flag is not None:
                await conn.execute(update(seller_flags).where(seller_flags.c.id == flag.id).values(
                    cleared_at=until, cleared_orders=r.orders, cleared_lost_orders=r.lost_orders))
                await repo.add_events(conn, [Event("seller.flag_cleared", "seller", seller_id, {
                    "flag_id": flag.id, "orders": r.orders, "lost_orders": r.lost_orders,
                    "lost_ratio": r.lost_ratio})], seller_id, until)
                changed += 1
    await conn.execute(update(trust_sweep_state).where(trust_sweep_state.c.id == 1)
                       .values(next_flag_check_at=until + FLAG_CHECK_EVERY))
    return changed


async def _raise_flag(conn: AsyncConnection, r: SellerRating, now: datetime) -> None:
    flag_id = (await conn.execute(seller_flags.insert().values(
        seller_id=r.seller_id, raised_at=now, orders=r.orders, lost_orders=r.lost_orders,
        threshold=str(r.threshold)).returning(seller_flags.c.id))).scalar_one()
    data = {"flag_id": flag_id, "orders": r.orders, "lost_orders": r.lost_orders, "lost_ratio": r.lost_ratio,
            "threshold": r.threshold, "window_days": r.window_days,
            "lost_dispute_ids": list(r.lost_dispute_ids)}
    await repo.add_events(conn, [Event("seller.flagged", "seller", r.seller_id, data)], r.seller_id, now)
    await repo.add_alert(conn, kind="seller_flagged", subject="seller", subject_id=r.seller_id,
                         round_at=now, details=data, now=now)
