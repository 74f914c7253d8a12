"""Which change is told to whom, and in which words (R23, R28).

The outbox events one transaction wrote for one dispute or order form one *change*
("the seller stayed silent" → "the agreement executes" → "the dispute closed"): each party
gets one e-mail per change, saying what caused it (the first event) and where it left
things (the last event: its state, the deadline now running and whose move it is, or the
outcome). All words are catalogue messages, looked up by data in the tables below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from ombuds.domain.errors import present
from ombuds.domain.lifecycle import DISPUTES
from ombuds.emails.catalogue import N_, environment, format_moment, supported, translations
from ombuds.emails.substance import Said, sentences

BUYER, SELLER = "buyer", "seller"
PARTIES = (BUYER, SELLER)
ARBITRATORS = "arbitrator"  # every arbitrator of the platform (R36)


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: int
    type: str
    aggregate: str
    aggregate_id: int
    payload: dict[str, Any]
    created_at: datetime

    @property
    def public_id(self) -> str:
        """The id receivers use to drop repeats (``X-Ombuds-Event-Id``, ``webhook-id``)."""
        return f"evt_{self.id}"


@dataclass(frozen=True, slots=True)
class Change:
    events: tuple[OutboxEvent, ...]

    @property
    def cause(self) -> OutboxEvent:
        """The first event that is not a reminder: a reminder swallowed by the deadline
        itself passing (a clock jump) is not worth an e-mail of its own."""
        return next((e for e in self.events if e.type != REMINDER), self.events[0])

    @property
    def result(self) -> OutboxEvent:
        return self.events[-1]


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    role: str
    name: str
    email: str
    language: str
    time_zone: str = "UTC"  # R33: deadlines are written in the reader's zone


@dataclass(frozen=True, slots=True)
class Mail:
    event: OutboxEvent
    recipient: Recipient
    language: str
    subject: str
    text: str
    html: str


def changes(events: list[OutboxEvent]) -> list[Change]:
    """Group each event with the consequences written right after it for the same dispute
    or order at the same moment, in the order they were written."""
    groups: list[list[OutboxEvent]] = []
    last: dict[tuple, list[OutboxEvent]] = {}
    for e in sorted(events, key=lambda e: e.id):
        key = (e.aggregate, e.aggregate_id, e.created_at)
        group = last.get(key)
        if group is not None and _follows(group, e):
            group.append(e)
        else:
            groups.append(group := [e])
            last[key] = group
    return [Change(tuple(g)) for g in groups]


def _follows(group: list[OutboxEvent], e: OutboxEvent) -> bool:
    """Is ``e`` a consequence of the change in ``group`` rather than a change of its own?"""
    if e.type in FOLLOWERS or e.payload.get("action") in DISPUTE_FOLLOWERS:
        return True
    if FOLLOWS.get(e.type) == group[-1].type:
        return True
    # A reminder overtaken by its deadline in the same sweep (a clock jump) is no news.
    return all(g.type == REMINDER for g in group) and e.aggregate == "dispute"


# Disputes ---------------------------------------------------------------------------

REMINDER = "dispute.deadline_reminder"

DISPUTE_HAPPENED = {
    "open": N_("dispute opened"),
    "amend": N_("the buyer changed the request"),
    "propose": N_("a new proposal"),
    "accept": N_("the proposal was accepted"),
    "reject": N_("the proposal was rejected"),
    "withdraw": N_("the buyer withdrew the dispute"),
    "escalate": N_("escalated to the platform"),
    "argue": N_("a new argument"),
    "decide": N_("the arbitrator's verdict"),
    "agree_verdict": N_("a party agreed with the verdict"),
    "disagree_verdict": N_("a party disagreed with the verdict"),
    "ship_return": N_("the return was shipped"),
    "return_delivered": N_("the return was delivered"),
    "confirm_return": N_("the seller confirmed the return"),
    "reship": N_("the replacement was shipped"),
    "execute": N_("the agreed solution is under way"),
    "seller_silence": N_("the seller did not respond in time"),
    "negotiation_over": N_("negotiation time is over"),
    "reply_window_over": N_("the time to reply to the verdict is over"),
    "return_not_shipped": N_("the return was not shipped in time"),
    "return_not_confirmed": N_("the seller did not confirm the return in time"),
    "reminder": N_("reminder: a deadline is near"),
    "evidence_added": N_("new evidence was added"),
    "closed": N_("dispute closed"),
}
# Events that only complete the change before them: the agreement executing, the close.
DISPUTE_FOLLOWERS = {"execute", "closed"}
FOLLOWERS = {"payout.made"}
# An event that completes one particular event before it: the extension a granted request made.
FOLLOWS = {"order.protection_extended": "order.protection_request_granted"}

# (deadline, recipient role) → (short, for the subject; long, for the body). Role None: anyone.
DEADLINE_TODO: dict[tuple[str, str | None], tuple[str, str]] = {
    ("respond_by", SELLER): (
        N_("respond by {date}"),
        N_("Accept, reject or propose another solution by {date}. If you do not answer in time, "
           "the dispute is decided in the buyer's favour.")),
    ("respond_by", BUYER): (
        N_("the seller must respond by {date}"),
        N_("The seller must respond by {date}. If they do not, the dispute is decided in your favour.")),
    ("negotiate_by", None): (
        N_("agree by {date}"),
        N_("Make or accept a proposal by {date}. Without an agreement by then, the platform's "
           "arbitrators will decide.")),
    ("review_target", None): (
        N_("the arbitrators aim to decide by {date}"),
        N_("The platform's arbitrators aim to decide by {date}. Add your arguments and evidence "
           "before then.")),
    ("review_limit", None): (
        N_("the arbitrators will decide by {date}"),
        N_("The platform's arbitrators will decide by {date}.")),
    ("reply_by", None): (
        N_("reply to the verdict by {date}"),
        N_("Agree or disagree with the verdict by {date}. Without a reply by then, the verdict "
           "becomes final.")),
    ("ship_return_by", BUYER): (
        N_("ship the return by {date}"),
        N_("Ship the item back and enter its tracking number by {date}, or the dispute closes "
           "without a refund.")),
    ("ship_return_by", SELLER): (
        N_("the buyer must ship the return by {date}"),
        N_("The buyer must ship the item back by {date}.")),
    ("confirm_return_by", SELLER): (
        N_("confirm the return by {date}"),
        N_("Confirm that the return arrived, and in what condition, by {date}. Without a "
           "confirmation by then, the refund is issued automatically.")),
    ("confirm_return_by", BUYER): (
        N_("the seller must confirm the return by {date}"),
        N_("The seller must confirm the return by {date}; otherwise your refund is issued "
           "automatically.")),
    # Orders
    ("protection_ends", None): (
        N_("protection runs until {date}"),
        N_("Buyer protection runs until {date}. If something is wrong with the parcel, open a "
           "dispute before then.")),
    ("answer_protection_request", SELLER): (
        N_("answer before {date}"),
        N_("Grant more days or decline on the order's page. Protection ends on {date}; after that "
           "the request can no longer be answered.")),
    # Arbitrators (R36): a case reaching the queue, an appeal, a case near its limit.
    ("review_target", ARBITRATORS): (
        N_("decide by {date}"),
        N_("A case is waiting in the arbitration queue. The review target is {date}; read both "
           "sides and decide.")),
    ("review_limit", ARBITRATORS): (
        N_("decide by {date} at the latest"),
        N_("This case must be decided by {date}, its review limit.")),
    # Complaints (R24)
    ("answer_by", BUYER): (
        N_("the platform aims to answer by {date}"),
        N_("The platform's arbitrators aim to answer your complaint by {date}. You can add to it on "
           "the order's page.")),
    ("answer_by", ARBITRATORS): (
        N_("answer by {date}"),
        N_("Answer the complaint by {date}: with words, a goodwill refund or a penalty for the seller.")),
    ("close_by", BUYER): (
        N_("closes on {date}"),
        N_("If nothing more happens, the complaint closes on {date}.")),
    ("dispute_window_ends", None): (
        N_("disputes possible until {date}"),
        N_("A dispute about this order can still be opened until {date}.")),
}

OUTCOME = {
    "refunded_full": (N_("refunded in full"),
                      N_("The dispute is closed: the buyer is refunded in full, to the original "
                         "payment method.")),
    "refunded_partial": (N_("refunded in part"),
                         N_("The dispute is closed: the buyer is refunded in part, to the original "
                            "payment method.")),
    "replaced": (N_("item replaced"), N_("The dispute is closed: the seller reshipped the item.")),
    "no_refund": (N_("no refund"), N_("The dispute is closed without a refund.")),
    "withdrawn": (N_("withdrawn"), N_("The dispute is closed: the buyer withdrew it.")),
}

STATE = {
    "awaiting_seller": N_("waiting for the seller's answer"),
    "negotiating": N_("in negotiation"),
    "escalated": N_("with the platform's arbitrators"),
    "decided": N_("decided, waiting for the parties' replies"),
    "agreed": N_("agreed"),
    "awaiting_return": N_("waiting for the buyer to ship the return"),
    "return_in_transit": N_("waiting for the return to reach the seller"),
    "closed": N_("closed"),
}

# Orders -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderNotice:
    happened: str
    to: tuple[str, ...]
    deadline: str | None = None  # a name in DEADLINE_TODO
    deadline_field: str | None = None  # where the event's payload carries its moment
    # The substance (R36): (payload field, sentence with {value}), said when the field is set.
    says: tuple[tuple[str, str], ...] = ()


ORDER_NOTICES = {
    "order.paid": OrderNotice(N_("payment received and held until you confirm receipt"), (BUYER,)),
    "order.shipped": OrderNotice(N_("your order has shipped"), (BUYER,), "protection_ends",
                                 "protection_ends_at"),
    "order.delivered": OrderNotice(N_("the carrier reports the order delivered"), (BUYER,)),
    # R3: the seller extended protection; the seller knows (R36), the buyer is told.
    "order.protection_extended": OrderNotice(N_("buyer protection extended"), (BUYER,),
                                             "protection_ends", "protection_ends_at",
                                             says=(("days", N_("Days added: {value}.")),)),
    # R38: the buyer's request and the seller's answer, each told to the other party.
    "order.protection_requested": OrderNotice(
        N_("the buyer asks for more protection"), (SELLER,), "answer_protection_request", "protection_ends_at",
        says=(("reason", N_("The buyer's reason: “{value}”")), ("days_wanted", N_("Days asked for: {value}.")))),
    "order.protection_request_granted": OrderNotice(
        N_("the seller extended your protection"), (BUYER,), "protection_ends", "protection_ends_at",
        says=(("days", N_("Days added: {value}.")),)),
    "order.protection_request_declined": OrderNotice(
        N_("the seller declined to extend your protection"), (BUYER,), "protection_ends", "protection_ends_at",
        says=(("answer", N_("The seller's reason: “{value}”")),)),
    "order.completed": OrderNotice(N_("order completed"), PARTIES, "dispute_window_ends",
                                   "dispute_window_ends_at"),
    "order.closed": OrderNotice(N_("the time to open a dispute is over"), (BUYER,)),
    # The buyer cancelled (R36: not told of her own step); her refund e-mails say the money.
    "order.cancelled": OrderNotice(N_("order cancelled; the buyer is refunded in full"), (SELLER,)),
    "payout.made": OrderNotice(N_("payment released to the seller"), (SELLER,)),
    "order.message": OrderNotice(N_("a new message about the order"), PARTIES),
    # Refunds (R20) are told about on their order's page, where their expected dates are.
    "refund.issued": OrderNotice(N_("a refund was issued; the refunds page shows when it lands"),
                                 (BUYER,)),
    "refund.settled": OrderNotice(N_("your refund has arrived"), (BUYER,)),
    "refund.failed": OrderNotice(N_("your refund is delayed; the platform is on it"), (BUYER,)),
}

# Complaints (R24), the seller's standing (R21) and the arbitrators' limits (R15).
TRUST_NOTICES = {
    "complaint.opened": OrderNotice(N_("complaint received"), (BUYER, ARBITRATORS)),
    "complaint.answer": OrderNotice(N_("the platform answered"), (BUYER,)),
    "complaint.grant_goodwill": OrderNotice(N_("the platform grants a goodwill refund"), (BUYER,)),
    "complaint.penalise_seller": OrderNotice(N_("the platform penalised the seller"), (BUYER,)),
    "complaint.close": OrderNotice(N_("complaint closed"), (BUYER,)),
    "complaint.close_after_answer": OrderNotice(N_("complaint closed"), (BUYER,)),
    "complaint.answer_reminder": OrderNotice(N_("reminder: a complaint waits for an answer"), (ARBITRATORS,)),
    "complaint.answer_overdue": OrderNotice(N_("a complaint is past its answer target"), (ARBITRATORS,)),
    "seller.warned": OrderNotice(N_("a warning from the platform"), (SELLER,)),
    "seller.suspended": OrderNotice(N_("your store is suspended: it takes no new orders"), (SELLER,)),
    "seller.reinstated": OrderNotice(N_("your store is reinstated"), (SELLER,)),
    "seller.flagged": OrderNotice(N_("your store is flagged for too many lost disputes"), (SELLER,)),
    "seller.flag_cleared": OrderNotice(N_("the flag on your store is cleared"), (SELLER,)),
    "arbitration.near_limit": OrderNotice(N_("a case is near its review limit"), (ARBITRATORS,),
                                          "review_limit", "review_limit_at"),
}

SUBJECT = {"dispute": N_("Dispute #{id}: {happened}"), "order": N_("Order #{id}: {happened}"),
           "complaint": N_("Complaint #{id}: {happened}"), "seller": N_("Your store: {happened}")}
LINK_LABEL = {"dispute": N_("Open the dispute"), "order": N_("Open the order"),
              "complaint": N_("Open the complaint"), "seller": N_("Open your rating")}
FOOTER = {
    "party": N_("Ombuds buyer protection. You receive this e-mail because you are a party to this order."),
    "staff": N_("Ombuds buyer protection. You receive this e-mail because you are one of the platform's "
                "arbitrators."),
}
NOTHING_SAID = Said()  # a change without a timeline entry of its own

# Changes that put a case in front of the arbitrators (a new escalation, an appeal, a disputed
# return; R36) are the lifecycle rows whose ``tell`` names the arbitrator.


def audience(change: Change, said: Said = NOTHING_SAID) -> tuple[str, ...]:
    """The roles this change is told to. R36: nobody hears of their own action, except the
    receipt of the dispute or complaint they opened; arbitrators hear of a case that reaches
    them (an escalation, an appeal) and of one near its limit."""
    cause = change.cause
    if cause.aggregate == "dispute":
        action = cause.payload.get("action")
        if cause.type == REMINDER:  # R28: only the party the deadline decides against
            return tuple(r for r in PARTIES if r == cause.payload.get("remind"))
        told = tuple(r for r in told_of(cause) if r in PARTIES and (r != said.actor or action == "open"))
        reaches_them = change.result.payload.get("state") == "escalated" and any(
            ARBITRATORS in told_of(e) for e in change.events)
        return told + ((ARBITRATORS,) if reaches_them else ())
    notice = _notice(cause)
    if notice is None:
        return ()
    actor = said.actor or cause.payload.get("author_role") or (
        BUYER if cause.type == "order.completed" and cause.payload.get("by") == BUYER else None)
    if cause.type == "complaint.opened":
        actor = None  # the receipt: what happens next and by when
    return tuple(r for r in notice.to if r != actor)


def _notice(cause: OutboxEvent) -> OrderNotice | None:
    return ORDER_NOTICES.get(cause.type) or TRUST_NOTICES.get(cause.type)


def told_of(event: OutboxEvent) -> tuple[str, ...]:
    """Who hears of a dispute event: the ``tell`` of the lifecycle row that wrote it (the
    parties; the arbitrators when a case reaches them; nobody for the arbitrators' own
    targets, R15). Opening, evidence and the close are not rows: both parties hear of them."""
    p = event.payload
    rows = [t for t in DISPUTES.transitions if t.action.value == p.get("action")]
    applied = [t for t in rows if t.state.value == p.get("from_state") and t.to.value == p.get("state")]
    if not rows:
        return PARTIES
    return tuple(role for role in (*PARTIES, ARBITRATORS) if any(role in t.tell for t in applied or rows))


def parties(change: Change) -> dict[str, int]:
    """Role → user id, as the events carry them."""
    found: dict[str, int] = {}
    for e in change.events:
        for role in PARTIES:
            if e.payload.get(f"{role}_id") is not None:
                found.setdefault(role, int(e.payload[f"{role}_id"]))
    return found


def compose(change: Change, to: Recipient, *, public_url: str,
            sign_in_link: Callable[[str], str] | None = None, said: Said = NOTHING_SAID) -> Mail:
    """The e-mail for one person about one change, in their language. ``sign_in_link`` turns
    the page's path into a link that also signs the reader in (R43, a policy switch); ``said``
    is what the change's timeline entry says (who acted, what they gave, who agreed)."""
    language = supported(to.language)
    gettext = translations(language).gettext
    cause, result = change.cause, change.result
    kind, shown_id, path = _where(cause, to.role)
    todo, outcome, state, deadline_at = _what_next(change, to.role, said)
    date = format_moment(deadline_at, language, to.time_zone) if deadline_at else None
    headline = gettext(SUBJECT[kind]).format(id=shown_id, happened=gettext(_happened(cause)))
    short = gettext(todo[0]).format(date=date) if todo else (gettext(outcome[0]) if outcome else None)
    subject = f"{headline} — {short}" if short else headline
    link = sign_in_link(path) if sign_in_link else f"{public_url.rstrip('/')}{path}"
    context = {
        "name": to.name, "language": language, "headline": headline, "link": link,
        "link_label": gettext(LINK_LABEL[kind]),
        "order_id": result.payload.get("order_id"), "kind": kind,
        "state": gettext(STATE[state]) if state in STATE else None,
        "todo": gettext(todo[1]).format(date=date) if todo else None,
        "todo_html": Markup.escape(gettext(todo[1])).format(date=Markup("<strong>{}</strong>").format(date))
        if todo else None,
        "outcome": gettext(outcome[1]) if outcome else None,
        "details": _substance(cause, said, gettext) + sentences(
            cause.type, cause.aggregate, {**cause.payload, **_closing(change)}, said, gettext=gettext,
            language=language, time_zone=to.time_zone),
        "footer": gettext(FOOTER["staff" if to.role == ARBITRATORS else "party"]),
    }
    env = environment(language)
    return Mail(event=cause, recipient=to, language=language, subject=subject,
                text=env.get_template("notice.txt").render(context),
                html=env.get_template("notice.html").render(context))


def _where(cause: OutboxEvent, role: str) -> tuple[str, int, str]:
    """(kind of thing, its number, the page to link). A refund is told about as part of its
    order; an arbitration alert is about its dispute; a complaint's page is its order's."""
    p = cause.payload
    if cause.aggregate == "dispute" or cause.aggregate == "arbitration":
        dispute_id = p.get("dispute_id") or cause.aggregate_id
        return "dispute", dispute_id, f"/disputes/{dispute_id}"
    if cause.aggregate == "complaint":
        complaint_id = p.get("complaint_id") or cause.aggregate_id
        path = "/arbitration" if role == ARBITRATORS else f"/orders/{p.get('order_id')}/complaint"
        return "complaint", complaint_id, path
    if cause.aggregate == "seller":
        return "seller", cause.aggregate_id, "/rating"
    order_id = p.get("order_id", cause.aggregate_id)
    return "order", order_id, f"/orders/{order_id}"


def _closing(change: Change) -> dict:
    """The state a dispute change left things in (a refund amount is said once it is closed)."""
    r = change.result.payload
    if change.cause.aggregate != "dispute" or r.get("state") != "closed":
        return {}
    return {"state": "closed", "refunded_amount": r.get("refunded_amount")}


def _substance(cause: OutboxEvent, said: Said, gettext) -> list[str]:
    """What the change was, in sentences (R36): the reason given, the days asked or added."""
    notice = ORDER_NOTICES.get(cause.type) if cause.aggregate != "dispute" else None
    if notice is None:
        return []
    return [gettext(sentence).format(value=cause.payload[name]) for name, sentence in notice.says
            if cause.payload.get(name) not in (None, "")]


def _happened(cause: OutboxEvent) -> str:
    if cause.aggregate == "dispute":
        return DISPUTE_HAPPENED[cause.payload.get("action") or ""]  # every action has its words (tested)
    return present(_notice(cause), f"the words of {cause.type}").happened  # every told event has them


AGREED = (N_("you agreed to the verdict"),
          N_("You agreed to the verdict: nothing more to do. It becomes final when the other party "
             "agrees too, or on {date} at the latest."))


def _what_next(change: Change, role: str, said: Said = NOTHING_SAID):
    """(todo texts, outcome texts, state, deadline moment) after the change, for this role."""
    result = change.result
    if result.aggregate in ("dispute", "complaint"):
        p = result.payload
        if p.get("state") == "closed":
            return None, OUTCOME.get(p.get("outcome") or ""), "closed", None
        todo = _todo(p.get("deadline"), role)
        if p.get("deadline") == "reply_by" and role in said.agreed:  # R16: she has replied
            todo = AGREED
        at = datetime.fromisoformat(p["deadline_at"]) if todo and p.get("deadline_at") else None
        return (todo if at else None), None, p.get("state") if result.aggregate == "dispute" else None, at
    cause = change.cause
    notice = _notice(cause)
    if notice and notice.deadline and notice.deadline_field is not None and cause.payload.get(notice.deadline_field):
        return (_todo(notice.deadline, role), None, None,
                datetime.fromisoformat(cause.payload[notice.deadline_field]))
    return None, None, None, None


def _todo(deadline: str | None, role: str) -> tuple[str, str] | None:
    if deadline is None:
        return None
    return DEADLINE_TODO.get((deadline, role)) or DEADLINE_TODO.get((deadline, None))
