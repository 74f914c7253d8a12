"""The sweeper's trust steps (:mod:`ombuds.services.sweeper`), after the disputes' own timers
(so a case that just passed its limit, or a dispute just lost by silence, is seen at once):

1. complaints' reminders and answer targets (R24), claimed like disputes, in batches of their
   own transaction; a complaint the rules refuse is set aside (kind ``complaint``);
2. alerts for escalated cases near or past their review limit (R15) and the seller flag check
   (R21, at most every ``sellers.FLAG_CHECK_EVERY``), in one transaction of their own.

Each part returns only what it changed, so ``sweep`` stops when nothing is left to do.
"""

from __future__ import annotations

from datetime import datetime

from ombuds.domain.policy import Policy
from ombuds.services import arbitration, complaints, sellers
from ombuds.services.context import Ombuds
from ombuds.store.uow import UnitOfWork

KIND = "complaint"


async def sweep_complaints(uow: UnitOfWork, until: datetime, batch: int, policy: Policy, *,
                           only: int | None = None) -> tuple[list[int], dict[int, str]]:
    """One batch of due complaints: (complaints claimed, those refused → why)."""
    return await complaints.sweep_due(uow.conn, until, batch, policy, set_aside_kind=KIND, only=only)


async def sweep_alerts_and_flags(app: Ombuds, until: datetime, batch: int) -> int:
    done = 0
    while True:
        async with app.uow() as uow:
            n = await arbitration.alert_deadlines(uow.conn, until, app.policy, batch)
            n += await sellers.check_flags(uow.conn, until, app.policy)
            await uow.commit()
        done += n
        if n == 0:
            return done
