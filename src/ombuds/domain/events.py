"""What happened, as data: events for the outbox and entries for the timeline (R25)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """A change others must hear about (e-mail, webhooks), written to the outbox."""

    type: str
    aggregate: str  # "order" or "dispute"
    aggregate_id: int
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None  # when it happened, if not when it is written


@dataclass(frozen=True, slots=True)
class DisputeClosed(Event):
    """``dispute.closed``: the dispute reached ``closed`` in this change. Its refunds, the
    seller's payout of the line it released (R1) and a replacement (R19) follow, through
    :func:`ombuds.services.closing.settle` — the one handler for it."""

    @classmethod
    def of(cls, dispute_id: int, data: dict[str, Any], at: datetime) -> DisputeClosed:
        return cls("dispute.closed", "dispute", dispute_id, data, at)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of a dispute's append-only timeline: who, what, when, and the deadline running."""

    at: datetime
    actor: str
    actor_id: int | None
    action: str
    from_state: str
    to_state: str
    deadline: str | None
    deadline_at: datetime | None
    details: dict[str, Any] = field(default_factory=dict)
