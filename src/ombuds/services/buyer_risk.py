"""Buyer risk signals (R22) for arbitrators only: read, never stored, never shown to parties.

The facts they read come from ``store/risk_store.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ombuds.domain.errors import Forbidden, NotFound
from ombuds.domain.policy import Policy
from ombuds.domain.rating import window_start
from ombuds.domain.risk import signals
from ombuds.services.context import Caller, Ombuds
from ombuds.store.risk_store import risk_facts
from ombuds.store.uow import Connection
from ombuds.store.user_store import role_in

NOTE = ("Signals inform the arbitrator; they never decide a dispute alone (R22). Parties never "
        "see them.")


def require_staff(caller: Caller) -> None:
    if not caller.is_staff:
        raise Forbidden("arbitrators_only", "Risk signals are for the platform's arbitrators only.")


async def buyer_risk(app: Ombuds, *, caller: Caller, buyer_id: int) -> dict[str, Any]:
    require_staff(caller)
    now = await app.now()
    async with app.engine.connect() as conn:
        if await role_in(conn, buyer_id) != "buyer":
            raise NotFound("buyer")
        return await risk_of(conn, buyer_id, now, app.policy)


async def risk_of(conn: Connection, buyer_id: int, now: datetime, policy: Policy) -> dict[str, Any]:
    since = window_start(now, policy)
    got = await risk_facts(conn, buyer_id, since, now)
    facts = got.disputes
    found = signals(orders=got.orders, disputes=facts, reused=got.reused, since=since, now=now,
                    evidence_available=True)
    return {
        "buyer_id": buyer_id, "as_of": now.isoformat(), "since": since.isoformat(),
        "window_days": policy.rating_window_days, "orders": got.orders,
        "disputes": sum(1 for f in facts if since <= f.opened_at <= now),
        "raised": [s.code for s in found if s.raised],
        "signals": [{"code": s.code, "meaning": s.meaning, "raised": s.raised, "count": s.count,
                     "of": s.of, "share": s.share, "dispute_ids": list(s.dispute_ids), **s.details}
                    for s in found],
        "note": NOTE,
    }
