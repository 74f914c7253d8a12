"""Payment providers: where refunds are sent. One interface, a built-in simulator.

``create_refund`` is idempotent on its key: calling it twice (a crash between the call
and our commit) yields one refund at the provider.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from ombuds.domain.business_days import is_business_day


class ProviderError(Exception):
    """The provider refused or failed; the refund is retried with backoff."""


@dataclass(frozen=True, slots=True)
class RefundRequest:
    idempotency_key: str
    amount: int
    currency: str
    method: str
    issued_at: datetime
    expected_earliest: date
    expected_latest: date
    country: str
    payment_ref: str | None = None  # R39: the order's charge or PaymentIntent at a real provider


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    reference: str
    settles_at: datetime | None  # known for the simulator; real providers call back instead


class PaymentProvider(Protocol):
    async def create_refund(self, request: RefundRequest) -> ProviderRefund: ...


class SimulatedProvider:
    """Settles every refund on a business day inside its R20 window, at noon UTC, so the demo
    shows real dates. Its answers are derived from the idempotency key alone, so a repeated
    call — in this process or after a restart — is the same refund, as at a real provider."""

    def __init__(self) -> None:
        self.book: dict[str, ProviderRefund] = {}  # what the provider holds, by key

    async def create_refund(self, request: RefundRequest) -> ProviderRefund:
        if request.idempotency_key not in self.book:
            reference = "sim_" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:20]
            self.book[request.idempotency_key] = ProviderRefund(reference, settlement_time(request))
        return self.book[request.idempotency_key]


def settlement_time(request: RefundRequest) -> datetime:
    """A business day inside the window, picked from the key, at noon UTC (never before issue)."""
    days = []
    day = request.expected_earliest
    while day <= request.expected_latest:
        if day == request.expected_earliest or is_business_day(day, request.country):
            days.append(day)
        day += timedelta(days=1)
    pick = days[int(hashlib.sha256(request.idempotency_key.encode()).hexdigest(), 16) % len(days)]
    return max(datetime.combine(pick, time(12), tzinfo=UTC), request.issued_at)

