"""The operator's dashboard (staff only): how disputes, arbitration and refunds are going.

Read over a window of days (default 30) ending now, from the disputes, refunds and ledger
tables; nothing is stored. The same numbers feed the page (``/dashboard``, as charts) and the
API (``GET /api/v1/dashboard``).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from ombuds.domain.dashboard import HowClosed, how_closed, per_day, spread
from ombuds.domain.errors import DomainError, Forbidden
from ombuds.domain.rating import SellerRating
from ombuds.services.context import Caller, Ombuds
from ombuds.services.sellers import ratings
from ombuds.store import dashboard_store as store
from ombuds.store.dashboard_store import DisputeTimes
from ombuds.store.uow import Connection

MAX_DAYS = 366
NEAREST_SELLERS = 10


async def dashboard(app: Ombuds, *, caller: Caller, days: int = 30) -> dict[str, Any]:
    if not caller.is_staff:
        raise Forbidden("staff_only", "The dashboard is for the marketplace and its arbitrators.")
    if not 1 <= days <= MAX_DAYS:
        raise DomainError("invalid_days", f"Choose between 1 and {MAX_DAYS} days.", "days")
    now = await app.now()
    since = now - timedelta(days=days)
    async with app.engine.connect() as conn:
        disputes = await store.disputes_since(conn, since)
        queue = await _queue(conn, app, now)
        refunds = await _refunds(conn, since, now)
        sellers = await _sellers_nearest_flag(conn, app, now)
    return {"as_of": now.isoformat(), "days": days, "since": since.isoformat(),
            **_dispute_numbers(disputes, since, now), "arbitration": queue, "refunds": refunds,
            "sellers": sellers}


def _dispute_numbers(rows: list[DisputeTimes], since: datetime, now: datetime) -> dict[str, Any]:
    opened = [r.opened_at for r in rows if r.opened_at >= since]
    closed = [(r, r.closed_at) for r in rows if r.closed_at is not None and r.closed_at >= since]
    first, last = since.date(), now.date()
    closed_per_day = dict(per_day([at for _, at in closed], first, last))
    outcomes = {h.value: 0 for h in HowClosed}
    for r, _ in closed:
        outcomes[how_closed(r.outcome, r.first_seller_response_at, r.verdict_at).value] += 1
    return {
        "per_day": [{"day": day.isoformat(), "opened": n, "closed": closed_per_day[day]}
                    for day, n in per_day(opened, first, last)],
        "opened": len(opened), "closed": len(closed), "outcomes": outcomes,
        "first_seller_answer": spread([r.first_seller_response_at - r.opened_at for r in rows
                                       if r.opened_at >= since and r.first_seller_response_at is not None]),
        "resolution": spread([at - r.opened_at for r, at in closed]),
    }


async def _queue(conn: Connection, app: Ombuds, now: datetime) -> dict[str, Any]:
    """R15: the escalated disputes now, each one's age against the target and the limit."""
    escalated = await store.escalated(conn)
    target, limit = app.policy.arbitration_review_target_days, app.policy.arbitration_limit_days
    ages = [(i, (now - at).total_seconds() / 86400) for i, at in escalated if at]
    return {"open": len(ages), "target_days": target, "limit_days": limit,
            "within_target": sum(1 for _, a in ages if a < target),
            "past_target": sum(1 for _, a in ages if target <= a < limit),
            "past_limit": sum(1 for _, a in ages if a >= limit),
            "oldest": [{"dispute_id": i, "age_days": round(a, 1)} for i, a in ages[:15]]}


async def _refunds(conn: Connection, since: datetime, now: datetime) -> dict[str, Any]:
    """R20: refunds issued in the window by payment method, and how many landed in time."""
    rows = await store.refunds_since(conn, since)
    methods: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = "platform_balance" if row.destination == "platform_balance" else row.payment_method
        m = methods.setdefault(key, {"method": key, "count": 0, "amounts": {}, "on_time": 0, "late": 0,
                                     "in_flight": 0})
        m["count"] += 1
        m["amounts"][row.currency] = m["amounts"].get(row.currency, 0) + row.amount
        due = datetime.combine(row.expected_latest, time.max, tzinfo=UTC) if row.expected_latest else None
        if row.settled_at is not None:
            m["on_time" if due is None or row.settled_at <= due else "late"] += 1
        elif due is not None and now > due:
            m["late"] += 1
        else:
            m["in_flight"] += 1
    for m in methods.values():
        decided = m["on_time"] + m["late"]
        m["on_time_rate"] = None if decided == 0 else round(m["on_time"] / decided, 4)
    items = sorted(methods.values(), key=lambda m: -m["count"])
    on_time, late = sum(m["on_time"] for m in items), sum(m["late"] for m in items)
    return {"by_method": items, "count": len(rows),
            "on_time_rate": None if on_time + late == 0 else round(on_time / (on_time + late), 4)}


async def _sellers_nearest_flag(conn: Connection, app: Ombuds, now: datetime) -> dict[str, Any]:
    """R21: the sellers with the largest share of orders lost in the rating window."""
    since = now - app.policy.days("rating_window_days")
    ids = await store.sellers_with_closings(conn, since, now)
    rated: list[SellerRating] = list((await ratings(conn, ids, now, app.policy)).values()) if ids else []
    names = await store.user_names(conn, ids) if ids else {}
    nearest = sorted(rated, key=lambda r: (-(r.lost_ratio or 0), r.seller_id))[:NEAREST_SELLERS]
    return {"threshold": app.policy.seller_flag_lost_ratio, "window_days": app.policy.rating_window_days,
            "nearest": [{"seller_id": r.seller_id, "name": names.get(r.seller_id), "orders": r.orders,
                         "lost_orders": r.lost_orders, "lost_ratio": r.lost_ratio or 0.0,
                         "over_threshold": r.over_threshold} for r in nearest]}
