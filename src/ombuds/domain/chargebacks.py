"""R39: a card chargeback and a reversed transfer, as rules and journal entries.

A chargeback is the cardholder's bank taking money back through Stripe, outside Ombuds. While it
is open it holds the payout of the lines it covers (R1 waits for it as for a dispute); when it
closes lost, the money it took is posted: out of those lines' escrow first, the rest from the
seller (the line was already paid out), to the buyer's payment method. Won, nothing moves and
the lines are released.

Stripe reports a chargeback on the whole charge with an amount; the lines it covers are the
order's lines in order until their price reaches that amount (a full chargeback covers them all).
"""

from __future__ import annotations

from ombuds.domain.identity import saved_id
from ombuds.domain.ledger import JournalEntry, Posting, buyer_payments, escrow, seller
from ombuds.domain.orders import Order

TRANSFER_REVERSALS = "platform:transfer_reversals"


def lines_covered(order: Order, amount: int) -> list[int]:
    covered: list[int] = []
    total = 0
    for line in sorted(order.lines, key=lambda each: each.position):
        if total >= amount:
            break
        covered.append(saved_id(line))
        total += line.total
    return covered


def chargeback_lost(*, order: Order, provider_ref: str, amount: int, held: dict[int, int]) -> JournalEntry:
    """The bank gave ``amount`` back to the cardholder: from the covered lines' escrow (``held``,
    line id → balance) first, the rest from the seller."""
    postings, left = [], amount
    for line_id, balance in held.items():
        take = min(balance, left)
        if take > 0:
            postings.append(Posting(escrow(line_id), -take, order.currency))
            left -= take
    if left:
        postings.append(Posting(seller(order.seller_id), -left, order.currency))
    postings.append(Posting(buyer_payments(order.buyer_id), amount, order.currency))
    return JournalEntry("chargeback_lost", tuple(postings), order_id=order.id,
                        memo=f"card chargeback {provider_ref} lost")


def transfer_reversed(*, seller_id: int, amount: int, currency: str, order_id: int, line_id: int,
                      provider_ref: str) -> JournalEntry:
    """Stripe took a transfer back from the seller's connected account to the platform."""
    return JournalEntry("transfer_reversed", (Posting(seller(seller_id), -amount, currency),
                                              Posting(TRANSFER_REVERSALS, amount, currency)),
                        order_id=order_id, line_id=line_id, memo=f"transfer {provider_ref} reversed")
