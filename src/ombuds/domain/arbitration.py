"""The arbitrators' deadlines for an escalated dispute (R15), as the queue shows them.

A case's review target and limit count from its (latest) escalation: 15 and 60 days by
default. A case past its target is highlighted; one within ``NEAR_LIMIT`` of its limit
goes to the top and the arbitrators are told once; one past its limit is reported to the
operator and stays in the queue, undecided, until an arbitrator decides it — nothing
resolves it silently.

Every case has the same limit counted from its escalation, so the earliest escalation is
the nearest limit: ordering the queue by escalation time puts cases past their limit first,
then those near it, then the rest, nearest deadline first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ombuds.domain.policy import Policy

NEAR_LIMIT = timedelta(days=3)


class Highlight(StrEnum):
    past_limit = "past_limit"
    near_limit = "near_limit"
    past_target = "past_target"


@dataclass(frozen=True, slots=True)
class ReviewDeadlines:
    escalated_at: datetime
    target_at: datetime
    limit_at: datetime
    now: datetime

    @property
    def past_target(self) -> bool:
        return self.now >= self.target_at

    @property
    def past_limit(self) -> bool:
        return self.now >= self.limit_at

    @property
    def near_limit(self) -> bool:
        return not self.past_limit and self.now >= self.limit_at - NEAR_LIMIT

    @property
    def highlight(self) -> Highlight | None:
        if self.past_limit:
            return Highlight.past_limit
        if self.near_limit:
            return Highlight.near_limit
        if self.past_target:
            return Highlight.past_target
        return None


def review_deadlines(escalated_at: datetime, now: datetime, policy: Policy) -> ReviewDeadlines:
    return ReviewDeadlines(escalated_at, escalated_at + policy.days("arbitration_review_target_days"),
                           escalated_at + policy.days("arbitration_limit_days"), now)


def near_limit_cut(now: datetime, policy: Policy) -> datetime:
    """Cases escalated at or before this are near their limit (or past it)."""
    return now - (policy.days("arbitration_limit_days") - NEAR_LIMIT)


def limit_cut(now: datetime, policy: Policy) -> datetime:
    """Cases escalated at or before this are past their limit."""
    return now - policy.days("arbitration_limit_days")


def target_cut(now: datetime, policy: Policy) -> datetime:
    return now - policy.days("arbitration_review_target_days")
