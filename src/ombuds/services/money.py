"""Money use cases inside a unit of work: escrow on payment, payouts, refunds (R1, R20, R30, R31).

Every function here writes its journal entries in the caller's transaction, so a state
change and its money movement commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from ombuds.adapters.clock import wall_now
from ombuds.adapters.payments import ProviderError, ProviderRefund, RefundRequest
from ombuds.domain import ledger
from ombuds.domain.business_days import refund_window
from ombuds.domain.disputes import Dispute
from ombuds.domain.events import Event
from ombuds.domain.identity import saved_id
from ombuds.domain.ledger import JournalEntry
from ombuds.domain.orders import Order, OrderState
from ombuds.domain.payouts import payouts_due
from ombuds.domain.policy import Policy
from ombuds.domain.time_zones import local_date
from ombuds.store import money_store, sweep_store
from ombuds.store.money_store import RefundRow
from ombuds.store.repository import Repository

if TYPE_CHECKING:
    from ombuds.services.context import Ombuds

ORIGINAL_METHOD = "original_method"
PLATFORM_BALANCE = "platform_balance"
MAX_ATTEMPTS = 6
log = structlog.get_logger("ombuds.money")


async def record_payment(repo: Repository, order: Order, now: datetime) -> None:
    """R1: the order's money is held in escrow, line by line."""
    if order.total:
        await repo.post(ledger.order_paid(order), now)


async def pay_out(repo: Repository, order: Order, now: datetime, policy: Policy) -> dict[int, int]:
    """Pay the seller what each settled line still holds in escrow (R1); once per line.

    A line released by its dispute is paid when the dispute closed, never earlier, even when
    one sweep applies the order's and the dispute's deadlines together."""
    return (await pay_out_many(repo, [(order, now)], policy)).get(saved_id(order), {})


async def pay_out_many(repo: Repository, items: Sequence[tuple[Order, datetime]],
                       policy: Policy) -> dict[int, dict[int, int]]:
    """:func:`pay_out` for many orders (a sweeper's batch), each as of its own time: what they
    need is read with one query each (disputes, lines paid, chargebacks, escrow balances) and
    written with one statement each (payouts, journal entries and postings, outbox rows).
    The domain (:func:`payouts_due`) still decides every line. Returns order → line → amount."""
    ready = [(o, saved_id(o), at) for o, at in items if o.state in (OrderState.completed, OrderState.closed)]
    if not ready:
        return {}
    conn = repo.conn
    ids = [order_id for _, order_id, _ in ready]
    disputes = await sweep_store.disputes_of_orders(conn, ids)
    paid_out = await sweep_store.paid_out_lines(conn, ids)
    held = await sweep_store.held_lines(conn, (o for o, _, _ in ready))  # R39: open chargebacks hold lines
    due = {order_id: payouts_due(o, disputes[order_id], paid_out, held) for o, order_id, _ in ready}
    lines = [line_id for lines in due.values() for line_id in lines]
    if not lines:
        return {}
    balances = await repo.balances([ledger.escrow(line_id) for line_id in lines])
    payouts: list[dict[str, Any]] = []
    entries: list[tuple[JournalEntry, datetime]] = []
    events: list[tuple[Event, int, datetime]] = []
    paid: dict[int, dict[int, int]] = {}
    for order, order_id, now in ready:
        closed_at = {d.line_id: d.closed_at for d in disputes[order_id] if d.closed_at is not None}
        lines_paid = {}
        for line_id in due[order_id]:
            amount = balances[ledger.escrow(line_id)]
            if amount <= 0:  # fully refunded: nothing is left for the seller
                continue
            entry = ledger.payout(order, line_id, amount, policy.commission_bps)
            assert entry is not None  # a positive amount is always paid
            at = max(now, closed_at.get(line_id, now))
            payouts.append({"order_id": order_id, "line_id": line_id, "seller_id": order.seller_id,
                            "amount": amount, "currency": order.currency, "created_at": at})
            entries.append((entry, at))
            lines_paid[line_id] = amount
        if lines_paid:
            paid[order_id] = lines_paid
            events.append((Event("payout.made", "order", order_id, {
                "order_id": order_id, "seller_id": order.seller_id, "currency": order.currency,
                "lines": {str(k): v for k, v in lines_paid.items()}}), order_id, now))
    await repo.add_payouts(payouts)
    await repo.post_many(entries)
    await sweep_store.add_events(conn, events)
    return paid


@dataclass(frozen=True, slots=True)
class NewRefund:
    """A refund to issue: ``amount`` towards the order's buyer, at ``now``."""

    order: Order
    line_id: int | None
    amount: int
    reason: str
    dispute_id: int | None
    destination: str
    now: datetime
    complaint_id: int | None = None


async def issue_refund(repo: Repository, *, order: Order, line_id: int | None, amount: int, reason: str,
                       dispute_id: int | None, destination: str, now: datetime, policy: Policy,
                       complaint_id: int | None = None) -> int:
    """Move ``amount`` towards the buyer: from escrow, or from the seller if already paid out —
    or, answering a complaint (R24), from the platform's goodwill account."""
    return (await issue_refunds(repo, [NewRefund(order, line_id, amount, reason, dispute_id, destination, now,
                                                 complaint_id)], policy))[0]


async def issue_refunds(repo: Repository, refunds: Sequence[NewRefund], policy: Policy) -> list[int]:
    """:func:`issue_refund` for many refunds at once, in the order given (a refund on a line
    takes what the ones before it left in escrow): the buyers' calendars, escrow balances and
    earlier payouts are read with one query each; refunds, journal entries, postings and outbox
    rows written with one statement each. Returns the refunds' ids."""
    if not refunds:
        return []
    conn = repo.conn
    places = await sweep_store.buyers(conn, {r.order.buyer_id for r in refunds})
    lines = sorted({r.line_id for r in refunds if r.line_id is not None and r.complaint_id is None})
    balances = await repo.balances([ledger.escrow(line_id) for line_id in lines]) if lines else {}
    escrow = {line_id: balances[ledger.escrow(line_id)] for line_id in lines}
    held_at: list[int] = []
    rows: list[dict[str, Any]] = []
    windows: dict[tuple[date, str, str], tuple[date, date]] = {}
    for r in refunds:
        country, time_zone = places[r.order.buyer_id]
        today = local_date(r.now, time_zone, country)  # R33: the buyer's own calendar day
        to_balance = r.destination == PLATFORM_BALANCE
        if to_balance:
            earliest, latest = today, today
        else:  # a batch's refunds share a few days and countries: each window is counted once
            key = (today, r.order.payment_method, country)
            if key not in windows:
                window = policy.refund_windows[r.order.payment_method]
                windows[key] = refund_window(today, window.earliest, window.latest, country)
            earliest, latest = windows[key]
        held = escrow.get(r.line_id, 0) if r.complaint_id is None and r.line_id is not None else 0
        held_at.append(held)
        if r.line_id in escrow and r.complaint_id is None:
            escrow[r.line_id] -= min(r.amount, max(held, 0))
        rows.append({
            "dispute_id": r.dispute_id, "order_id": r.order.id, "line_id": r.line_id,
            "buyer_id": r.order.buyer_id, "amount": r.amount, "currency": r.order.currency,
            "payment_method": r.order.payment_method, "destination": r.destination, "reason": r.reason,
            "idempotency_key": f"refund-{uuid.uuid4().hex}", "created_at": r.now,
            "expected_earliest": earliest, "expected_latest": latest,
            "next_attempt_at": None if to_balance else r.now})
    # Lines already paid out: R30 credits back the commission their payout took.
    paid_out = await sweep_store.payouts_of_lines(conn, {
        r.line_id for r, held in zip(refunds, held_at, strict=True) if r.complaint_id is None and r.line_id is not None
        and r.amount > held})
    ids = await repo.add_refunds(rows)
    entries, events = [], []
    for refund_id, r, held, row in zip(ids, refunds, held_at, rows, strict=True):
        order = r.order
        if r.complaint_id is not None:
            entry = ledger.goodwill_refund_issued(refund_id=refund_id, order=order, amount=r.amount,
                                                  complaint_id=r.complaint_id)
        else:
            paid, commission_taken = (paid_out.get(r.line_id, (0, 0)) if r.line_id is not None and r.amount > held
                                      else (0, 0))
            source = ledger.refund_source(r.amount, held, paid_out=paid, commission_taken=commission_taken)
            entry = ledger.refund_issued(refund_id=refund_id, order=order, line_id=r.line_id, amount=r.amount,
                                         source=source, dispute_id=r.dispute_id)
        entries.append((entry, r.now))
        data = {"refund_id": refund_id, "order_id": order.id, "dispute_id": r.dispute_id,
                "buyer_id": order.buyer_id, "seller_id": order.seller_id, "amount": r.amount,
                "currency": order.currency, "destination": r.destination, "reason": r.reason,
                "expected_earliest": row["expected_earliest"].isoformat(),
                "expected_latest": row["expected_latest"].isoformat()}
        if r.complaint_id is not None:
            data["complaint_id"] = r.complaint_id
        events.append((Event("refund.issued", "refund", refund_id, data), refund_id, r.now))
        if r.destination == PLATFORM_BALANCE:  # R31: lands at once
            entries.append((ledger.refund_settled(refund_id=refund_id, buyer_id=order.buyer_id, amount=r.amount,
                                                  currency=order.currency, to_balance=True,
                                                  order_id=order.id, line_id=r.line_id), r.now))
            events.append((Event("refund.settled", "refund", refund_id, data), refund_id, r.now))
    await repo.post_many(entries)
    await sweep_store.add_events(conn, events)
    return ids


def dispute_refunds(order: Order, d: Dispute) -> list[NewRefund]:
    """The dispute's refund intents as refunds, issued when it closed (capped by the domain, R7);
    the intents are taken."""
    closed_at = d.closed_at
    assert closed_at is not None  # a dispute's refunds are issued when it closes
    found = [NewRefund(order, d.line_id, intent.amount, intent.reason, d.id, d.refund_to, closed_at)
             for intent in d.new_refunds]
    d.new_refunds.clear()
    return found


async def refund_dispute(repo: Repository, order: Order, d: Dispute, now: datetime, policy: Policy) -> None:
    """Turn the dispute's refund intents into refunds (they are capped by the domain, R7)."""
    await issue_refunds(repo, [NewRefund(order, d.line_id, intent.amount, intent.reason, d.id, d.refund_to, now)
                               for intent in d.new_refunds], policy)
    d.new_refunds.clear()


async def refund_cancelled_order(repo: Repository, order: Order, now: datetime, policy: Policy) -> None:
    await issue_refunds(repo, [NewRefund(order, line.id, line.total, "cancelled", None, ORIGINAL_METHOD, now)
                               for line in order.lines if line.total], policy)


# The provider's side: submitting refunds and recording settlement -------------------------
#
# A refund is submitted in three steps, so that no transaction is open while the provider
# answers (it may take seconds): (1) claim a batch of due refunds with a lease
# (``claimed_until``, wall clock) and commit; (2) call the provider for each, with the
# refund's own idempotency key; (3) record the answers in one transaction. A worker that dies
# between (2) and (3) leaves the lease to lapse: the refund is claimed again and submitted
# again under the same key, which the provider answers with the refund it already made.

SUBMIT = "refund_submit"
SETTLE = "refund_settle"
LEASE = timedelta(minutes=2)
# A refund sent, the request made (None if it could not be) and the provider's answer.
Answer = tuple[RefundRow, RefundRequest | None, ProviderRefund | ProviderError]


@dataclass(frozen=True, slots=True)
class Submitted:
    """What one pass of :func:`submit_due_refunds` did."""

    moved: int  # refunds sent, backed off or set aside
    claimed: list[int]
    failed: dict[int, str]  # refund → error, to set aside


async def submit_due_refunds(app: Ombuds, now: datetime, limit: int, *, only: int | None = None) -> Submitted:
    """Send due refunds to the provider, outside any transaction; failures back off and, in the
    end, reach the operator (``refund.failed``).

    A refund is sent at the moment it fell due (a timely worker); one sent later than the day
    it was issued — a retry — gets its R20 window counted again from that day. ``only``: claim
    this refund alone, even if this sweeper holds its lease (a batch being retried row by row)."""
    wall = wall_now()
    async with app.uow() as uow:  # (1) the claim, with a lease
        rows = await money_store.claim_due_refunds(uow.conn, kind=SUBMIT, now=now, wall=wall, limit=limit,
                                                   only=only, locks=uow.repo.locks_rows)
        if not rows:
            return Submitted(0, [], {})
        await money_store.lease_refunds(uow.conn, [r.id for r in rows], until=wall + LEASE)
        await uow.commit()
    answers: list[Answer] = []
    failed: dict[int, str] = {}
    for r in rows:  # (2) no transaction is open here
        try:
            request = _request(r, app.policy)
            answers.append((r, request, await app.payments.create_refund(request)))
        except ProviderError as exc:
            answers.append((r, None, exc))
        except Exception as exc:  # not the provider's answer: this refund cannot be sent as it is
            failed[r.id] = f"{type(exc).__name__}: {exc}"
    try:
        await record_submissions(app, answers, now)  # (3)
    except Exception:  # this process lives on: give the refunds back rather than wait for the lease
        await _release(app, [r.id for r in rows])
        raise
    return Submitted(len(rows), [r.id for r in rows], failed)


async def _release(app: Ombuds, ids: list[int]) -> None:
    try:
        async with app.uow() as uow:
            await money_store.lease_refunds(uow.conn, ids, until=None)
            await uow.commit()
    except Exception as exc:  # the database is gone too: the lease runs out by itself
        log.warning("refund_lease_kept", refunds=ids, error=str(exc)[:200])


def _request(r: RefundRow, policy: Policy) -> RefundRequest:
    sent_at, earliest, latest = r.next_attempt_at, r.expected_earliest, r.expected_latest
    sent_on = local_date(sent_at, r.time_zone, r.country)  # R33: the buyer's own calendar day
    if sent_on != local_date(r.created_at, r.time_zone, r.country):
        window = policy.refund_windows[r.payment_method]
        earliest, latest = refund_window(sent_on, window.earliest, window.latest, r.country)
    return RefundRequest(r.idempotency_key, r.amount, r.currency, r.payment_method, sent_at,
                         earliest, latest, r.country, r.payment_ref)


async def record_submissions(app: Ombuds, answers: list[Answer], now: datetime) -> None:
    """The provider's answers, in one transaction: one statement for the refunds sent, one for
    those that back off. A refund whose answer was already recorded — by another sweeper whose
    lease it outlived, or by the provider's webhook — is left as it is (its key moved on, or
    its provider reference is set)."""
    sent: list[dict[str, Any]] = []
    backed_off: list[dict[str, Any]] = []
    events: list[tuple[Event, int, datetime]] = []
    for r, request, answer in answers:
        if isinstance(answer, ProviderError):
            attempts = r.attempts + 1
            give_up = attempts >= MAX_ATTEMPTS
            error = str(answer)[:500]
            backed_off.append({"b_id": r.id, "b_key": r.idempotency_key, "attempts": attempts, "last_error": error,
                               "next_attempt_at": None if give_up else now + timedelta(minutes=2 ** attempts)})
            if give_up:  # never silently lost: the operator is told, and can retry
                events.append((Event("refund.failed", "refund", r.id, {
                    "refund_id": r.id, "order_id": r.order_id, "buyer_id": r.buyer_id, "amount": r.amount,
                    "currency": r.currency, "attempts": attempts, "error": error}), r.id, now))
        else:
            assert request is not None  # a request is None only when it could not be made
            sent.append({"b_id": r.id, "b_key": r.idempotency_key, "provider_ref": answer.reference,
                         "settles_at": answer.settles_at, "attempts": r.attempts + 1,
                         "expected_earliest": request.expected_earliest,
                         "expected_latest": request.expected_latest})
    async with app.uow() as uow:
        await money_store.update_unanswered(uow.conn, sent, next_attempt_at=None, last_error=None)
        await money_store.update_unanswered(uow.conn, backed_off)
        await sweep_store.add_events(uow.conn, events)
        await uow.commit()


async def settle_due_refunds(repo: Repository, now: datetime, limit: int, *, only: int | None = None) -> list[int]:
    """Record the provider's settlements that fell due (the simulator's callbacks); returns the
    refunds claimed."""
    rows = await money_store.claim_due_settlements(repo.conn, kind=SETTLE, now=now, limit=limit, only=only,
                                                   locks=repo.locks_rows)
    await settle_many(repo, [(r, r.settles_at) for r in rows])
    return [r.id for r in rows]


async def settle(repo: Repository, r: RefundRow, at: datetime) -> None:
    await settle_many(repo, [(r, at)])


async def settle_many(repo: Repository, settled: Sequence[tuple[RefundRow, datetime]]) -> None:
    """The money reaches the buyers' payment methods: one statement each for the journal
    entries, their postings, the refunds and the outbox rows."""
    if not settled:
        return
    await repo.post_many([(ledger.refund_settled(refund_id=r.id, buyer_id=r.buyer_id, amount=r.amount,
                                                 currency=r.currency, to_balance=False, order_id=r.order_id,
                                                 line_id=r.line_id), at) for r, at in settled])
    await money_store.mark_settled(repo.conn, [r.id for r, _ in settled])
    await sweep_store.add_events(repo.conn, [(Event("refund.settled", "refund", r.id, {
        "refund_id": r.id, "order_id": r.order_id, "buyer_id": r.buyer_id, "amount": r.amount,
        "currency": r.currency, "settled_at": at.isoformat()}), r.id, at) for r, at in settled])
