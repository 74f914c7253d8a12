"""The seller's rating (R21): what the seller's recent orders and disputes say, and when the
platform must look closer.

Everything is counted over the rolling window ``(now - rating_window_days, now]`` (policy,
90 days):

- **orders**: the seller's orders created in the window, except cancelled ones (nothing
  was sold) and replacement parcels (R19: the reshipment of an order already counted).
- **disputes opened**: disputes on the seller's orders opened in the window. The
  **dispute rate** is the share of orders with such a dispute.
- **lost**: a dispute closed in the window with a refund the seller did not agree to —
  the seller *stayed silent* (never responded; R12 refunded the buyer), or the seller
  *contested* and an arbitrator's verdict granted the refund (R15, after an appeal too).
  A refund the seller accepted or offered is a settlement, not a loss; a replacement, a
  withdrawal or no refund is never a loss. **Lost orders** are the orders with a lost
  dispute; the **lost ratio** is lost orders / orders.
- **flag**: the lost ratio above ``seller_flag_lost_ratio`` (policy, 5%): 6 lost of 100
  orders is flagged, 5 is not.
- **first response**: the mean time from opening to the seller's first answer, over the
  disputes opened in the window that the seller answered.
- **resolved without arbitration**: the share of disputes closed in the window that were
  never escalated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from ombuds.domain.disputes import Outcome
from ombuds.domain.policy import Policy

REFUNDED = (Outcome.refunded_full.value, Outcome.refunded_partial.value)


class Loss(StrEnum):
    seller_silence = "seller_silence"
    verdict = "verdict"


@dataclass(frozen=True, slots=True)
class DisputeFacts:
    """What the rating reads of one dispute."""

    id: int
    order_id: int
    buyer_id: int
    opened_at: datetime
    closed_at: datetime | None
    outcome: str | None
    first_seller_response_at: datetime | None
    escalated_at: datetime | None
    verdict_at: datetime | None


def loss(d: DisputeFacts) -> Loss | None:
    """How the seller lost this dispute, or None if they did not (see the module's text)."""
    if d.closed_at is None or d.outcome not in REFUNDED:
        return None
    if d.verdict_at is not None:
        return Loss.verdict
    if d.first_seller_response_at is None:
        return Loss.seller_silence
    return None


def window_start(now: datetime, policy: Policy) -> datetime:
    return now - policy.days("rating_window_days")


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


@dataclass(frozen=True, slots=True)
class SellerRating:
    seller_id: int
    as_of: datetime
    since: datetime
    window_days: int
    orders: int
    disputes_opened: int
    disputed_orders: int
    disputes_closed: int
    disputes_lost: int
    lost_by_silence: int
    lost_by_verdict: int
    lost_orders: int
    lost_dispute_ids: tuple[int, ...]
    responded: int
    first_response_seconds: int | None
    resolved_without_arbitration: int
    threshold: float

    @property
    def dispute_rate(self) -> float | None:
        # Disputes in the window may concern orders from before it: never above 100%.
        return _ratio(self.disputed_orders, max(self.orders, self.disputed_orders))

    @property
    def lost_ratio(self) -> float | None:
        return _ratio(self.lost_orders, max(self.orders, self.lost_orders))

    @property
    def resolved_without_arbitration_share(self) -> float | None:
        return _ratio(self.resolved_without_arbitration, self.disputes_closed)

    @property
    def over_threshold(self) -> bool:
        """R21: more than the policy's share of the window's orders lost. Exact, no floats."""
        if self.orders == 0:
            return self.lost_orders > 0
        return Fraction(self.lost_orders, self.orders) > Fraction(str(self.threshold))


def rate(seller_id: int, *, orders: int, disputes: Iterable[DisputeFacts], now: datetime,
         policy: Policy) -> SellerRating:
    """The rating as of ``now`` from the window's order count and the seller's disputes
    (any superset of those opened or closed in the window; others are ignored)."""
    since = window_start(now, policy)
    opened = [d for d in disputes if since <= d.opened_at <= now]
    closed = [d for d in disputes if d.closed_at is not None and since <= d.closed_at <= now]
    lost = [(d, loss(d)) for d in closed]
    lost = [(d, how) for d, how in lost if how is not None]
    answered = [d.first_seller_response_at - d.opened_at for d in opened
                if d.first_seller_response_at is not None and d.first_seller_response_at <= now]
    mean = sum(answered, timedelta()) / len(answered) if answered else None
    return SellerRating(
        seller_id=seller_id, as_of=now, since=since, window_days=policy.rating_window_days,
        orders=orders, disputes_opened=len(opened),
        disputed_orders=len({d.order_id for d in opened}),
        disputes_closed=len(closed), disputes_lost=len(lost),
        lost_by_silence=sum(1 for _, how in lost if how is Loss.seller_silence),
        lost_by_verdict=sum(1 for _, how in lost if how is Loss.verdict),
        lost_orders=len({d.order_id for d, _ in lost}),
        lost_dispute_ids=tuple(sorted(d.id for d, _ in lost)),
        responded=len(answered),
        first_response_seconds=None if mean is None else int(mean.total_seconds()),
        resolved_without_arbitration=sum(1 for d in closed if d.escalated_at is None),
        threshold=policy.seller_flag_lost_ratio,
    )
