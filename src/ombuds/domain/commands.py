"""What a person asks of a dispute, as small value objects (validated by the lifecycle)."""

from __future__ import annotations

from dataclasses import dataclass

from ombuds.domain.disputes import Reason, Resolution, ReturnCondition


@dataclass(frozen=True, slots=True)
class OpenDispute:
    order_id: int
    line_id: int
    received: bool
    reason: Reason
    resolution: Resolution | None = None
    amount: int | None = None  # minor units; None means the full price of the units
    quantity: int | None = None  # None means the whole line
    description: str = ""
    refund_to: str = "original_method"  # or "platform_balance" (R31)


@dataclass(frozen=True, slots=True)
class Propose:
    resolution: Resolution
    amount: int | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class Say:
    """A message that goes with an action: a rejection's reasons, an argument."""

    message: str = ""


@dataclass(frozen=True, slots=True)
class Decide:
    refund_amount: int
    return_required: bool = False
    penalise_seller: bool = False
    message: str = ""


@dataclass(frozen=True, slots=True)
class Ship:
    carrier: str
    tracking_number: str


@dataclass(frozen=True, slots=True)
class ConfirmReturn:
    condition: ReturnCondition
    message: str = ""


@dataclass(frozen=True, slots=True)
class Accept:
    """R34: accepting names the proposal the party saw, so that nobody is bound to another."""

    proposal_id: int


Command = Propose | Say | Decide | Ship | ConfirmReturn | Accept | None
