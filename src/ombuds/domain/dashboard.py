"""The operator's dashboard: the numbers, from plain facts (no I/O).

- how a closed dispute ended, in the operator's words: the buyer won because the seller was
  silent (R12), the parties agreed (R13, R18), an arbitrator decided (R15), or the buyer withdrew
  (R17);
- the median and 90th percentile of a list of durations (nearest rank: always one of the
  measured values, never an interpolation between two cases);
- counting by day.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, datetime, timedelta
from enum import StrEnum

REFUNDED = ("refunded_full", "refunded_partial")


class HowClosed(StrEnum):
    seller_silence = "seller_silence"  # R12: the buyer won by the seller's silence
    agreed = "agreed"  # accepted, negotiated, returned, replaced (R13, R18, R19)
    verdict = "verdict"  # an arbitrator decided (R15)
    withdrawn = "withdrawn"  # the buyer withdrew (R17)


def how_closed(outcome: str | None, first_seller_response_at: datetime | None,
               verdict_at: datetime | None) -> HowClosed:
    if outcome == "withdrawn":
        return HowClosed.withdrawn
    if verdict_at is not None:
        return HowClosed.verdict
    if first_seller_response_at is None and outcome in REFUNDED:
        return HowClosed.seller_silence
    return HowClosed.agreed


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(durations: list[timedelta]) -> dict:
    """Median and 90th percentile in hours, and how many cases they are of."""
    hours = [d.total_seconds() / 3600 for d in durations]
    median, p90 = percentile(hours, 50), percentile(hours, 90)
    return {"count": len(hours), "median_hours": None if median is None else round(median, 1),
            "p90_hours": None if p90 is None else round(p90, 1)}


def per_day(moments: list[datetime], first: date, last: date) -> list[tuple[date, int]]:
    """How many moments fall on each UTC day from ``first`` to ``last``, zeros included."""
    counted = Counter(m.date() for m in moments)
    days = (last - first).days + 1
    return [(first + timedelta(days=i), counted.get(first + timedelta(days=i), 0)) for i in range(days)]
