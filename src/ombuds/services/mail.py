"""E-mail to the parties (R23, R28): queued from the outbox, sent over SMTP with retries, or
kept in the local mailbox when no SMTP server is configured (the embedded default)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import structlog

from ombuds.adapters.clock import wall_now
from ombuds.adapters.smtp import NOT_SENT, SmtpMailer
from ombuds.domain.errors import NotFound
from ombuds.domain.time_zones import zone
from ombuds.emails.notices import (
    ARBITRATORS,
    REMINDER,
    Change,
    OutboxEvent,
    Recipient,
    audience,
    changes,
    compose,
    parties,
)
from ombuds.emails.substance import Said
from ombuds.services import sign_in_links
from ombuds.services.context import Ombuds
from ombuds.services.delivery import DispatchConfig, claim, release, renew
from ombuds.store import mail_store
from ombuds.store.delivery_store import Channel, MessageRow
from ombuds.store.mail_store import LOCAL, MailRow, Person
from ombuds.store.uow import Connection

log = structlog.get_logger("ombuds.mail")

PENDING, SENT, FAILED = "pending", "sent", "failed"
MAIL: Channel = "mail"


async def queue(conn: Connection, events: list[OutboxEvent], *, now: datetime, config: DispatchConfig) -> int:
    """Within the fan-out transaction: one message per party concerned per change."""
    grouped = changes(events)
    roles = await _parties(conn, grouped)
    said = await _said(conn, grouped)
    told = [audience(change, s) for change, s in zip(grouped, said, strict=True)]
    people = await _people(conn, {i for r in roles for i in r.values()})
    arbitrators = await mail_store.arbitrators(conn) if any(ARBITRATORS in t for t in told) else []
    status = PENDING if config.smtp is not None else LOCAL
    sender = config.sender
    rows: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for change, ids, s, to in zip(grouped, roles, said, told, strict=True):
        readers = [(role, person) for role in to for person in (
            arbitrators if role == ARBITRATORS else [_reader(people, ids, role)]) if person is not None]
        for role, person in readers:
            m = compose(change, Recipient(person.id, role, person.name, person.email, person.language,
                                          str(zone(person.time_zone, person.country))),
                        public_url=config.public_url, said=s,
                        # R43: staff sign in with passwords; their e-mails link to the page only
                        sign_in_link=None if role == ARBITRATORS else _sign_in_links(config, person.id, now, links))
            rows.append({
                "event_id": m.event.id, "event_type": m.event.type, "aggregate": m.event.aggregate,
                "aggregate_id": m.event.aggregate_id, "user_id": person.id, "to_address": person.email,
                "to_name": person.name, "language": m.language, "subject": m.subject,
                "text_body": m.text, "html_body": m.html,
                "message_id": f"<{m.event.public_id}.u{person.id}@{sender.domain}>", "status": status,
                "attempts": 0, "next_attempt_at": now if status == PENDING else None,
                "created_at": now})
    if rows:
        await mail_store.add_messages(conn, rows)
    await sign_in_links.record_links(conn, links)
    return len(rows)


def _reader(people: dict[int, Person], ids: dict[str, int], role: str) -> Person | None:
    """The party in ``role``, if the change has one and they are found."""
    user_id = ids.get(role)
    return None if user_id is None else people.get(user_id)


def _sign_in_links(config: DispatchConfig, user_id: int, now: datetime,
                   links: list[dict[str, Any]]) -> Callable[[str], str] | None:
    """R43 (policy switch): the e-mail's link also signs its reader in, once."""
    lifetime = config.sign_in_link_lifetime
    if lifetime is None:
        return None

    def link(path: str) -> str:
        secret = sign_in_links.new_secret()
        links.append(sign_in_links.link_row(secret, user_id=user_id, landing_page=path, now=now,
                                            lifetime=lifetime,
                                            issued_for=sign_in_links.EMAIL))
        return sign_in_links.link_url(config.public_url, secret)
    return link


async def _parties(conn: Connection, grouped: list[Change]) -> list[dict[str, int]]:
    """Role → user id for each change. Order events do not carry the parties; the order does."""
    order_ids = {c.cause.aggregate_id for c in grouped if c.cause.aggregate == "order"}
    of_order = await mail_store.parties_of_orders(conn, order_ids) if order_ids else {}
    return [{**(of_order.get(c.cause.aggregate_id, {}) if c.cause.aggregate == "order" else {}), **parties(c)}
            for c in grouped]


async def _said(conn: Connection, grouped: list[Change]) -> list[Said]:
    """For each change, what its timeline entry says (R36): who acted, so that they are not
    told of their own action; what they gave (a verdict's amount, a message); and, for a
    verdict on the table, which parties have agreed to it (R16) — as of the change."""
    wanted = {"dispute": {c.cause.aggregate_id for c in grouped
                          if c.cause.aggregate == "dispute" and c.cause.type != REMINDER},
              "complaint": {c.cause.aggregate_id for c in grouped if c.cause.aggregate == "complaint"}}
    entries = await mail_store.timeline_entries(conn, disputes=wanted["dispute"], complaints=wanted["complaint"])
    found = []
    for change in grouped:
        cause = change.cause
        rows = [r for r in entries.get((cause.aggregate, cause.aggregate_id), []) if r.at <= cause.created_at]
        action = cause.payload.get("action")
        own = next((r for r in reversed(rows) if r.action == action and r.at == cause.created_at), None)
        agreed: set[str] = set()
        for r in rows:  # since the verdict now on the table
            if r.action == "decide":
                agreed.clear()
            elif r.action == "agree_verdict":
                agreed.add(r.actor)
        found.append(Said(own.actor, dict(own.details or {}), frozenset(agreed)) if own
                     else Said(agreed=frozenset(agreed)))
    return found


async def _people(conn: Connection, ids: set[int]) -> dict[int, Person]:
    if not ids:
        return {}
    return await mail_store.people(conn, ids)


def as_email(row: MessageRow, config: DispatchConfig) -> EmailMessage:
    """The MIME message for a queued row: plain text and HTML, with the event's id."""
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = Address(row.to_name, addr_spec=row.to_address)
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = row.message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Ombuds-Event-Id"] = f"evt_{row.event_id}"
    msg["X-Ombuds-Event-Type"] = row.event_type
    msg.set_content(row.text_body)
    msg.add_alternative(row.html_body, subtype="html")
    msg["Content-Language"] = row.language  # after the parts: setting content clears Content-*
    return msg


async def send_due(app: Ombuds, config: DispatchConfig) -> int:
    """Send one claim of due e-mails over SMTP; failures are retried with backoff (R36).

    In normal operation no e-mail is sent twice: a claim is sized to its lease (each message
    may take up to the SMTP timeout), the lease is renewed before it could run out under a
    message, each result is recorded as soon as the server answers, and a message whose claim
    was lost is not sent. A crash repeats at most the message in flight, after its lease.
    """
    smtp = config.smtp
    if smtp is None:  # nothing is sent without a server: e-mails are kept in the local mailbox
        return 0
    now = await app.now()
    per_message = timedelta(seconds=smtp.timeout)
    limit = max(1, min(config.batch, int(config.lease / per_message)))
    held = await claim(app, MAIL, now=now, limit=limit, lease=config.lease)
    rows = held.rows
    if not rows:
        return 0

    async def before_each(i: int) -> bool:
        nonlocal held
        if wall_now() + per_message < held.until:
            return True
        renewed = await renew(app, MAIL, held, [r.id for r in rows[i:]], config.lease)
        if renewed is None:
            log.warning("mail_claim_lost", first=rows[i].id)
            return False
        held = renewed
        return True

    recorded: set[int] = set()

    async def after_each(i: int, error: str | None) -> None:
        await _record(app, rows[i], error, now=now, config=config)
        recorded.add(i)

    results = await SmtpMailer(smtp).send([as_email(r, config) for r in rows],
                                                 before_each=before_each, after_each=after_each)
    # Not sent because the claim was lost: give back what this claim still holds. Not tried
    # because the server could not be reached or went away: a failed try, retried with backoff.
    await release(app, MAIL, held, [r.id for r, result in zip(rows, results, strict=True) if result is NOT_SENT])
    for i, (row, result) in enumerate(zip(rows, results, strict=True)):
        if i not in recorded and result is not NOT_SENT:
            await _record(app, row, result, now=now, config=config)
    return sum(1 for result in results if result is not NOT_SENT)


async def _record(app: Ombuds, row: MessageRow, error: str | None, *, now: datetime, config: DispatchConfig) -> None:
    """One message's result, in its own transaction, as soon as the server has answered."""
    attempts = row.attempts + 1
    if error is None:
        values = {"status": SENT, "sent_at": now, "next_attempt_at": None}
    elif attempts >= config.max_attempts:
        values = {"status": FAILED, "next_attempt_at": None, "last_error": error}
        log.warning("mail_gave_up", message=row.id, to=row.to_address, error=error)
    else:
        values = {"next_attempt_at": now + config.retry_delay(attempts), "last_error": error}
    async with app.uow() as uow:
        await mail_store.record_result(uow.conn, row.id, pending=PENDING, attempts=attempts, **values)
        await uow.commit()


# The local mailbox (no SMTP server configured) ----------------------------------------

async def mailbox(app: Ombuds, *, limit: int = 200) -> list[MailRow]:
    """The messages kept, newest first; each with the moment its change happened."""
    return await mail_store.mailbox(app.engine, limit=limit)


async def mailbox_message(app: Ombuds, message_id: int) -> MailRow:
    row = await mail_store.mailbox_message(app.engine, message_id)
    if row is None:
        raise NotFound("message")
    return row
