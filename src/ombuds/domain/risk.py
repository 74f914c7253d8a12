"""Buyer-side risk signals (R22): numbers for the arbitrator, never a decision.

Counted over the same rolling window as the seller's rating (``rating_window_days``):

- **dispute_rate**: the buyer's orders created in the window with a dispute opened in it.
- **won_by_seller_silence**: disputes closed in the window with a refund because the seller
  never answered (R12) — a buyer who mostly wins by default deserves a second look.
- **without_evidence**: disputes opened in the window where the buyer attached no file (R10).
- **withdrawn**: disputes closed in the window because the buyer withdrew them (R17).
- **evidence_reused**: the buyer's photos, in disputes opened in the window, that match
  earlier evidence in another dispute (perceptual hash, see docs/evidence.md).

A signal is *raised* when its count and share pass the thresholds below. They are hints
for a person and deliberately simple; they never move a dispute by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ombuds.domain.rating import REFUNDED

# (minimum count, minimum share of the base) for a signal to be raised.
THRESHOLDS: dict[str, tuple[int, float]] = {
    "dispute_rate": (3, 0.20),
    "won_by_seller_silence": (3, 0.50),
    "without_evidence": (3, 0.50),
    "withdrawn": (3, 0.30),
    "evidence_reused": (1, 0.0),
}

MEANING = {
    "dispute_rate": "orders in the window with a dispute",
    "won_by_seller_silence": "closed disputes refunded because the seller never answered",
    "without_evidence": "disputes opened without a file from the buyer",
    "withdrawn": "closed disputes the buyer withdrew",
    "evidence_reused": "buyer photos matching evidence in other disputes",
}


@dataclass(frozen=True, slots=True)
class BuyerDispute:
    id: int
    order_id: int
    opened_at: datetime
    closed_at: datetime | None
    outcome: str | None
    first_seller_response_at: datetime | None
    buyer_files: int  # evidence the buyer attached (0 when the evidence table is absent)


@dataclass(frozen=True, slots=True)
class ReusedPhoto:
    evidence_id: int
    dispute_id: int
    matches: tuple[dict, ...]  # as the evidence feature stored them


@dataclass(frozen=True, slots=True)
class Signal:
    code: str
    count: int
    of: int  # the base the share is taken of
    raised: bool
    dispute_ids: tuple[int, ...] = ()
    details: dict = field(default_factory=dict)

    @property
    def share(self) -> float | None:
        return None if self.of == 0 else round(self.count / self.of, 4)

    @property
    def meaning(self) -> str:
        return MEANING[self.code]


def _signal(code: str, count: int, of: int, dispute_ids, **details) -> Signal:
    least, share = THRESHOLDS[code]
    raised = count >= least and (of == 0 or count / of >= share)
    return Signal(code, count, of, raised, tuple(sorted(set(dispute_ids))), details)


def signals(*, orders: int, disputes: list[BuyerDispute], reused: list[ReusedPhoto], since: datetime,
            now: datetime, evidence_available: bool) -> list[Signal]:
    """Every signal with the numbers behind it, raised or not."""
    opened = [d for d in disputes if since <= d.opened_at <= now]
    closed = [d for d in disputes if d.closed_at is not None and since <= d.closed_at <= now]
    by_silence = [d.id for d in closed if d.outcome in REFUNDED and d.first_seller_response_at is None]
    bare = [d.id for d in opened if d.buyer_files == 0] if evidence_available else []
    withdrawn = [d.id for d in closed if d.outcome == "withdrawn"]
    return [
        _signal("dispute_rate", len({d.order_id for d in opened}), orders, [d.id for d in opened]),
        _signal("won_by_seller_silence", len(by_silence), len(closed), by_silence),
        _signal("without_evidence", len(bare), len(opened), bare, evidence_available=evidence_available),
        _signal("withdrawn", len(withdrawn), len(closed), withdrawn),
        # Its base is the buyer's photos, not her disputes.
        _signal("evidence_reused", len(reused), 0, [p.dispute_id for p in reused],
                evidence_available=evidence_available,
                photos=[{"evidence_id": p.evidence_id, "dispute_id": p.dispute_id,
                         "matches": list(p.matches)} for p in reused]),
    ]
