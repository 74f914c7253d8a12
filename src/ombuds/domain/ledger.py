"""Double-entry ledger: every money movement is a balanced journal entry (DESIGN.md §4).

Accounts are named strings; a balance is the sum of an account's postings, never a
stored number. Money enters from the buyer's payment method (``buyer:N:payments`` goes
negative), waits in one escrow account per order line, and leaves to the seller's
balance (minus commission) or back to the buyer through a refund account that empties
when the payment provider settles it (R1, R20, R30, R31).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ombuds.domain.errors import present
from ombuds.domain.identity import saved_id
from ombuds.domain.orders import Order


def buyer_payments(buyer_id: int) -> str:
    return f"buyer:{buyer_id}:payments"


def buyer_balance(buyer_id: int) -> str:
    return f"buyer:{buyer_id}:balance"


def escrow(line_id: int) -> str:
    return f"escrow:line:{line_id}"


def seller(seller_id: int) -> str:
    return f"seller:{seller_id}"


def refund_account(refund_id: int) -> str:
    return f"refund:{refund_id}"


COMMISSION = "platform:commission"
GOODWILL = "platform:goodwill"


class UnbalancedEntry(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    amount: int  # minor units; positive adds to the account, negative takes from it
    currency: str


@dataclass(frozen=True, slots=True)
class JournalEntry:
    kind: str  # order_paid | payout | refund_issued | refund_settled | refund_to_balance | goodwill
    postings: tuple[Posting, ...]
    order_id: int | None = None
    line_id: int | None = None
    dispute_id: int | None = None
    refund_id: int | None = None
    memo: str = ""

    def __post_init__(self) -> None:
        check_balanced(self.postings, self.kind)


def check_balanced(postings, what: str = "entry") -> None:
    if not postings:
        raise UnbalancedEntry(f"{what}: no postings")
    sums: dict[str, int] = defaultdict(int)
    for p in postings:
        if not isinstance(p.amount, int) or p.amount == 0:
            raise UnbalancedEntry(f"{what}: posting to {p.account} must be a non-zero int")
        sums[p.currency] += p.amount
    unbalanced = {c: s for c, s in sums.items() if s != 0}
    if unbalanced:
        raise UnbalancedEntry(f"{what}: does not balance: {unbalanced}")


def commission_on(amount: int, bps: int) -> int:
    """The platform's share, rounded down so the seller never loses a fraction."""
    return amount * bps // 10_000


def order_paid(order: Order) -> JournalEntry:
    """R1: the buyer's payment is held in escrow, one account per line."""
    postings = []
    for line in order.lines:
        if line.total:
            postings += [Posting(buyer_payments(order.buyer_id), -line.total, order.currency),
                         Posting(escrow(saved_id(line)), line.total, order.currency)]
    return JournalEntry("order_paid", tuple(postings), order_id=order.id, memo="payment held in escrow")


def payout(order: Order, line_id: int, amount: int, commission_bps: int) -> JournalEntry | None:
    """R1: what is left in a line's escrow goes to the seller, less commission."""
    if amount <= 0:
        return None
    cut = commission_on(amount, commission_bps)
    postings = [Posting(escrow(line_id), -amount, order.currency),
                Posting(seller(order.seller_id), amount - cut, order.currency)]
    if cut:
        postings.append(Posting(COMMISSION, cut, order.currency))
    return JournalEntry("payout", tuple(postings), order_id=order.id, line_id=line_id)


@dataclass(frozen=True, slots=True)
class RefundSource:
    """Where a refund's money comes from: escrow first; if the line was already paid out,
    from the seller's balance with the commission on it credited back (R30)."""

    from_escrow: int
    from_seller: int
    commission_back: int


def refund_source(amount: int, escrow_balance: int, *, paid_out: int = 0,
                  commission_taken: int = 0) -> RefundSource:
    """``paid_out`` and ``commission_taken``: the line's payout, if any. The commission given
    back is the share actually taken on it (whatever the policy says today), rounded down."""
    from_escrow = min(amount, max(escrow_balance, 0))
    from_seller = amount - from_escrow
    back = from_seller * commission_taken // paid_out if paid_out else 0
    return RefundSource(from_escrow, from_seller, min(back, commission_taken))


def refund_issued(*, refund_id: int, order: Order, line_id: int | None, amount: int,
                  source: RefundSource, dispute_id: int | None) -> JournalEntry:
    cur = order.currency
    postings = [Posting(refund_account(refund_id), amount, cur)]
    if source.from_escrow:
        postings.append(Posting(escrow(present(line_id, "the refunded line")), -source.from_escrow, cur))
    if source.from_seller:
        postings.append(Posting(seller(order.seller_id), -(source.from_seller - source.commission_back), cur))
        if source.commission_back:
            postings.append(Posting(COMMISSION, -source.commission_back, cur))
    return JournalEntry("refund_issued", tuple(postings), order_id=order.id, line_id=line_id,
                        dispute_id=dispute_id, refund_id=refund_id)


def refund_settled(*, refund_id: int, buyer_id: int, amount: int, currency: str, to_balance: bool,
                   order_id: int | None, line_id: int | None) -> JournalEntry:
    """The money reaches the buyer: back to the payment method, or at once to the in-platform
    balance (R31)."""
    target = buyer_balance(buyer_id) if to_balance else buyer_payments(buyer_id)
    return JournalEntry("refund_to_balance" if to_balance else "refund_settled",
                        (Posting(refund_account(refund_id), -amount, currency),
                         Posting(target, amount, currency)),
                        order_id=order_id, line_id=line_id, refund_id=refund_id)


def goodwill_refund_issued(*, refund_id: int, order: Order, amount: int,
                           complaint_id: int | None = None) -> JournalEntry:
    """R24: a goodwill refund is the platform's own money, taken from ``GOODWILL`` — never
    from a line's escrow or the seller. Its kind is ``refund_issued`` like every refund, so
    the refund row's guard and the ledger check see it; it names no line, so it never counts
    against what was paid for a line (R7). It settles like any refund."""
    return JournalEntry("refund_issued",
                        (Posting(GOODWILL, -amount, order.currency),
                         Posting(refund_account(refund_id), amount, order.currency)),
                        order_id=order.id, refund_id=refund_id,
                        memo=f"goodwill from the platform (complaint {complaint_id})")
