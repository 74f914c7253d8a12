"""Request bodies and the bounds every input is held to (R42). Responses are plain dicts built
in :mod:`ombuds.api.views`.

Numbers and booleans are strict (``"100"``, ``100.0`` and ``true`` are not integers, ``"true"``
and ``1`` are not booleans), strings are never made from numbers, and unknown fields are refused;
every text refuses NUL characters, and a required text must still say something once
invisible characters (zero-width spaces, joiners, fillers) are removed. Amounts are integers
of minor units up to 10^12 per line and per order, ids fit in 64 bits; all of it is checked
before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import pycountry
from annotated_types import Ge, GroupedMetadata, Le, MaxLen, MinLen
from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ombuds.domain.bounds import MAX_AMOUNT, MAX_ID, MAX_OFFSET, MAX_QUANTITY
from ombuds.domain.disputes import Reason, Resolution, ReturnCondition
from ombuds.domain.text import visible


def _required_text(value: str) -> str:
    if not visible(value):
        raise PydanticCustomError("text_required", "This text is empty once invisible characters are removed.")
    return value


def _optional_text(value: str) -> str:
    return value if visible(value) else ""  # the rules then see it as absent ("message_required")


def _country(value: str) -> str:
    if len(value) != 2 or pycountry.countries.get(alpha_2=value.upper()) is None:
        raise PydanticCustomError("invalid_country", "Give an ISO 3166 country code, e.g. RU or CN.")
    return value.upper()


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """A text that must say something (1..max_length characters, visible ones among them):
    ``Annotated[str, Text(200)]``."""

    max_length: int

    def __iter__(self) -> Iterator[object]:
        yield MinLen(1)
        yield MaxLen(self.max_length)
        yield AfterValidator(_required_text)


@dataclass(frozen=True)
class OptionalText(GroupedMetadata):
    """A text that may be empty; one of invisible characters only counts as empty:
    ``Annotated[str, OptionalText(5000)]``."""

    max_length: int

    def __iter__(self) -> Iterator[object]:
        yield MaxLen(self.max_length)
        yield AfterValidator(_optional_text)


@dataclass(frozen=True)
class Count(GroupedMetadata):
    """A strict integer from ``low`` to ``high``: ``Annotated[int, Count(1, 3650)]``."""

    low: int
    high: int

    def __iter__(self) -> Iterator[object]:
        yield Strict()
        yield Ge(self.low)
        yield Le(self.high)


Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Amount = Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT, description="minor units, at most 10^12")]
Flag = Annotated[bool, Field(strict=True)]

Country = Annotated[str, Field(min_length=2, max_length=2, description="ISO 3166 alpha-2"),
                    AfterValidator(_country)]
# Ids in a path are 404 when out of range (R42), in a query 422.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


def _no_nul(value):
    if isinstance(value, str) and "\x00" in value:
        raise PydanticCustomError("nul_character", "NUL characters are not allowed.")
    if isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value):
        return _no_nul(value)


class NewUser(Body):
    name: Annotated[str, Text(200)]
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    role: str = Field(description="buyer, seller or arbitrator")
    country: Country
    language: str = Field("en", description="en or ru")
    time_zone: str | None = Field(None, max_length=64,
                                  description="R33: IANA name, e.g. Europe/Moscow; default: the country's main zone")
    payout_account: str | None = Field(None, min_length=6, max_length=255, pattern=r"^acct_[A-Za-z0-9]+$",
                                       description="R39: a seller's Stripe connected account; payouts are "
                                                   "transferred to it")



class TimeZoneBody(Body):
    time_zone: str | None = Field(None, max_length=64,
                                  description="R33: IANA name; null: the main zone of the user's country")


class NewPassword(Body):
    password: str = Field(min_length=1, max_length=200)


class NewLine(Body):
    title: Annotated[str, Text(500)]
    unit_price: Amount
    quantity: Annotated[int, Count(1, MAX_QUANTITY)]


class NewOrder(Body):
    buyer_id: Id
    seller_id: Id
    currency: str = Field(min_length=3, max_length=3)
    payment_method: str = Field(min_length=1, max_length=40)
    lines: list[NewLine] = Field(min_length=1, max_length=500)
    external_ref: str | None = Field(None, max_length=200)
    payment_ref: str | None = Field(None, min_length=4, max_length=255, pattern=r"^[A-Za-z0-9_]+$",
                                    description="R39: the payment at the provider (Stripe: ch_… or pi_…); "
                                                "refunds go back on it")

    @model_validator(mode="after")
    def _totals_in_bounds(self) -> NewOrder:
        """R42: at most 10^12 minor units per line and per order, refused before any write."""
        for line in self.lines:
            if line.unit_price * line.quantity > MAX_AMOUNT:
                raise PydanticCustomError("amount_out_of_range",
                                          "A line's total (unit_price × quantity) may be at most 10^12 minor units.")
        if sum(line.unit_price * line.quantity for line in self.lines) > MAX_AMOUNT:
            raise PydanticCustomError("amount_out_of_range", "An order's total may be at most 10^12 minor units.")
        return self


class Shipment(Body):
    carrier: Annotated[str, Text(100)]
    tracking_number: Annotated[str, Text(100)]


class Extension(Body):
    days: Annotated[int, Count(1, 3650)]


class NewDispute(Body):
    order_id: Id
    line_id: Id
    received: Flag
    reason: Reason
    resolution: Resolution | None = Field(None, description="default: refund_only")
    amount: Amount | None = Field(None, description="minor units; default: the units' full price")
    quantity: Annotated[int, Count(1, MAX_QUANTITY)] | None = Field(
        None, description="units in dispute; default: the whole line")
    description: Annotated[str, Text(5000)]
    refund_to: str = Field("original_method", max_length=40,
                           description="original_method or platform_balance (R31)")


class ProposalBody(Body):
    resolution: Resolution
    amount: Amount | None = Field(None, description="minor units; default: the units' full price")
    message: Annotated[str, OptionalText(5000)] = ""


class AcceptBody(Body):
    proposal_id: Id = Field(description="R34: the id of the proposal you accept, as you read it "
                                        "(the dispute's proposal.id); 409 proposal_changed if another replaced it")


class MessageBody(Body):
    message: Annotated[str, OptionalText(5000)] = ""


class VerdictBody(Body):
    refund_amount: Amount
    return_required: Flag = False
    penalise_seller: Flag = False
    message: Annotated[str, OptionalText(5000)] = ""


class VerdictReplyBody(Body):
    agree: Flag
    message: Annotated[str, OptionalText(5000)] = ""


class ReturnReceived(Body):
    condition: ReturnCondition
    message: Annotated[str, OptionalText(5000)] = ""


MAX_ADVANCE_DAYS = 36_500  # a hundred years: enough for any demo, far from timedelta's limit


class ClockAdvance(Body):
    duration: str = Field(max_length=40, pattern=r"^\s*(\d{1,9}\s*[wdhmsWDHMS]\s*)+$",
                          description="e.g. 5d, 12h, 1d12h; at most 100 years", examples=["5d"])

    @field_validator("duration")
    @classmethod
    def _at_most_a_century(cls, value: str) -> str:
        import re
        seconds = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
        total = sum(int(n) * seconds[u.lower()] for n, u in re.findall(r"(\d+)\s*([wdhmsWDHMS])", value))
        if total > MAX_ADVANCE_DAYS * 86_400:
            raise PydanticCustomError("duration_too_long", "Advance the clock by at most 100 years at a time.")
        return value
