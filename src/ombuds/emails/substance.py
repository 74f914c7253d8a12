"""What a change was, in sentences (R36): the amount, the proposal, the verdict, the refund's
dates, what the other side wrote. Every sentence is a catalogue message; values are formatted
in the reader's language (money) and zone (dates)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency

from ombuds.domain.money import precision
from ombuds.domain.time_zones import zone
from ombuds.emails.catalogue import N_


@dataclass(frozen=True, slots=True)
class Said:
    """What the change's own timeline entry says: who acted (``buyer``, ``seller``,
    ``arbitrator``, ``platform``, ``system``) and the details they gave; and which parties have
    agreed to the verdict now on the table (R16), so they are not asked to reply again."""

    actor: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    agreed: frozenset[str] = frozenset()


RESOLUTION = {
    "refund_only": N_("a refund without return"),
    "return_and_refund": N_("return and refund"),
    "replacement": N_("a replacement (return, then reship)"),
}

# Dispute actions → (where the value is, sentence). "proposal": the payload's proposal.
DISPUTE_SAYS: dict[str, tuple[tuple[str, str], ...]] = {
    "open": (("proposal", N_("The buyer asks for {proposal}.")),
             ("message", N_("The buyer's description: “{message}”"))),
    "amend": (("proposal", N_("The buyer now asks for {proposal}.")),),
    "propose": (("proposal", N_("The proposal: {proposal}.")), ("message", N_("Their message: “{message}”"))),
    "accept": (("proposal", N_("Agreed: {proposal}.")),),
    "reject": (("message", N_("Their message: “{message}”")),),
    "argue": (("message", N_("Their argument: “{message}”")),),
    "disagree_verdict": (("message", N_("Why they disagree: “{message}”")),),
    "decide": (("verdict", "{verdict}"), ("message", N_("The arbitrator's reasons: “{message}”"))),
}

# Other events → (payload field, sentence). Money fields are formatted as money.
EVENT_SAYS: dict[str, tuple[tuple[str, str], ...]] = {
    "order.message": (("body", N_("Their message: “{body}”")),),
    "order.cancelled": (("refund_amount", N_("Refunded to the buyer: {refund_amount}.")),),
    "refund.issued": (("amount", N_("Amount: {amount}, back to the original payment method.")),
                      ("expected_latest", N_("Expect it between {expected_earliest} and {expected_latest}."))),
    "refund.settled": (("amount", N_("Amount: {amount}.")),),
    "refund.failed": (("amount", N_("Amount: {amount}.")),),
    "seller.warned": (("reason", N_("The platform's reason: “{reason}”")),),
    "seller.suspended": (("reason", N_("The platform's reason: “{reason}”")),),
    "seller.reinstated": (("reason", N_("The platform's reason: “{reason}”")),),
    "seller.flagged": (("lost_orders", N_("{lost_orders} of your last {orders} orders ended in a dispute "
                                          "you lost.")),),
}
COMPLAINT_SAYS: dict[str, tuple[tuple[str, str], ...]] = {
    "answer": (("message", N_("The platform's answer: “{message}”")),),
    "grant_goodwill": (("amount", N_("A goodwill refund of {amount}, paid by the platform.")),
                       ("message", N_("The platform's answer: “{message}”"))),
    "penalise_seller": (("message", N_("The platform's answer: “{message}”")),),
}
MONEY = {"amount", "refund_amount", "refunded_amount"}
DAYS = {"expected_earliest", "expected_latest"}


def sentences(cause_type: str, aggregate: str, payload: dict, said: Said, *, gettext: Callable[[str], str],
              language: str, time_zone: str) -> list[str]:
    """The substance of a change for its reader, in their language."""
    currency = payload.get("currency") or "USD"
    money = lambda amount: format_currency(  # noqa: E731
        Decimal(int(amount)).scaleb(-precision(currency)), currency, locale=language)
    if aggregate == "dispute":
        action = payload.get("action") or ""
        values = {**said.details}
        proposal = payload.get("proposal") or {}
        if proposal.get("resolution") in RESOLUTION and proposal.get("amount") is not None:
            values["proposal"] = f"{gettext(RESOLUTION[proposal['resolution']])}, {money(proposal['amount'])}"
        if action == "decide" and said.details.get("refund_amount") is not None:
            values["verdict"] = _verdict(said.details, money, gettext)
        found = [gettext(text).format(**values) if text != "{verdict}" else values["verdict"]
                 for key, text in DISPUTE_SAYS.get(action, ()) if values.get(key) not in (None, "")]
        if payload.get("state") == "closed" and payload.get("refunded_amount"):
            found.append(gettext(N_("Refunded: {amount}.")).format(amount=money(payload["refunded_amount"])))
        return found
    if aggregate == "complaint":
        table, values = COMPLAINT_SAYS.get(payload.get("action") or "", ()), dict(said.details)
    else:
        table, values = EVENT_SAYS.get(cause_type, ()), dict(payload)
    for key in MONEY & values.keys():
        if isinstance(values[key], int):
            values[key] = money(values[key])
    for key in DAYS & values.keys():
        values[key] = _day(values[key], language, time_zone)
    return [gettext(text).format(**values) for key, text in table if values.get(key) not in (None, "")]


def _verdict(details: dict, money, gettext) -> str:
    amount = details["refund_amount"]
    text = (gettext(N_("The verdict: a refund of {amount}.")).format(amount=money(amount)) if amount
            else gettext(N_("The verdict: no refund.")))
    if details.get("return_required"):
        text += " " + gettext(N_("The item must be returned first."))
    return text


def _day(value: str, language: str, time_zone: str) -> str:
    """A refund's expected day in the reader's calendar (R33)."""
    if "T" in value:
        day = datetime.fromisoformat(value).astimezone(zone(time_zone)).date()
    else:
        day = date.fromisoformat(value[:10])
    return format_date(day, "d MMMM y", locale=language)
