"""R40: the words for a parcel's checkpoints, on the pages and in the case file."""

from ombuds.wording.i18n import N_

STATUSES = {
    "in_transit": N_("In transit"),
    "out_for_delivery": N_("Out for delivery"),
    "delivered": N_("Delivered"),
    "returned_to_sender": N_("Returned to sender"),
    "exception": N_("Delivery problem"),
}
