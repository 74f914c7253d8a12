"""Penalties an arbitrator gives a seller (R15, R21, R24), and the standing they add up to.

Penalty rows are never edited: a suspension ends with a reinstatement row, so the seller's
timeline keeps both. The standing is derived from the latest suspension or reinstatement.
A verdict with ``penalise_seller`` counts as a penalty too (it is read from the dispute).

Invariants: a suspended seller takes no new orders; only a suspended seller can be
reinstated; a suspended seller is not suspended twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ombuds.domain.errors import Conflict, DomainError, present
from ombuds.domain.text import written

MAX_REASON = 5000


class PenaltyKind(StrEnum):
    warning = "warning"
    suspension = "suspension"
    reinstatement = "reinstatement"  # ends a suspension; not a penalty itself


PENALTIES = (PenaltyKind.warning, PenaltyKind.suspension)


@dataclass(frozen=True, slots=True)
class PenaltyRecord:
    id: int
    kind: PenaltyKind
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Standing:
    suspended: bool
    since: datetime | None = None  # when the suspension began
    reason: str | None = None

    @property
    def word(self) -> str:
        return "suspended" if self.suspended else "active"


def standing(records: Iterable[PenaltyRecord]) -> Standing:
    """Active unless the latest suspension-or-reinstatement is a suspension."""
    latest = None
    for r in records:
        if r.kind in (PenaltyKind.suspension, PenaltyKind.reinstatement) and (latest is None or r.id > latest.id):
            latest = r
    if latest is None or latest.kind is PenaltyKind.reinstatement:
        return Standing(False)
    return Standing(True, latest.at, latest.reason)


def check_penalty(kind: str, reason: str, current: Standing, *, allow_reinstatement: bool = True
                  ) -> tuple[PenaltyKind, str]:
    """Validate a penalty against the seller's standing now; returns it cleaned."""
    allowed = list(PenaltyKind) if allow_reinstatement else list(PENALTIES)
    if kind not in [k.value for k in allowed]:
        raise DomainError("invalid_penalty", f"The penalty must be one of: "
                          f"{', '.join(k.value for k in allowed)}.", "kind")
    reason = written(reason)
    if not reason:
        raise DomainError("reason_required", "Give the reason; the seller reads it in their timeline.",
                          "reason")
    if len(reason) > MAX_REASON:
        raise DomainError("reason_too_long", f"Keep the reason under {MAX_REASON} characters.", "reason")
    penalty = PenaltyKind(kind)
    if penalty is PenaltyKind.suspension and current.suspended:
        since = present(current.since, "the suspension's start")
        raise Conflict("already_suspended", f"This seller has been suspended since "
                       f"{since:%Y-%m-%d %H:%M} UTC.", "kind", suspended_since=since.isoformat())
    if penalty is PenaltyKind.reinstatement and not current.suspended:
        raise Conflict("not_suspended", "This seller is not suspended; there is nothing to lift.", "kind")
    return penalty, reason


def refuse_new_order(current: Standing) -> None:
    """R21: a suspended seller cannot take new orders."""
    if current.suspended:
        since = present(current.since, "the suspension's start")
        raise Conflict("seller_suspended",
                       f"This seller was suspended by the platform on {since:%Y-%m-%d %H:%M} UTC "
                       "and cannot take new orders until reinstated.", "seller_id",
                       suspended_since=since.isoformat())
