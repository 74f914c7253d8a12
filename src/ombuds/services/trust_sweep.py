"""The sweeper's trust step, run inside each batch of :func:`ombuds.services.sweeper.sweep_batch`.

It is named for the hook the sweeper was given, and does all of trust's deadline work in
the batch's transaction, after the disputes' own timers (so a case that just passed its
limit, or a dispute just lost by silence, is seen at once):

1. complaints' reminders and answer targets (R24), claimed like disputes;
2. alerts for escalated cases near or past their review limit (R15);
3. the seller flag check (R21), at most every ``sellers.FLAG_CHECK_EVERY``.

Each part returns only what it changed, so ``sweep`` stops when nothing is left to do.
"""

from __future__ import annotations

from datetime import datetime

from ombuds.domain.policy import Policy
from ombuds.services import arbitration, complaints, sellers
from ombuds.store.uow import UnitOfWork


async def sweep_complaints(uow: UnitOfWork, until: datetime, batch: int, policy: Policy) -> int:
    done = await complaints.sweep_due(uow.conn, until, batch, policy)
    done += await arbitration.alert_deadlines(uow.conn, until, policy, batch)
    done += await sellers.check_flags(uow.conn, until, policy)
    return done
