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
from typing import Any, Protocol, runtime_checkable

import structlog

from ombuds.adapters.clock import wall_now
from ombuds.adapters.payments import ProviderError
from ombuds.adapters.stripe_payments import TransferRequest
from ombuds.domain.errors import Conflict, NotFound
from ombuds.domain.events import Event
from ombuds.services.context import Ombuds
from ombuds.store import provider_store, sweep_store
from ombuds.store.provider_store import TransferRow

log = structlog.get_logger("ombuds.transfers")
MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=2)
BATCH = 50
LOOK_BACK = 10_000  # payout ids: concurrent transactions commit their ids out of order


@runtime_checkable
class Transfers(Protocol):
    """A payment provider that can send money on to a seller's connected account."""

    async def create_transfer(self, request: TransferRequest) -> str: ...


async def sweep(app: Ombuds, now: datetime) -> int:
    """Plan transfers for new payouts, then send every due one; returns how many were sent."""
    payments = app.payments
    if not isinstance(payments, Transfers):
        return 0
    await plan(app, now)
    sent = 0
    while rows := await _claim(app, now):
        for row in rows:
            sent += await _send(app, payments, row, now)
    return sent


async def plan(app: Ombuds, now: datetime) -> int:
    """A transfer row for every payout to a seller with a connected account that has none yet;
    the amount is what the seller got, after the platform's commission. Only payouts after the
    last ones transferred are looked at (an index read), so planning stays cheap as they grow;
    the look-back of ``LOOK_BACK`` ids covers payouts that committed after a later id did."""
    async with app.uow() as uow:
        since = await provider_store.last_transferred_payout(uow.conn)
        rows = await provider_store.payouts_to_transfer(uow.conn, after=since - LOOK_BACK, limit=500)
        paid = await sweep_store.payouts_of_lines(uow.conn, [r.line_id for r in rows])  # one query
        planned = [{"line_id": r.line_id, "payout_id": r.id, "order_id": r.order_id, "seller_id": r.seller_id,
                    "destination": r.payout_account, "amount": amount, "currency": r.currency,
                    "idempotency_key": f"payout-line-{r.line_id}", "created_at": now, "next_attempt_at": now}
                   for r in rows if (amount := paid.get(r.line_id, (0, 0))[0] - paid.get(r.line_id, (0, 0))[1]) > 0]
        if planned:
            await provider_store.add_transfers(uow.conn, planned)  # one multi-row INSERT
        await uow.commit()
    return len(rows)


async def _claim(app: Ombuds, now: datetime) -> list[TransferRow]:
    wall = wall_now()
    async with app.uow() as uow:
        rows = await provider_store.claim_due_transfers(uow.conn, now=now, wall=wall, limit=BATCH,
                                                        lock=uow.is_postgres)
        if rows:
            await provider_store.lease_transfers(uow.conn, [r.id for r in rows], until=wall + LEASE)
            await uow.commit()
    return rows


async def _send(app: Ombuds, payments: Transfers, row: TransferRow, now: datetime) -> int:
    request = TransferRequest(row.idempotency_key, row.amount, row.currency, row.destination, row.payment_ref,
                              row.order_id, row.line_id)
    try:
        reference = await payments.create_transfer(request)  # no transaction is open here
    except ProviderError as exc:
        await _back_off(app, row, str(exc), now)
        return 0
    async with app.uow() as uow:
        await provider_store.update_transfer(
            uow.conn, row.id, provider_ref=reference, sent_at=now, next_attempt_at=None, claimed_until=None,
            attempts=row.attempts + 1, last_error=None)
        await uow.repo.add_events([Event("payout.transferred", "order", row.order_id, {
            "order_id": row.order_id, "seller_id": row.seller_id, "line_id": row.line_id, "transfer": reference,
            "amount": row.amount, "currency": row.currency, "destination": row.destination})], row.order_id, now)
        await uow.commit()
    return 1


async def _back_off(app: Ombuds, row: TransferRow, error: str, now: datetime) -> None:
    attempts = row.attempts + 1
    give_up = attempts >= MAX_ATTEMPTS
    async with app.uow() as uow:
        await provider_store.update_transfer(
            uow.conn, row.id, attempts=attempts, last_error=error[:500], claimed_until=None,
            next_attempt_at=None if give_up else now + timedelta(minutes=2 ** attempts))
        if give_up:  # never silently lost: the operator is told, and can retry
            await uow.repo.add_events([Event("payout.transfer_failed", "order", row.order_id, {
                "order_id": row.order_id, "seller_id": row.seller_id, "line_id": row.line_id,
                "amount": row.amount, "currency": row.currency, "attempts": attempts, "error": error[:500]})],
                row.order_id, now)
        await uow.commit()
    log.warning("transfer_failed", line=row.line_id, attempts=attempts, error=error)


# The operator's view and retry -----------------------------------------------------------------

async def of_order(app: Ombuds, *, order_id: int) -> list[dict]:
    rows = await provider_store.transfers_of_order(app.engine, order_id)
    return [view(r) for r in rows]


def view(r: TransferRow) -> dict[str, Any]:
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
        row = await provider_store.transfer(uow.conn, transfer_id)
        if row is None:
            raise NotFound("transfer")
        if row.provider_ref is not None or row.next_attempt_at is not None:
            raise Conflict("transfer_not_failed", "This transfer is not waiting to be retried.", None)
        await provider_store.update_transfer(uow.conn, transfer_id, next_attempt_at=now, attempts=0,
                                             last_error=None, claimed_until=None)
        await uow.commit()
        row = await provider_store.transfer(uow.conn, transfer_id)
    assert row is not None  # read in the same connection that just changed it
    return view(row)
