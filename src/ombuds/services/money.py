"""Money use cases inside a unit of work: escrow on payment, payouts, refunds (R1, R20, R30, R31).

Every function here writes its journal entries in the caller's transaction, so a state
change and its money movement commit together or not at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ombuds.adapters.payments import PaymentProvider, ProviderError, RefundRequest
from ombuds.domain import ledger
from ombuds.domain.business_days import refund_window
from ombuds.domain.time_zones import local_date
from ombuds.domain.disputes import Dispute
from ombuds.domain.events import Event
from ombuds.domain.orders import Order
from ombuds.domain.payouts import payouts_due
from ombuds.domain.policy import Policy
from ombuds.services import chargebacks
from ombuds.store import tables as t
from ombuds.store.repository import Repository

ORIGINAL_METHOD = "original_method"
PLATFORM_BALANCE = "platform_balance"
MAX_ATTEMPTS = 6


async def record_payment(repo: Repository, order: Order, now: datetime) -> None:
    """R1: the order's money is held in escrow, line by line."""
    if order.total:
        await repo.post(ledger.order_paid(order), now)


async def pay_out(repo: Repository, order: Order, now: datetime, policy: Policy) -> dict[int, int]:
    """Pay the seller what each settled line still holds in escrow (R1); once per line.

    A line released by its dispute is paid when the dispute closed, never earlier, even when
    one sweep applies the order's and the dispute's deadlines together."""
    disputes = await repo.disputes_of_order(order.id)
    held = await chargebacks.held_lines(repo.conn, order)  # R39: an open chargeback holds its lines
    due = payouts_due(order, disputes, await repo.paid_out_lines(order.id), held)
    if not due:
        return {}
    closed_at = {d.line_id: d.closed_at for d in disputes if d.closed_at is not None}
    held = await repo.balances([ledger.escrow(line_id) for line_id in due])
    paid = {}
    for line_id in due:
        amount = held[ledger.escrow(line_id)]
        if amount <= 0:  # fully refunded: nothing is left for the seller
            continue
        at = max(now, closed_at.get(line_id, now))
        await repo.add_payout(order, line_id, amount, at)
        await repo.post(ledger.payout(order, line_id, amount, policy.commission_bps), at)
        paid[line_id] = amount
    if not paid:
        return {}
    await repo.add_events([Event("payout.made", "order", order.id, {
        "order_id": order.id, "seller_id": order.seller_id, "currency": order.currency,
        "lines": {str(k): v for k, v in paid.items()}})], order.id, now)
    return paid


async def issue_refund(repo: Repository, *, order: Order, line_id: int | None, amount: int, reason: str,
                       dispute_id: int | None, destination: str, now: datetime, policy: Policy,
                       complaint_id: int | None = None) -> int:
    """Move ``amount`` towards the buyer: from escrow, or from the seller if already paid out —
    or, answering a complaint (R24), from the platform's goodwill account."""
    buyer = (await repo.conn.execute(select(t.users.c.country, t.users.c.time_zone)
                                     .where(t.users.c.id == order.buyer_id))).one()
    country = buyer.country
    today = local_date(now, buyer.time_zone, country)  # R33: the buyer's own calendar day
    to_balance = destination == PLATFORM_BALANCE
    window = policy.refund_windows[order.payment_method]
    earliest, latest = ((today, today) if to_balance else
                        refund_window(today, window.earliest, window.latest, country))
    refund_id = await repo.add_refund({
        "dispute_id": dispute_id, "order_id": order.id, "line_id": line_id, "buyer_id": order.buyer_id,
        "amount": amount, "currency": order.currency, "payment_method": order.payment_method,
        "destination": destination, "reason": reason, "idempotency_key": f"refund-{uuid.uuid4().hex}",
        "created_at": now, "expected_earliest": earliest, "expected_latest": latest,
        "next_attempt_at": None if to_balance else now})
    await repo.post(await _refund_entry(repo, refund_id=refund_id, order=order, line_id=line_id,
                                        amount=amount, dispute_id=dispute_id, complaint_id=complaint_id), now)
    data = {"refund_id": refund_id, "order_id": order.id, "dispute_id": dispute_id,
            "buyer_id": order.buyer_id, "seller_id": order.seller_id, "amount": amount,
            "currency": order.currency, "destination": destination, "reason": reason,
            "expected_earliest": earliest.isoformat(), "expected_latest": latest.isoformat()}
    if complaint_id is not None:
        data["complaint_id"] = complaint_id
    events = [Event("refund.issued", "refund", refund_id, data)]
    if to_balance:  # R31: lands at once
        await repo.post(ledger.refund_settled(refund_id=refund_id, buyer_id=order.buyer_id, amount=amount,
                                              currency=order.currency, to_balance=True,
                                              order_id=order.id, line_id=line_id), now)
        events.append(Event("refund.settled", "refund", refund_id, data))
    await repo.add_events(events, refund_id, now)
    return refund_id


async def _refund_entry(repo: Repository, *, refund_id: int, order: Order, line_id: int | None,
                        amount: int, dispute_id: int | None, complaint_id: int | None) -> ledger.JournalEntry:
    if complaint_id is not None:
        return ledger.goodwill_refund_issued(refund_id=refund_id, order=order, amount=amount,
                                             complaint_id=complaint_id)
    held, paid_out, commission_taken = 0, 0, 0
    if line_id is not None:
        held = (await repo.balances([ledger.escrow(line_id)]))[ledger.escrow(line_id)]
        if amount > held:  # the line was paid out: R30 credits back the commission it took
            paid_out, commission_taken = await repo.payout_of_line(line_id)
    source = ledger.refund_source(amount, held, paid_out=paid_out, commission_taken=commission_taken)
    return ledger.refund_issued(refund_id=refund_id, order=order, line_id=line_id, amount=amount,
                                source=source, dispute_id=dispute_id)


async def refund_dispute(repo: Repository, order: Order, d: Dispute, now: datetime, policy: Policy) -> None:
    """Turn the dispute's refund intents into refunds (they are capped by the domain, R7)."""
    for intent in d.new_refunds:
        await issue_refund(repo, order=order, line_id=d.line_id, amount=intent.amount, reason=intent.reason,
                           dispute_id=d.id, destination=d.refund_to, now=now, policy=policy)
    d.new_refunds.clear()


async def refund_cancelled_order(repo: Repository, order: Order, now: datetime, policy: Policy) -> None:
    for line in order.lines:
        if line.total:
            await issue_refund(repo, order=order, line_id=line.id, amount=line.total, reason="cancelled",
                               dispute_id=None, destination=ORIGINAL_METHOD, now=now, policy=policy)


# The provider's side: submitting refunds and recording settlement -------------------------

async def submit_due_refunds(repo: Repository, provider: PaymentProvider, policy: Policy, now: datetime,
                             limit: int) -> int:
    """Send due refunds to the provider; failures back off and, in the end, reach the operator.

    A refund is sent at the moment it fell due (a timely worker); one sent later than the day
    it was issued — a retry — gets its R20 window counted again from that day."""
    q = (select(t.refunds, t.users.c.country, t.users.c.time_zone, t.orders.c.payment_ref)
         .join(t.users, t.users.c.id == t.refunds.c.buyer_id).join(t.orders, t.orders.c.id == t.refunds.c.order_id)
         .where(t.refunds.c.next_attempt_at <= now).order_by(t.refunds.c.next_attempt_at).limit(limit))
    if repo.locks_rows:
        q = q.with_for_update(of=t.refunds, skip_locked=True)
    rows = (await repo.conn.execute(q)).all()
    for r in rows:
        sent_at, earliest, latest = r.next_attempt_at, r.expected_earliest, r.expected_latest
        sent_on = local_date(sent_at, r.time_zone, r.country)  # R33: the buyer's own calendar day
        if sent_on != local_date(r.created_at, r.time_zone, r.country):
            window = policy.refund_windows[r.payment_method]
            earliest, latest = refund_window(sent_on, window.earliest, window.latest, r.country)
        request = RefundRequest(r.idempotency_key, r.amount, r.currency, r.payment_method, sent_at,
                                earliest, latest, r.country, r.payment_ref)
        try:
            sent = await provider.create_refund(request)
        except ProviderError as exc:
            await _back_off(repo, r, str(exc), now)
            continue
        await repo.conn.execute(update(t.refunds).where(t.refunds.c.id == r.id).values(
            provider_ref=sent.reference, settles_at=sent.settles_at, next_attempt_at=None,
            attempts=r.attempts + 1, last_error=None, expected_earliest=earliest, expected_latest=latest))
    return len(rows)


async def _back_off(repo: Repository, r, error: str, now: datetime) -> None:
    attempts = r.attempts + 1
    give_up = attempts >= MAX_ATTEMPTS
    await repo.conn.execute(update(t.refunds).where(t.refunds.c.id == r.id).values(
        attempts=attempts, last_error=error[:500],
        next_attempt_at=None if give_up else now + timedelta(minutes=2 ** attempts)))
    if give_up:  # never silently lost: the operator is told, and can retry
        await repo.add_events([Event("refund.failed", "refund", r.id, {
            "refund_id": r.id, "order_id": r.order_id, "buyer_id": r.buyer_id, "amount": r.amount,
            "currency": r.currency, "attempts": attempts, "error": error[:500]})], r.id, now)


async def settle_due_refunds(repo: Repository, now: datetime, limit: int) -> int:
    """Record the provider's settlements that fell due (the simulator's callbacks)."""
    q = (select(t.refunds).where(t.refunds.c.settles_at <= now).order_by(t.refunds.c.settles_at).limit(limit))
    if repo.locks_rows:
        q = q.with_for_update(skip_locked=True)
    rows = (await repo.conn.execute(q)).all()
    for r in rows:
        await settle(repo, r, r.settles_at)
    return len(rows)


async def settle(repo: Repository, r, at: datetime) -> None:
    await repo.post(ledger.refund_settled(refund_id=r.id, buyer_id=r.buyer_id, amount=r.amount,
                                          currency=r.currency, to_balance=False, order_id=r.order_id,
                                          line_id=r.line_id), at)
    await repo.conn.execute(update(t.refunds).where(t.refunds.c.id == r.id).values(settles_at=None))
    await repo.add_events([Event("refund.settled", "refund", r.id, {
        "refund_id": r.id, "order_id": r.order_id, "buyer_id": r.buyer_id, "amount": r.amount,
        "currency": r.currency, "settled_at": at.isoformat()})], r.id, at)
