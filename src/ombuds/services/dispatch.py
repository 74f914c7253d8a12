"""The outbox dispatcher: everyone hears of every committed change, at least once.

Every change writes its events to ``outbox`` in its own transaction (store/repository.py),
so a change that rolled back has no event and sends nothing. The dispatcher then works in
two steps, each safe to run in any number of processes on PostgreSQL:

1. **Fan-out** (one transaction per batch): claim undispatched outbox rows in id order
   (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has a single writer), turn each into
   its messages — e-mails to the parties concerned (R23, R28) and a delivery per matching
   webhook endpoint — and mark the rows dispatched. Messages and mark commit together, so
   a crash here loses nothing and doubles nothing.
2. **Sending**: claim due e-mails and webhook deliveries with a lease (``claimed_until``),
   send them outside any transaction, record each result with its retry schedule
   (``next_attempt_at``, exponential backoff). A dispatcher killed mid-batch loses its
   claims when the lease runs out; the next one sends again with the same event id
   (``X-Ombuds-Event-Id``, ``webhook-id``), so receivers drop repeats.

Without an SMTP server, e-mails are kept in the local mailbox (``/mailbox``) in step 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from ombuds.emails.notices import OutboxEvent
from ombuds.services import mail, webhooks
from ombuds.services.context import Ombuds
from ombuds.services.delivery import DispatchConfig
from ombuds.store import delivery_store

log = structlog.get_logger("ombuds.dispatch")


@dataclass(slots=True)
class DispatchReport:
    events: int = 0  # outbox rows fanned out
    mails: int = 0  # e-mails tried over SMTP
    webhooks: int = 0  # webhook deliveries tried

    @property
    def idle(self) -> bool:
        return not (self.events or self.mails or self.webhooks)


async def dispatch(app: Ombuds, config: DispatchConfig) -> DispatchReport:
    """One pass: fan out one batch of events, then try one batch of due e-mails and webhooks."""
    report = DispatchReport()
    report.events = await fan_out_batch(app, config)
    if config.smtp is not None:
        report.mails = await mail.send_due(app, config)
    report.webhooks = await webhooks.send_due(app, config)
    return report


async def drain(app: Ombuds, config: DispatchConfig, *, max_passes: int = 10_000) -> DispatchReport:
    """Pass after pass until nothing is left that is due now (retries wait for their time)."""
    total = DispatchReport()
    for _ in range(max_passes):
        r = await dispatch(app, config)
        total.events, total.mails, total.webhooks = (total.events + r.events, total.mails + r.mails,
                                                     total.webhooks + r.webhooks)
        if r.idle:
            break
    return total


async def fan_out_batch(app: Ombuds, config: DispatchConfig) -> int:
    """Claim up to ``batch`` undispatched events, queue their messages, mark them dispatched."""
    async with app.uow() as uow:
        now = await app.now()  # read through the unit of work's connection
        rows = await delivery_store.claim_undispatched(uow.conn, limit=config.batch, lock=uow.is_postgres)
        if not rows:
            return 0
        events = [OutboxEvent(r.id, r.type, r.aggregate, r.aggregate_id, r.payload, r.created_at)
                  for r in rows]
        await mail.queue(uow.conn, events, now=now, config=config)
        await webhooks.queue(uow.conn, events, now=now)
        await delivery_store.mark_dispatched(uow.conn, [e.id for e in events], at=now)
        await uow.commit()
    log.debug("outbox_dispatched", count=len(events), first=events[0].id, last=events[-1].id)
    return len(events)

