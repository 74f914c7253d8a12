"""What the pages call things: states, reasons, deadlines and errors in words people use.

Every string is marked with ``N_`` for the catalogues and translated where it is shown.
Deadlines are worded for the person reading them: the seller's 5 days read differently to
the buyer waiting and to the seller who must answer.
"""

from __future__ import annotations

from ombuds.wording.i18n import N_, Formatter

STATES = {
    "awaiting_seller": N_("Waiting for the seller's answer"),
    "negotiating": N_("In negotiation"),
    "escalated": N_("With the platform's arbitrators"),
    "decided": N_("Decided — waiting for replies to the verdict"),
    "agreed": N_("Agreed"),
    "awaiting_return": N_("Waiting for the buyer to ship the return"),
    "return_in_transit": N_("Return on its way to the seller"),
    "closed": N_("Closed"),
}

ORDER_STATES = {
    "paid": N_("Paid, not shipped yet"),
    "shipped": N_("Shipped"),
    "completed": N_("Completed"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}

REASONS = {
    "not_received": N_("Parcel not received"),
    "missing_items": N_("Missing items / incomplete"),
    "wrong_item": N_("Wrong item (size, colour…)"),
    "not_as_described": N_("Not as described"),
    "damaged": N_("Damaged"),
    "counterfeit": N_("Counterfeit"),
    "other": N_("Other"),
}

RESOLUTIONS = {
    "refund_only": N_("Refund only (keep the item)"),
    "return_and_refund": N_("Return and refund"),
    "replacement": N_("Replacement (return, then reship)"),
}

OUTCOMES = {
    "refunded_full": N_("Refunded in full"),
    "refunded_partial": N_("Partly refunded"),
    "replaced": N_("Replaced"),
    "no_refund": N_("No refund"),
    "withdrawn": N_("Withdrawn by the buyer"),
}

CONDITIONS = {
    "as_sent": N_("As sent"),
    "damaged": N_("Damaged"),
    "empty_parcel": N_("Empty parcel"),
    "different_item": N_("A different item"),
}

ROLES = {
    "buyer": N_("Buyer"), "seller": N_("Seller"), "arbitrator": N_("Arbitrator"),
    "platform": N_("Platform"), "system": N_("Ombuds (automatic)"),
}

PAYMENT_METHODS = {
    "visa": "Visa", "mastercard": "Mastercard", "maestro": "Maestro", "webmoney": "WebMoney",
    "bank_transfer": N_("bank transfer"), "western_union": "Western Union", "qiwi": "QIWI",
    "alipay_balance": N_("Alipay balance"),
}

REFUND_STATUS = {
    "settled": N_("Landed"), "submitted": N_("On its way"), "pending": N_("Being sent"),
    "failed": N_("Delayed — the platform is retrying"),
}

# Timeline entries (R25), by action.
EVENTS = {
    "open": N_("Dispute opened"),
    "amend": N_("The buyer changed the request"),
    "propose": N_("New proposal"),
    "accept": N_("Proposal accepted"),
    "reject": N_("Proposal rejected"),
    "withdraw": N_("Dispute withdrawn"),
    "escalate": N_("Escalated to arbitration"),
    "argue": N_("Argument added"),
    "decide": N_("Verdict issued"),
    "agree_verdict": N_("Agreed with the verdict"),
    "disagree_verdict": N_("Disagreed with the verdict"),
    "ship_return": N_("Return shipped"),
    "return_delivered": N_("Return delivered to the seller"),
    "confirm_return": N_("Return received by the seller"),
    "reship": N_("Replacement shipped"),
    "execute": N_("Resolution carried out"),
    "seller_silence": N_("The seller did not answer in time"),
    "negotiation_over": N_("No agreement in time: escalated by the platform"),
    "review_target_passed": N_("The arbitrators' target date passed"),
    "review_limit_passed": N_("The arbitrators' time limit passed"),
    "reply_window_over": N_("Reply window over: the verdict is final"),
    "return_not_shipped": N_("The return was not shipped in time"),
    "return_not_confirmed": N_("The seller did not confirm the return in time"),
    "reminder": N_("Reminder sent"),
    "evidence_added": N_("Evidence added"),
}

# Action buttons (R27), by action.
ACTIONS = {
    "amend": N_("Change what I ask for"),
    "propose": N_("Make a new proposal"),
    "accept": N_("Accept the proposal"),
    "reject": N_("Reject the proposal"),
    "withdraw": N_("Withdraw the dispute"),
    "escalate": N_("Ask the platform to decide"),
    "argue": N_("Add an argument for the arbitrator"),
    "decide": N_("Issue the verdict"),
    "agree_verdict": N_("Agree"),
    "disagree_verdict": N_("Disagree"),
    "ship_return": N_("I have shipped the return"),
    "return_delivered": N_("Record the return's delivery"),
    "confirm_return": N_("Confirm the return arrived"),
    "reship": N_("Reship the replacement"),
}

# Deadlines (R27), worded for each reader: {date} and {left} are filled in.
DEADLINES = {
    ("respond_by", "buyer"): N_("The seller has until %(date)s to answer (%(left)s left). If the seller stays silent, "
                                "you get what you asked for."),
    ("respond_by", "seller"): N_("Answer by %(date)s (%(left)s left). Without an answer the buyer is refunded "
                                 "automatically."),
    ("respond_by", None): N_("The seller must answer by %(date)s (%(left)s left)."),
    ("negotiate_by", None): N_("Negotiation ends %(date)s (%(left)s left). Without agreement the platform's "
                               "arbitrators decide."),
    ("review_target", None): N_("The arbitrators aim to decide by %(date)s (%(left)s left)."),
    ("review_limit", None): N_("The arbitrators must decide by %(date)s (%(left)s left)."),
    ("reply_by", None): N_("Reply to the verdict by %(date)s (%(left)s left). Without a reply the verdict becomes "
                           "final."),
    ("ship_return_by", "buyer"): N_("Ship the item back and enter its tracking number by %(date)s (%(left)s left), or "
                                    "the dispute closes without a refund."),
    ("ship_return_by", None): N_("The buyer must ship the return by %(date)s (%(left)s left)."),
    ("confirm_return_by", "seller"): N_("Confirm the return by %(date)s (%(left)s left), or the refund is paid "
                                        "automatically."),
    ("confirm_return_by", None): N_("The seller must confirm the return by %(date)s (%(left)s left); then the refund "
                                    "is paid."),
}

DEADLINE_SHORT = {
    "respond_by": N_("Seller answers by"), "negotiate_by": N_("Negotiation ends"),
    "review_target": N_("Verdict target"), "review_limit": N_("Verdict limit"),
    "reply_by": N_("Replies due"), "ship_return_by": N_("Return ships by"),
    "confirm_return_by": N_("Seller confirms return by"),
}

# Error codes whose English message the services write, worded for the pages.
ERRORS = {
    "line_already_disputed": N_("This order line already had a dispute. A line can have only one dispute, ever — even "
                                "after it was closed or withdrawn. You can still complain to the platform about the "
                                "seller."),
    "dispute_window_closed": N_("The time to open a dispute on this order ended on %(passed_at)s. You can still "
                                "complain to the platform about the seller."),
    "delivery_time_not_over": N_("The parcel is still within its promised delivery time. A 'not received' dispute can "
                                 "be opened from %(opens_at)s."),
    "order_not_shipped": N_("This order has not shipped yet: cancel it instead of opening a dispute."),
    "reason_contradicts_received": N_("Choose 'Parcel not received' as the reason exactly when the parcel did not "
                                      "arrive."),
    "return_impossible_not_received": N_("The parcel was not received, so nothing can be returned: a full refund "
                                         "without return is offered instead."),
    "amount_out_of_range": N_("The amount must be more than nothing and at most %(max)s, what was paid for the units "
                              "in dispute."),
    "invalid_quantity": N_("Choose how many units are in dispute."),
    "description_required": N_("Describe what went wrong."),
    "message_required": N_("Say why, in a few words."),
    "reasons_required": N_("Give the reasons for the verdict: both parties read them."),
    "invalid_time_zone": N_("Choose a time zone from the list."),
    "tracking_required": N_("Enter the parcel's tracking number."),
    "deadline_passed": N_("Too late: a deadline passed and the dispute has moved on. It is now: %(state)s."),
    "action_not_allowed": N_("That is not possible now. The dispute is: %(state)s."),
    "not_your_action": N_("That is not yours to do on this dispute."),
    "extension_too_long": N_("Protection can be extended by %(remaining_days)s more days at most."),
    "invalid_extension": N_("Extend by at least one day."),
    "order_state_conflict": N_("The order has moved on; it is now: %(state)s."),
    "invalid_amount": N_("Write the amount as a number, e.g. 12.50."),
    "file_required": N_("Choose a file to upload."),
    "dispute_closed": N_("This dispute is closed; nothing can be added to it."),
    "message_too_long": N_("That message is too long."),
    "password_too_short": N_("Choose a password of at least 8 characters."),
    "wrong_password": N_("That is not your current password."),
    "request_already_open": N_("You already asked for more protection on this order; wait for the seller's answer."),
    "protection_not_running": N_("Protection is not running on this order any more, so it cannot be extended."),
    "extension_limit_reached": N_("Protection was already extended by the most the rules allow."),
    "reason_required": N_("Say why you need more time."),
    "reason_too_long": N_("That reason is too long."),
    "answer_too_long": N_("That reason is too long."),
    "request_answered": N_("This request was already answered."),
}


def deadline_text(f: Formatter, name: str, role: str | None, date: str, left: str) -> str:
    text = DEADLINES.get((name, role)) or DEADLINES.get((name, None)) or "%(date)s (%(left)s)"
    return f.gettext(text, date=date, left=left)
