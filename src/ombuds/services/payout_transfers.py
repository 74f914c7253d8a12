"""R39: a payout (R1) sent on as a transfer to the seller's connected account.

A payout is the ledger's: escrow → the seller's account, written with the change that released
it. With Stripe Connect as the provider, each payout to a seller with a connected account is
then transferred there: a ``payout_transfers`` row per line (idempotency key
``payout-line-<id>``, so a retry after a crash is the same transfer at Stripe), claimed with a
lease in a short transaction, sent *outside* any transaction, and its answer recorded in another.
Failures back off (2, 4, 8… minutes); after the 6th the transfer waits for the operator, who is
told (``payout.transfer_failed``). A transfer Stripe later reverses is posted by the webhook.

The simulator has no transfers: with it, payouts stay in the ledger, as before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select, update

from ombuds.adapters.clock import wall_now
from ombuds.adapters.payments import ProviderError
from ombuds.adapters.stripe_payments import TransferRequest
from ombuds.domain.errors import Conflict, NotFound
from ombuds.domain.events import Event
from ombuds.services.context import Ombuds
from ombuds.store import sweep_store
from ombuds.store import tables as t
from ombuds.store.tables_stripe import payout_transfers as pt

log = structlog.get_logger("ombuds.transfers")
MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=2)
BATCH = 50
LOOK_BACK = 10_000  # payout ids: concurrent transactions commit their ids out of order


async def sweep(app: Ombuds, now: datetime) -> int:
    """Plan transfers for new payouts, then send every due one; returns how many were sent."""
    if not hasattr(app.payments, "create_transfer"):
        return 0
    await plan(app, now)
    sent = 0
    while rows := await _claim(app, now):
        for row in rows:
            sent += await _send(app, row, now)
    return sent


async def plan(app: Ombuds, now: datetime) -> int:
    """A transfer row for every payout to a seller with a connected account that has none yet;
    the amount is what the seller got, after the platform's commission. Only payouts after the
    last ones transferred are looked at (an index read), so planning stays cheap as they grow;
    the look-back of ``LOOK_BACK`` ids covers payouts that committed after a later id did."""
    p, u = t.payouts, t.users
    async with app.uow() as uow:
        since = (await uow.conn.execute(select(func.max(pt.c.payout_id)))).scalar() or 0
        rows = (await uow.conn.execute(
            select(p.c.id, p.c.line_id, p.c.order_id, p.c.seller_id, p.c.currency, u.c.payout_account)
            .join(u, u.c.id == p.c.seller_id).outerjoin(pt, pt.c.line_id == p.c.line_id)
            .where(p.c.id > since - LOOK_BACK, pt.c.id.is_(None), u.c.payout_account.is_not(None))
            .order_by(p.c.id).limit(500))).all()
        paid = await sweep_store.payouts_of_lines(uow.conn, [r.line_id for r in rows])  # one query
        planned = [{"line_id": r.line_id, "payout_id": r.id, "order_id": r.order_id, "seller_id": r.seller_id,
                    "destination": r.payout_account, "amount": amount, "currency": r.currency,
                    "idempotency_key": f"payout-line-{r.line_id}", "created_at": now, "next_attempt_at": now}
                   for r in rows if (amount := paid.get(r.line_id, (0, 0))[0] - paid.get(r.line_id, (0, 0))[1]) > 0]
        if planned:
            await uow.conn.execute(pt.insert(), planned)  # one multi-row INSERT
        await uow.commit()
    return len(rows)


async def _claim(app: Ombuds, now: datetime) -> list:
    wall = wall_now()
    async with app.uow() as uow:
        q = (select(pt, t.orders.c.payment_ref).join(t.orders, t.orders.c.id == pt.c.order_id)
             .where(pt.c.next_attempt_at <= now,
                    (pt.c.claimed_until.is_(None)) | (pt.c.claimed_until < wall))
             .order_by(pt.c.next_attempt_at, pt.c.id).limit(BATCH))
        if uow.is_postgres:
            q = q.with_for_update(of=pt, skip_locked=True)
        rows = (await uow.conn.execute(q)).all()
        if rows:
            await uow.conn.execute(update(pt).where(pt.c.id.in_([r.id for r in rows]))
                                   .values(claimed_until=wall + LEASE))
            await uow.commit()
    return rows


async def _send(app: Ombuds, row, now: datetime) -> int:
    request = TransferRequest(row.idempotency_key, row.amount, row.currency, row.destination, row.payment_ref,
                              row.order_id, row.line_id)
    try:
        reference = await app.payments.create_transfer(request)  # no transaction is open here
    except ProviderError as exc:
        await _back_off(app, row, str(exc), now)
        return 0
    async with app.uow() as uow:
        await uow.conn.execute(update(pt).where(pt.c.id == row.id).values(
            provider_ref=reference, sent_at=now, next_attempt_at=None, claimed_until=None,
            attempts=row.attempts + 1, last_error=None))
        await uow.repo.add_events([Event("payout.transferred", "order", row.order_id, {
            "order_id": row.order_id, "seller_id": row.seller_id, "line_id": row.line_id, "transfer": reference,
            "amount": row.amount, "currency": row.currency, "destination": row.destination})], row.order_id, now)
        await uow.commit()
    return 1


async def _back_off(app: Ombuds, row, error: str, now: datetime) -> None:
    attempts = row.attempts + 1
    give_up = attempts >= MAX_ATTEMPTS
    async with app.uow() as uow:
        await uow.conn.execute(update(pt).where(pt.c.id == row.id).values(
            attempts=attempts, last_error=error[:500], claimed_until=None,
            next_attempt_at=None if give_up else now + timedelta(minutes=2 ** attempts)))
        if give_up:  # never silently lost: the operator is told, and can retry
            await uow.repo.add_events([Event("payout.transfer_failed", "order", row.order_id, {
                "order_id": row.order_id, "seller_id": row.seller_id, "line_id": row.line_id,
                "amount": row.amount, "currency": row.currency, "attempts": attempts, "error": error[:500]})],
                row.order_id, now)
        await uow.commit()
    log.warning("transfer_failed", line=row.line_id, attempts=attempts, error=error)


# The operator's view and retry -----------------------------------------------------------------

async def of_order(app: Ombuds, *, order_id: int) -> list[dict]:
    async with app.engine.connect() as conn:
        rows = (await conn.execute(select(pt).where(pt.c.order_id == order_id).order_by(pt.c.line_id))).all()
    return [view(r) for r in rows]


def view(r) -> dict:
    status = ("reversed" if r.reversed_amount and r.reversed_amount >= r.amount else
              "sent" if r.provider_ref else "failed" if r.next_attempt_at is None else "pending")
    return {"id": r.id, "order_id": r.order_id, "line_id": r.line_id, "seller_id": r.seller_id,
            "destination": r.destination, "amount": r.amount, "currency": r.currency, "status": status,
            "transfer": r.provider_ref, "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            "attempts": r.attempts, "last_error": r.last_error, "reversed_amount": r.reversed_amount}


async def retry(app: Ombuds, *, transfer_id: int) -> dict:
    """Send a transfer that failed six times again, with the same key (marketplace key)."""
    now = await app.now()
    async with app.uow() as uow:
        row = (await uow.conn.execute(select(pt).where(pt.c.id == transfer_id))).first()
        if row is None:
            raise NotFound("transfer")
        if row.provider_ref is not None or row.next_attempt_at is not None:
            raise Conflict("transfer_not_failed", "This transfer is not waiting to be retried.", None)
        await uow.conn.execute(update(pt).where(pt.c.id == transfer_id)
                               .values(next_attempt_at=now, attempts=0, last_error=None, claimed_until=None))
        await uow.commit()
        row = (await uow.conn.execute(select(pt).where(pt.c.id == transfer_id))).first()
    return view(row)
