"""Request bodies. Responses are plain dicts built in :mod:`ombuds.api.views`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ombuds.domain.disputes import Reason, Resolution, ReturnCondition


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewUser(Body):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: str = Field(description="buyer, seller or arbitrator")
    country: str = Field(min_length=2, max_length=2, description="ISO 3166 alpha-2")
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
    title: str = Field(min_length=1, max_length=500)
    unit_price: int = Field(ge=0, description="minor units")
    quantity: int = Field(ge=1, le=100_000)


class NewOrder(Body):
    buyer_id: int
    seller_id: int
    currency: str = Field(min_length=3, max_length=3)
    payment_method: str
    lines: list[NewLine] = Field(min_length=1, max_length=500)
    external_ref: str | None = Field(None, max_length=200)
    payment_ref: str | None = Field(None, min_length=4, max_length=255, pattern=r"^[A-Za-z0-9_]+$",
                                    description="R39: the payment at the provider (Stripe: ch_… or pi_…); "
                                                "refunds go back on it")


class Shipment(Body):
    carrier: str = Field(min_length=1, max_length=100)
    tracking_number: str = Field(min_length=1, max_length=100)


class Extension(Body):
    days: int = Field(ge=1, le=3650)


class NewDispute(Body):
    order_id: int
    line_id: int
    received: bool
    reason: Reason
    resolution: Resolution | None = Field(None, description="default: refund_only")
    amount: int | None = Field(None, ge=0, description="minor units; default: the units' full price")
    quantity: int | None = Field(None, ge=1, description="units in dispute; default: the whole line")
    description: str = Field(min_length=1, max_length=5000)
    refund_to: str = Field("original_method", description="original_method or platform_balance (R31)")


class ProposalBody(Body):
    resolution: Resolution
    amount: int | None = Field(None, ge=0, description="minor units; default: the units' full price")
    message: str = Field("", max_length=5000)


class MessageBody(Body):
    message: str = Field("", max_length=5000)


class VerdictBody(Body):
    refund_amount: int = Field(ge=0, description="minor units")
    return_required: bool = False
    penalise_seller: bool = False
    message: str = Field("", max_length=5000)


class VerdictReplyBody(Body):
    agree: bool
    message: str = Field("", max_length=5000)


class ReturnReceived(Body):
    condition: ReturnCondition
    message: str = Field("", max_length=5000)


class ClockAdvance(Body):
    duration: str = Field(description="e.g. 5d, 12h, 1d12h", examples=["5d"])
