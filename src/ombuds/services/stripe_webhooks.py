"""R39: Stripe's signed webhooks — settlement, failure and reversal, and card chargebacks.

``api/routes_stripe.py`` verifies the ``Stripe-Signature`` with the library; this module applies
a verified event in one transaction together with a row naming its id, so each event is applied
once (a second delivery is answered ``200`` with ``result: already_received`` and changes
nothing), and an event about something Ombuds does not know (a refund, transfer or charge of the
account's other business) is answered ``200`` with ``result: not_ours`` and changes nothing. Stripe
retries every answer that is not 2xx for days and disables an endpoint that keeps failing, so
what was received and verified is always acknowledged.

What Ombuds does with each event:

- ``refund.updated``, ``charge.refund.updated`` (``refund.created``): ``succeeded``: the refund
  settles (``refund_settled``); ``failed`` or ``canceled``: the refund is failed and the operator
  told (``refund.failed``), and a retry is a new refund at Stripe.
- ``transfer.reversed`` (``transfer.updated`` with a reversal): the reversed part is taken back
  from the seller (``transfer_reversed``).
- ``charge.dispute.created`` / ``.updated``: a chargeback on the order
  (``order.chargeback_opened``); the payout of the lines it covers waits.
- ``charge.dispute.closed``: lost: ``chargeback_lost`` moves the money to the cardholder; won:
  nothing moves; either way the lines are released and paid if due (``order.chargeback_closed``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ombuds.domain import ledger
from ombuds.domain.chargebacks import chargeback_lost, lines_covered, transfer_reversed
from ombuds.domain.errors import Conflict, DomainError, NotFound
from ombuds.domain.events import Event
from ombuds.domain.identity import saved_id
from ombuds.domain.orders import Order
from ombuds.services import money
from ombuds.services.context import Ombuds
from ombuds.store import money_store, provider_store
from ombuds.store.uow import UnitOfWork

REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")
TRANSFER_EVENTS = ("transfer.reversed", "transfer.updated")
DISPUTE_OPENED = ("charge.dispute.created", "charge.dispute.updated")
DISPUTE_CLOSED = ("charge.dispute.closed",)
MAX_AMOUNT = 10**12


async def apply(app: Ombuds, event: dict) -> dict:
    """Apply one verified Stripe event; returns what was done."""
    kind, obj = event["type"], event["data"]["object"]
    now = await app.now()
    async with app.uow() as uow:
        if not await provider_store.record_event(uow.conn, event_id=event["id"], type=kind,
                                                 object_id=obj.get("id"), received_at=now):
            # Stripe retries what it thinks failed: a 2xx stops it (nothing changes)
            return {"id": event["id"], "type": kind, "result": "already_received"}
        try:
            done = await _dispatch(uow, app, kind, obj, now)
        except NotFound as exc:  # the account's other business: acknowledged, so Stripe stops sending it
            return {"id": event["id"], "type": kind, "result": "not_ours", "code": exc.code}
        await uow.commit()
    return {"id": event["id"], "type": kind, "result": done}


async def _dispatch(uow: UnitOfWork, app: Ombuds, kind: str, obj: dict, now: datetime) -> str:
    if kind in REFUND_EVENTS:
        return await _refund(uow, obj, now)
    if kind in TRANSFER_EVENTS:
        return await _transfer(uow, obj, now)
    if kind in DISPUTE_OPENED:
        return await _chargeback_opened(uow, obj, now)
    if kind in DISPUTE_CLOSED:
        return await _chargeback_closed(uow, app, obj, now)
    return "ignored"  # kept, so that its repeat is recognised too


# Refunds: settlement and failure ------------------------------------------------------------

async def _refund(uow: UnitOfWork, obj: dict, now: datetime) -> str:
    key = (obj.get("metadata") or {}).get("ombuds_refund")
    r = await money_store.refund_of_provider(uow.conn, obj["id"], key, lock=uow.repo.locks_rows)
    if r is None:
        raise NotFound("refund", "data.object.id")
    settled = await money_store.is_settled(uow.conn, r.id)
    status = obj.get("status")
    if status == "succeeded":
        if settled:
            return "already_settled"
        if r.provider_ref is None:  # Stripe answered before our record of its answer committed
            await money_store.update_refund(uow.conn, r.id, provider_ref=obj["id"], next_attempt_at=None,
                                            attempts=r.attempts + 1)
        await money.settle(uow.repo, r, now)
        return "settled"
    if status in ("failed", "canceled"):
        if settled:
            raise Conflict("refund_already_settled",
                           f"Refund {r.id} settled before Stripe reported it {status}; see the Stripe dashboard.",
                           "data.object.status")
        reason = obj.get("failure_reason") or status
        # A failed Stripe refund stays failed under its key: the operator's retry is a new refund.
        await money_store.update_refund(
            uow.conn, r.id, provider_ref=None, settles_at=None, next_attempt_at=None, attempts=money.MAX_ATTEMPTS,
            last_error=f"Stripe refund {obj['id']} {status}: {reason}"[:500],
            idempotency_key=f"refund-{uuid.uuid4().hex}")
        await uow.repo.add_events([Event("refund.failed", "refund", r.id, {
            "refund_id": r.id, "order_id": r.order_id, "buyer_id": r.buyer_id, "amount": r.amount,
            "currency": r.currency, "attempts": money.MAX_ATTEMPTS, "error": f"Stripe: {reason}"})], r.id, now)
        return "failed"
    return "pending"


# Transfers: reversal ------------------------------------------------------------------------

async def _transfer(uow: UnitOfWork, obj: dict, now: datetime) -> str:
    row = await provider_store.transfer_of_provider(uow.conn, obj["id"])
    if row is None:
        raise NotFound("transfer", "data.object.id")
    reversed_now = obj.get("amount_reversed") or 0
    if not isinstance(reversed_now, int) or reversed_now < 0:
        raise DomainError("invalid_request", "amount_reversed is a whole number of minor units.",
                          "data.object.amount_reversed")
    delta = min(reversed_now, row.amount) - row.reversed_amount
    if delta <= 0:
        return "unchanged"
    await uow.repo.post(transfer_reversed(seller_id=row.seller_id, amount=delta, currency=row.currency,
                                          order_id=row.order_id, line_id=row.line_id, provider_ref=obj["id"]), now)
    await provider_store.update_transfer(uow.conn, row.id, reversed_amount=row.reversed_amount + delta)
    await uow.repo.add_events([Event("payout.transfer_reversed", "order", row.order_id, {
        "order_id": row.order_id, "seller_id": row.seller_id, "line_id": row.line_id, "transfer": obj["id"],
        "amount": delta, "currency": row.currency})], row.order_id, now)
    return "reversed"


# Chargebacks --------------------------------------------------------------------------------

async def _order_of_charge(uow: UnitOfWork, obj: dict) -> Order:
    refs = [r for r in (obj.get("charge"), obj.get("payment_intent")) if isinstance(r, str)]
    if not refs:
        raise NotFound("order", "data.object.charge")
    order_id = await provider_store.order_of_payment(uow.conn, refs)
    if order_id is None:
        raise NotFound("order", "data.object.charge")
    order = await uow.repo.get_order(order_id, lock=True)
    assert order is not None  # just found by its payment, in this transaction
    return order


async def _chargeback_opened(uow: UnitOfWork, obj: dict, now: datetime) -> str:
    existing = await provider_store.chargeback(uow.conn, obj["id"])
    if existing is not None:
        await provider_store.update_chargeback(uow.conn, existing.id, status=obj.get("status") or existing.status)
        return "updated"
    order = await _order_of_charge(uow, obj)
    order_id = saved_id(order)
    amount = obj.get("amount", order.total)
    if not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:  # R42: bounds, never a 500
        raise DomainError("invalid_request", f"A chargeback's amount is 1 to {MAX_AMOUNT} minor units.",
                          "data.object.amount")
    covered = lines_covered(order, amount)
    await provider_store.add_chargeback(
        uow.conn, provider_ref=obj["id"], order_id=order_id, charge_ref=obj.get("charge") or obj.get("payment_intent"),
        amount=amount, currency=(obj.get("currency") or order.currency).upper(), reason=obj.get("reason"),
        status=obj.get("status") or "needs_response", line_ids=covered, opened_at=_at(obj, now))
    await uow.repo.add_events([Event("order.chargeback_opened", "order", order_id, {
        "order_id": order_id, "buyer_id": order.buyer_id, "seller_id": order.seller_id, "chargeback": obj["id"],
        "amount": amount, "currency": order.currency, "reason": obj.get("reason"), "line_ids": covered})],
        order_id, now)
    return "opened"


async def _chargeback_closed(uow: UnitOfWork, app: Ombuds, obj: dict, now: datetime) -> str:
    row = await provider_store.chargeback(uow.conn, obj["id"])
    if row is None:  # never heard it open (e.g. Ombuds went live mid-dispute): open it now
        await _chargeback_opened(uow, obj, now)
        row = await provider_store.chargeback(uow.conn, obj["id"])
        assert row is not None  # just written in this transaction
    if row.closed_at is not None:
        return "already_closed"
    outcome = "lost" if obj.get("status") == "lost" else "won"
    order = await uow.repo.get_order(row.order_id, lock=True)
    assert order is not None  # a chargeback's order is never deleted
    order_id = saved_id(order)
    if outcome == "lost":
        held = await uow.repo.balances([ledger.escrow(i) for i in row.line_ids])
        await uow.repo.post(chargeback_lost(order=order, provider_ref=row.provider_ref, amount=row.amount,
                                            held={i: held[ledger.escrow(i)] for i in row.line_ids}), now)
    await provider_store.update_chargeback(uow.conn, row.id, status=obj.get("status") or outcome, closed_at=now,
                                           outcome=outcome)
    await uow.repo.add_events([Event("order.chargeback_closed", "order", order_id, {
        "order_id": order_id, "buyer_id": order.buyer_id, "seller_id": order.seller_id,
        "chargeback": row.provider_ref, "outcome": outcome, "amount": row.amount, "currency": order.currency})],
        order_id, now)
    await money.pay_out(uow.repo, order, now, app.policy)  # R1: the released lines, if the order completed
    return outcome


def _at(obj: dict, now: datetime) -> datetime:
    created = obj.get("created")
    return min(datetime.fromtimestamp(created, UTC), now) if isinstance(created, int) else now
