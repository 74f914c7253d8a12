"""R40: what a carrier says about a parcel, and what it means for the rules.

A parcel is the order's shipment or a dispute's return. Its checkpoints arrive from a carrier
feed; two of them settle the parcel's fate: ``delivered`` and ``returned_to_sender``. On the
order's shipment either lifts the R26 wait (a buyer who did not get it may claim at once); on a
return, ``delivered`` starts the seller's R18 timer to confirm it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ParcelStatus(StrEnum):
    in_transit = "in_transit"
    out_for_delivery = "out_for_delivery"
    delivered = "delivered"
    returned_to_sender = "returned_to_sender"
    exception = "exception"


class Parcel(StrEnum):
    shipment = "shipment"  # the order's parcel, seller to buyer
    ret = "return"  # a dispute's return, buyer to seller (R18)


FATE_KNOWN = (ParcelStatus.delivered, ParcelStatus.returned_to_sender)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One carrier event, as received (before it is matched to a parcel)."""

    tracking_number: str
    status: ParcelStatus
    occurred_at: datetime
    location: str | None = None
    message: str | None = None
    carrier: str | None = None


# AfterShip's delivery tags (msg.tag / checkpoint tag) → our statuses. Tags that say nothing
# about where the parcel is (Pending, InfoReceived, Expired) are not checkpoints here.
AFTERSHIP_TAGS = {
    "InTransit": ParcelStatus.in_transit,
    "AvailableForPickup": ParcelStatus.out_for_delivery,
    "OutForDelivery": ParcelStatus.out_for_delivery,
    "AttemptFail": ParcelStatus.exception,
    "Delivered": ParcelStatus.delivered,
    "Exception": ParcelStatus.exception,
}
# AfterShip's sub-tag for a parcel that went back to its sender (an Exception in its tags).
AFTERSHIP_RETURNED_TO_SENDER = ("Exception_011",)


def aftership_status(tag: str | None, subtag: str | None) -> ParcelStatus | None:
    if subtag in AFTERSHIP_RETURNED_TO_SENDER:
        return ParcelStatus.returned_to_sender
    return AFTERSHIP_TAGS.get(tag or "")
