"""Words the pages need beyond the dispute lifecycle's (``words.py``): risk signals (R22), a
seller's standing (R21), and how an order's protection reads to its seller.

Every string is marked with ``N_`` for the catalogues and translated where it is shown.
"""

from __future__ import annotations

from ombuds.wording.i18n import N_

# R22: what each buyer risk signal counts (codes from ombuds.domain.risk).
RISK_SIGNALS = {
    "dispute_rate": N_("orders in the window with a dispute"),
    "won_by_seller_silence": N_("closed disputes refunded because the seller never answered"),
    "without_evidence": N_("disputes opened without a file from the buyer"),
    "withdrawn": N_("closed disputes the buyer withdrew"),
    "evidence_reused": N_("buyer photos matching evidence in other disputes"),
}

# R21: a seller's standing with the platform.
STANDING = {"active": N_("In good standing"), "suspended": N_("Suspended: cannot take new orders")}

# Payment methods whose names are words to translate; the others are brands (Visa, QIWI).
TRANSLATED_METHODS = {"bank_transfer", "alipay_balance"}


def payment_method(f, key: str) -> str:
    """A payment method's name in the reader's language (a brand stays as it is)."""
    from ombuds.wording.words import PAYMENT_METHODS
    name = PAYMENT_METHODS.get(key, key)
    return f.gettext(name) if key in TRANSLATED_METHODS else name

# R37: what a piece of evidence shows (codes from ombuds.domain.evidence_guidance.Proof).
PROOFS = {
    "everything_received": N_("Everything that arrived, laid out together"),
    "packing_list": N_("The packing list or invoice from the parcel"),
    "unpacking_video": N_("A video of opening the parcel, from the sealed box on"),
    "item_label": N_("The item's label: size, colour, model"),
    "measurement": N_("The item measured with a ruler or tape"),
    "listing": N_("The product page as it was ordered"),
    "item_photos": N_("The item as it arrived, from every side"),
    "damage": N_("Close-ups of the damage"),
    "packaging": N_("The box and the packing, outside and inside"),
    "authenticity_marks": N_("Marks that show it is not genuine: logo, serial number, label"),
}
