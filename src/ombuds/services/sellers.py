"""Seller use cases (R21): the rating, penalties, the seller's timeline, and the flag check.

The rating is computed when asked, from orders and disputes (never stored, so it cannot
drift). Flags are the exception that needs memory — "once per crossing" — so the sweeper
re-checks every seller who could be over the threshold every ``FLAG_CHECK_EVERY`` and
records a flag row (and one ``seller.flagged`` event) when one crosses it, clearing the row
when the seller falls back under.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ombuds.domain import penalties as rules
from ombuds.domain.errors import Forbidden, NotFound
from ombuds.domain.events import Event
from ombuds.domain.policy import Policy
from ombuds.domain.rating import SellerRating, rate, window_start
from ombuds.services.context import Caller, Ombuds
from ombuds.store import seller_store as store
from ombuds.store import trust_repository as repo
from ombuds.store.uow import Connection
from ombuds.store.user_store import role_in

FLAG_CHECK_EVERY = timedelta(hours=1)
CHUNK = 500


async def refuse_if_suspended(app: Ombuds, seller_id: int) -> None:
    """R21: called by ``create_order`` before anything else is written."""
    async with app.engine.connect() as conn:
        rules.refuse_new_order(rules.standing(await repo.latest_standing_record(conn, seller_id)))


async def _require_seller(conn: Connection, seller_id: int) -> None:
    if await role_in(conn, seller_id) != "seller":
        raise NotFound("seller")


# The rating --------------------------------------------------------------------------------

async def ratings(conn: Connection, seller_ids: list[int], now: datetime, policy: Policy
                  ) -> dict[int, SellerRating]:
    """The rating of each seller as of ``now``, in two queries."""
    counted, facts = await store.rating_facts(conn, seller_ids, window_start(now, policy), now)
    return {s: rate(s, orders=counted.get(s, 0), disputes=facts.get(s, []), now=now, policy=policy)
            for s in seller_ids}


async def seller_rating(app: Ombuds, *, caller: Caller, seller_id: int) -> dict[str, Any]:
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
            flag = await store.open_flag(conn, seller_id)
            view["flag"] = {"over_threshold": rating.over_threshold, "threshold": rating.threshold,
                            "raised_at": flag and flag.raised_at.isoformat(),
                            "lost_dispute_ids": list(rating.lost_dispute_ids)}
    return view


def rating_view(r: SellerRating, standing: rules.Standing) -> dict[str, Any]:
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


async def _penalties_in_window(conn: Connection, seller_id: int, since: datetime, now: datetime
                               ) -> dict[str, int]:
    kinds, by_verdict = await store.penalty_counts(conn, seller_id, since, now)
    return {"warnings": kinds.get("warning", 0), "suspensions": kinds.get("suspension", 0),
            "by_verdict": by_verdict,
            "total": kinds.get("warning", 0) + kinds.get("suspension", 0) + by_verdict}


# Penalties and the timeline ------------------------------------------------------------------

async def penalise(app: Ombuds, *, caller: Caller, seller_id: int, kind: str, reason: str,
                   dispute_id: int | None = None) -> dict[str, Any]:
    """An arbitrator warns, suspends or reinstates a seller, with a reason (R15, R21)."""
    if not caller.is_staff:
        raise Forbidden("arbitrators_only", "Only the platform's arbitrators penalise sellers.")
    now = await app.now()
    async with app.uow() as uow:
        await _require_seller(uow.conn, seller_id)
        if dispute_id is not None and await store.dispute_seller(uow.conn, dispute_id) != seller_id:
            raise NotFound("dispute", "dispute_id")
        await store.lock_seller(uow.conn, seller_id)  # two suspensions never both pass
        current = rules.standing(await repo.latest_standing_record(uow.conn, seller_id))
        penalty, reason = rules.check_penalty(kind, reason, current)
        penalty_id = await repo.add_penalty(uow.conn, seller_id=seller_id, kind=penalty, reason=reason,
                                            by_id=caller.user_id, by_role=caller.role, now=now,
                                            dispute_id=dispute_id)
        await uow.commit()
    return {"id": penalty_id, "seller_id": seller_id, "kind": penalty.value, "reason": reason,
            "dispute_id": dispute_id, "at": now.isoformat(), "by": caller.role}


async def seller_timeline(app: Ombuds, *, caller: Caller, seller_id: int) -> dict[str, Any]:
    """Penalties (given by hand, through complaints, or by a verdict), oldest first; staff also
    see flags and complaints about the seller. Only staff and the seller read it."""
    if not (caller.is_staff or caller.user_id == seller_id):
        raise NotFound("seller_timeline")
    async with app.engine.connect() as conn:
        await _require_seller(conn, seller_id)
        items: list[dict[str, Any]] = [
            {"at": r.created_at, "kind": r.kind, "reason": r.reason, "by": r.by_role,
             "by_id": r.by_id if caller.is_staff else None, "dispute_id": r.dispute_id,
             "complaint_id": r.complaint_id, "penalty_id": r.id}
            for r in await store.penalties_of(conn, seller_id)]
        items += [{"at": v.verdict_at, "kind": "verdict_penalty", "reason": v.verdict_message,
                   "by": "arbitrator", "dispute_id": v.dispute_id, "round": v.verdict_round,
                   "final": v.dispute_state == "closed"}
                  for v in await store.verdict_penalties(conn, seller_id)]
        if caller.is_staff:
            for f in await store.flags_of(conn, seller_id):
                items.append({"at": f.raised_at, "kind": "flag_raised", "orders": f.orders,
                              "lost_orders": f.lost_orders, "threshold": float(f.threshold), "flag_id": f.id})
                if f.cleared_at:
                    items.append({"at": f.cleared_at, "kind": "flag_cleared", "orders": f.cleared_orders,
                                  "lost_orders": f.cleared_lost_orders, "flag_id": f.id})
            items += [{"at": c.opened_at, "kind": "complaint_filed", "complaint_id": c.id,
                       "about": c.about, "state": c.state}
                      for c in await store.complaints_about(conn, seller_id)]
        standing = rules.standing(await repo.latest_standing_record(conn, seller_id))
    # Same moment: penalties in the order they were given, then the rest.
    items.sort(key=lambda i: (i["at"], i.get("penalty_id") is None, i.get("penalty_id") or 0))
    for i in items:
        i["at"] = i["at"].isoformat()
    return {"seller_id": seller_id, "standing": {"state": standing.word, "reason": standing.reason,
                                                 "since": standing.since and standing.since.isoformat()},
            "items": items}


async def flagged_sellers(app: Ombuds, *, caller: Caller) -> list[dict[str, Any]]:
    if not caller.is_staff:
        raise Forbidden("arbitrators_only", "Flagged sellers are for the platform's staff.")
    rows = await store.flagged(app.engine)
    return [{"seller_id": r.seller_id, "flag_id": r.id, "raised_at": r.raised_at.isoformat(),
             "orders": r.orders, "lost_orders": r.lost_orders, "threshold": float(r.threshold)} for r in rows]


# The sweeper's flag check -------------------------------------------------------------------

async def check_flags(conn: Connection, until: datetime, policy: Policy) -> int:
    """R21: re-check every seller who may be over the threshold, at most every
    ``FLAG_CHECK_EVERY``; raise a flag on a crossing (once) and clear it when the seller is
    back under. Returns how many flags changed."""
    state = await store.claim_flag_check(conn)  # None: another sweeper is checking right now
    if state is None or (state.next_at is not None and state.next_at > until):
        return 0
    candidates = await store.flag_candidates(conn, window_start(until, policy), until)
    open_flags = await store.open_flags(conn)
    ids = sorted(candidates | set(open_flags))
    changed = 0
    for i in range(0, len(ids), CHUNK):
        for seller_id, r in (await ratings(conn, ids[i:i + CHUNK], until, policy)).items():
            flag = open_flags.get(seller_id)
            if r.over_threshold and flag is None:
                await _raise_flag(conn, r, until)
                changed += 1
            elif not r.over_threshold and flag is not None:
                await store.clear_flag(conn, flag.id, now=until, orders=r.orders, lost_orders=r.lost_orders)
                await repo.add_events(conn, [Event("seller.flag_cleared", "seller", seller_id, {
                    "flag_id": flag.id, "orders": r.orders, "lost_orders": r.lost_orders,
                    "lost_ratio": r.lost_ratio})], seller_id, until)
                changed += 1
    await store.set_next_flag_check(conn, until + FLAG_CHECK_EVERY)
    return changed


async def _raise_flag(conn: Connection, r: SellerRating, now: datetime) -> None:
    flag_id = await store.raise_flag(conn, seller_id=r.seller_id, now=now, orders=r.orders,
                                     lost_orders=r.lost_orders, threshold=str(r.threshold))
    data = {"flag_id": flag_id, "orders": r.orders, "lost_orders": r.lost_orders, "lost_ratio": r.lost_ratio,
            "threshold": r.threshold, "window_days": r.window_days,
            "lost_dispute_ids": list(r.lost_dispute_ids)}
    await repo.add_events(conn, [Event("seller.flagged", "seller", r.seller_id, data)], r.seller_id, now)
    await repo.add_alert(conn, kind="seller_flagged", subject="seller", subject_id=r.seller_id,
                         round_at=now, details=data, now=now)
