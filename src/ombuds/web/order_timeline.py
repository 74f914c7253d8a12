"""The order's timeline on its page: what happened to the order, and each request for more
protection with its answer (R38), oldest first."""

from __future__ import annotations

from datetime import datetime

from ombuds.domain.orders import Order
from ombuds.web.pages import Page


def timeline(page: Page, o: Order, requests: list[dict]) -> list[dict]:
    """Each entry: when, what happened (in the reader's language), and what was said with it."""
    _, f = page._, page.f
    entries = [(o.created_at, _("Paid"), None)]
    if o.shipped_at:
        entries.append((o.shipped_at, _("Shipped; protection started"), None))
    if o.delivered_at:
        entries.append((o.delivered_at, _("The carrier reports it delivered"), None))
    for r in requests:
        asked = (_("The buyer asked for %(days)s more protection", days=f.days(r["days_wanted"]))
                 if r["days_wanted"] else _("The buyer asked for more protection"))
        entries.append((r["created_at"], asked, r["reason"]))
        if r["state"] == "granted":
            entries.append((r["answered_at"], _("The seller extended protection by %(days)s",
                                                days=f.days(r["granted_days"])), None))
        elif r["state"] == "declined":
            entries.append((r["answered_at"], _("The seller declined to extend protection"), r["answer"]))
        elif r["state"] == "lapsed":
            entries.append((o.completed_at or r["created_at"], _("Protection ended before the seller answered"),
                            None))
    if o.completed_at:
        entries.append((o.completed_at, _("Completed"), None))
    if o.cancelled_at:
        entries.append((o.cancelled_at, _("Cancelled"), None))
    if o.closed_at:
        entries.append((o.closed_at, _("The time to open a dispute ended"), None))
    moments = [(datetime.fromisoformat(at) if isinstance(at, str) else at, what, said) for at, what, said in entries]
    return [{"at": at, "what": what, "said": said} for at, what, said in sorted(moments, key=lambda e: e[0])]
