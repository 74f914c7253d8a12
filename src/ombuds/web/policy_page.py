"""The rules in force, as sentences people read (the ``/policy`` page).

Every field of :class:`ombuds.domain.policy.Policy` is said here in words, with its number,
grouped the way a buyer or a seller meets them; ``FIELDS_SAID`` lets a test hold that no
field is left out when the policy grows.
"""

from __future__ import annotations

from ombuds.domain.policy import Policy, PostagePayer
from ombuds.wording import labels, words
from ombuds.wording.i18n import N_, Formatter


def sections(f: Formatter, p: Policy) -> list[dict]:
    """[{title, rules: [{rule, text}]}] in the reader's language."""
    days, _ = f.days, f.gettext
    yes_no = lambda on, yes, no: _(yes) if on else _(no)  # noqa: E731
    windows = [
        _("%(method)s: %(window)s", method=labels.payment_method(f, m),
          window=_("the same day") if w.latest == 0 else
          _("%(earliest)s–%(latest)s business days", earliest=w.earliest, latest=w.latest))
        for m, w in p.refund_windows.items()]
    estimates = [_("to %(country)s: at least %(amount)s", country=f.country(c), amount=f.money(e.amount, e.currency))
                 for c, e in sorted(p.return_postage_estimates.items())]
    languages = ", ".join(f.language(code) for code in p.allowed_languages)
    guidance = [  # R37: what helps each kind of claim
        ("R37", _("“%(reason)s”: %(proofs)s.", reason=_(words.REASONS[reason]),
                  proofs="; ".join(_(labels.PROOFS[proof.value]) for proof in proofs)) if proofs
         else _("“%(reason)s”: no evidence is needed.", reason=_(words.REASONS[reason])))
        for reason, proofs in p.evidence_guidance.items() if reason in words.REASONS]
    return [
        {"title": _("Buyer protection"), "rules": [
            ("R2", _("Protection runs for %(days)s from the day the seller ships; the money is held until then.",
                     days=days(p.protection_days))),
            ("R3", _("The seller may extend it, when the buyer asks, by up to %(days)s in total.",
                     days=days(p.max_protection_extension_days))),
            ("R6", _("After the buyer confirms receipt, a dispute can still be opened for %(days)s.",
                     days=days(p.dispute_window_after_completion_days))),
            ("R26", _("A “not received” dispute can be opened from %(days)s after shipping.",
                      days=days(p.not_received_wait_days))),
        ]},
        {"title": _("Disputes"), "rules": [
            ("R9", _("Dispute texts are written in: %(languages)s.", languages=languages)),
            ("R12", _("The seller answers within %(days)s; a seller who stays silent refunds the buyer.",
                      days=days(p.seller_response_days))),
            ("R14", _("Buyer and seller negotiate for %(days)s; without agreement the platform's arbitrators decide.",
                      days=days(p.negotiation_days))),
            ("R14", yes_no(p.manual_escalation, N_("Either party may also ask the arbitrators to decide earlier."),
                           N_("Only the platform sends a dispute to its arbitrators."))),
            ("R15", _("The arbitrators aim to decide within %(target)s, and always within %(limit)s.",
                      target=days(p.arbitration_review_target_days), limit=days(p.arbitration_limit_days))),
            ("R16", _("Each party replies to a verdict within %(days)s.", days=days(p.verdict_reply_days))),
            ("R16", f.ngettext("A reply of “disagree” sends a verdict back to the arbitrators %(num)d time at most.",
                               "A reply of “disagree” sends a verdict back to the arbitrators %(num)d times at most.",
                               p.appeals) if p.appeals else _("A verdict cannot be appealed.")),
            ("R28", _("A reminder is sent %(hours)s before a deadline that would decide against someone.",
                      hours=f.hours(p.reminder_lead_hours))),
        ]},
        {"title": _("Evidence"), "rules": [
            ("R10", _("Photos and PDF up to %(photo)s, videos up to %(video)s, at most %(count)s files from each "
                      "side; files cannot be changed or deleted.",
                      photo=f.size(p.evidence_photo_max_bytes), video=f.size(p.evidence_video_max_bytes),
                      count=p.evidence_max_files_per_side)),
            *guidance,
        ]},
        {"title": _("Returns"), "rules": [
            ("R18", _("The buyer ships a return within %(days)s, with a tracking number.",
                      days=days(p.return_ship_days))),
            ("R18", _("The seller confirms it within %(after_delivery)s of its delivery (%(after_shipping)s of its "
                      "shipping at the latest); otherwise the refund is paid.",
                      after_delivery=days(p.return_confirm_after_delivery_days),
                      after_shipping=days(p.return_confirm_after_shipping_days))),
            ("R30", yes_no(p.return_postage_payer is PostagePayer.buyer, N_("The buyer pays return postage."),
                           N_("Return postage is paid by whoever is at fault: the seller for a wrong, damaged or "
                              "not-as-described item."))),
            ("R11", _("Return postage, at least: %(estimates)s.", estimates="; ".join(estimates)) if estimates
             else _("No return postage estimates are set.")),
        ]},
        {"title": _("Refunds"), "rules": [
            ("R20", _("A refund lands within its payment method's window, in business days of the buyer's country: "
                      "%(windows)s.",
                      windows="; ".join(windows))),
            ("R31", yes_no(p.in_platform_balance_offered, N_("A buyer may take a refund to her balance on the "
                                                             "platform instead; it lands at once."),
                           N_("Refunds always go back to the way the buyer paid."))),
            ("§4", _("The platform's commission is %(percent)s of a sale; it is given back to the seller on a "
                     "refunded amount.",
                     percent=f.percent(p.commission_bps / 10_000))),
        ]},
        {"title": _("Sellers' ratings and complaints"), "rules": [
            ("R21", _("Ratings count the last %(days)s; a seller who loses more than %(percent)s of their orders' "
                      "disputes is flagged for the platform.",
                      days=days(p.rating_window_days), percent=f.percent(p.seller_flag_lost_ratio))),
            ("R24", _("The platform answers a complaint within %(days)s.", days=days(p.complaint_answer_days))),
        ]},
        {"title": _("Signing in"), "rules": [
            ("R43", _("A sign-in link from the marketplace works once, for %(minutes)s.",
                      minutes=f.minutes(p.sign_in_link_minutes))),
            ("R43", _("Ombuds' e-mails carry a sign-in link that works once, for %(hours)s.",
                      hours=f.hours(p.email_sign_in_link_hours)) if p.sign_in_links_in_emails
             else _("Ombuds' e-mails link to the pages; they carry no sign-in link.")),
        ]},
    ]


# Which fields the sentences above say (a test compares this with the Policy's fields).
FIELDS_SAID = {
    "protection_days", "max_protection_extension_days", "dispute_window_after_completion_days",
    "not_received_wait_days", "allowed_languages", "seller_response_days", "negotiation_days",
    "manual_escalation", "arbitration_review_target_days", "arbitration_limit_days", "verdict_reply_days",
    "appeals", "reminder_lead_hours", "evidence_photo_max_bytes", "evidence_video_max_bytes",
    "evidence_max_files_per_side", "return_ship_days", "return_confirm_after_delivery_days",
    "return_confirm_after_shipping_days", "return_postage_payer", "return_postage_estimates",
    "refund_windows", "in_platform_balance_offered", "commission_bps", "rating_window_days",
    "seller_flag_lost_ratio", "complaint_answer_days", "sign_in_link_minutes", "sign_in_links_in_emails",
    "email_sign_in_link_hours", "evidence_guidance",
}
