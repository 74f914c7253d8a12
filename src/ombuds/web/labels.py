"""Words the pages need beyond the dispute lifecycle's (``words.py``): risk signals (R22), a
seller's standing (R21), and how an order's protection reads to its seller.

Every string is marked with ``N_`` for the catalogues and translated where it is shown.
"""

from __future__ import annotations

from ombuds.web.i18n import N_

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
    from ombuds.web.words import PAYMENT_METHODS
    name = PAYMENT_METHODS.get(key, key)
    return f.gettext(name) if key in TRANSLATED_METHODS else name
