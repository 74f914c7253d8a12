"""Everyone hears at once (R23, R28, DESIGN.md §5): e-mail over real SMTP, the local mailbox,
reminders, and signed webhooks with retries — all from the transactional outbox."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ombuds.bootstrap import create_app
from ombuds.emails.catalogue import translations
from ombuds.services.dispatch import DispatchConfig, drain
from ombuds.store.tables import outbox, users
from ombuds.store.tables_notify import mail_messages
from tests.conftest import MARKETPLACE_KEY, T0, settings_for
from tests.factories import Marketplace, Person
from tests.receivers import SmtpInbox, WebhookReceiver

OPENED_AT = T0
RESPOND_BY = T0 + timedelta(days=5)  # R12: 2026-03-07 09:00 UTC (R33: each reads it in their zone)


@pytest.fixture
def inbox():
    with SmtpInbox() as box:
        yield box


def _market(url: str, **settings) -> tuple[TestClient, Marketplace]:
    client = TestClient(create_app(settings_for(url, **settings)), raise_server_exceptions=True)
    return client, Marketplace(client, MARKETPLACE_KEY)


@pytest.fixture
def smtp_market(database_url, inbox):
    """The marketplace with an SMTP server configured: e-mails leave over SMTP."""
    client, market = _market(database_url, smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_tls="none")
    with client:
        yield market


def dispatch(market: Marketplace):
    """Run the dispatcher (as the worker does) until nothing is due now."""
    app = market.client.app
    return market.client.portal.call(drain, app.state.ombuds, DispatchConfig.from_settings(app.state.settings))


def query(market: Marketplace, statement):
    async def run():
        async with market.client.app.state.ombuds.engine.connect() as conn:
            return (await conn.execute(statement)).all()
    return market.client.portal.call(run)


def email_of(market: Marketplace, person: Person) -> str:
    return query(market, select(users.c.email).where(users.c.id == person.id))[0][0]


def parts(msg: EmailMessage) -> tuple[str, str]:
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def the_one(messages: list[EmailMessage]) -> EmailMessage:
    assert len(messages) == 1, [m["Subject"] for m in messages]
    return messages[0]


# E-mail (R23) ---------------------------------------------------------------------------

def test_seller_silence_story_emails_each_party_in_their_language_with_the_deadline(smtp_market, inbox):
    market = smtp_market
    buyer, seller = market.buyer(language="ru"), market.seller()
    buyer_email, seller_email = email_of(market, buyer), email_of(market, seller)
    order = market.order(buyer, seller, [(1850, 1), (1850, 1), (300, 1)])
    d = market.open_dispute(buyer, order)
    dispatch(market)

    # The seller is told, in English, what to do by when (R12), with a link to the dispute.
    to_seller = the_one(inbox.to(seller_email, "dispute.opened"))
    assert to_seller["Subject"] == f"Dispute #{d['id']}: dispute opened — respond by 7 March 2026, 17:00 +0800"
    assert to_seller["Content-Language"] == "en"
    text, html = parts(to_seller)
    link = f"http://127.0.0.1:8000/disputes/{d['id']}"
    assert "Accept, reject or propose another solution by 7 March 2026, 17:00 +0800" in text
    assert link in text and f'href="{link}"' in html
    assert "<strong>7 March 2026, 17:00 +0800</strong>" in html
    assert re.fullmatch(r"evt_\d+", to_seller["X-Ombuds-Event-Id"])

    # The buyer wrote her profile in Russian: her e-mail is Russian, same deadline.
    to_buyer = the_one(inbox.to(buyer_email, "dispute.opened"))
    assert to_buyer["Subject"] == (f"Спор №{d['id']}: открыт спор — продавец должен ответить "
                                   "до 7 марта 2026, 12:00 +0300")
    assert to_buyer["Content-Language"] == "ru"
    text, html = parts(to_buyer)
    assert "Продавец должен ответить до 7 марта 2026, 12:00 +0300" in text and link in text
    assert "Открыть спор" in html
    assert to_buyer["X-Ombuds-Event-Id"] == to_seller["X-Ombuds-Event-Id"]

    # Five days of silence: the dispute closes in her favour (R12); both hear it once.
    market.advance("5d")
    dispatch(market)
    closed_for_buyer = [m for m in inbox.to(buyer_email) if "продавец не ответил вовремя" in m["Subject"]]
    closed_for_seller = [m for m in inbox.to(seller_email) if "the seller did not respond in time" in m["Subject"]]
    assert the_one(closed_for_buyer)["Subject"] == (
        f"Спор №{d['id']}: продавец не ответил вовремя — деньги возвращены полностью")
    assert the_one(closed_for_seller)["Subject"] == (
        f"Dispute #{d['id']}: the seller did not respond in time — refunded in full")
    assert "Статус: закрыт." in parts(closed_for_buyer[0])[0]
    # Each message went to its own addressee, once.
    assert all(m["X-Test-Rcpt-To"] == m["To"].addresses[0].addr_spec for m in inbox.messages)
    ids = [(m["X-Ombuds-Event-Id"], m["To"].addresses[0].addr_spec) for m in inbox.messages]
    assert len(ids) == len(set(ids))


def test_order_emails_reach_the_buyer_with_the_protection_end(smtp_market, inbox):
    market = smtp_market
    buyer, seller = market.buyer(), market.seller()
    market.order(buyer, seller)
    dispatch(market)
    shipped = the_one(inbox.to(email_of(market, buyer), "order.shipped"))
    assert "protection runs until 1 May 2026, 12:00 +0300" in shipped["Subject"]  # R2: 60 days
    assert not inbox.to(email_of(market, seller), "order.shipped")


def test_without_smtp_emails_wait_in_the_local_mailbox(market):
    buyer, seller = market.buyer(language="ru"), market.seller()
    order = market.order(buyer, seller)
    d = market.open_dispute(buyer, order)
    dispatch(market)

    page = market.client.get("/mailbox")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    subjects = re.findall(r'<a href="/mailbox/(\d+)"[^>]*>([^<]+)</a>', page.text)
    assert subjects, page.text
    newest_first = [int(i) for i, _ in subjects]
    assert newest_first == sorted(newest_first, reverse=True)
    assert f"Dispute #{d['id']}: dispute opened — respond by 7 March 2026, 17:00 +0800" in [s for _, s in subjects]

    russian = next(i for i, s in subjects if s.startswith(f"Спор №{d['id']}"))
    message = market.client.get(f"/mailbox/{russian}")
    assert message.status_code == 200
    assert "Продавец должен ответить до 7 марта 2026, 12:00 +0300" in message.text
    assert market.client.get("/mailbox/999999").status_code == 404


# Reminders (R28) ----------------------------------------------------------------------

def test_the_seller_is_reminded_once_24_hours_before_respond_by(smtp_market, inbox):
    market = smtp_market
    buyer, seller = market.buyer(), market.seller()
    d = market.open_dispute(buyer, market.order(buyer, seller))
    seller_email = email_of(market, seller)

    market.advance("3d")
    dispatch(market)
    assert not inbox.to(seller_email, "dispute.deadline_reminder")

    market.advance("1d")  # now 24 h before respond_by
    dispatch(market)
    market.advance("12h")
    dispatch(market)

    reminder = the_one(inbox.to(seller_email, "dispute.deadline_reminder"))
    assert reminder["Subject"] == (f"Dispute #{d['id']}: reminder: a deadline is near — "
                                   "respond by 7 March 2026, 17:00 +0800")
    assert reminder["Date"].datetime == RESPOND_BY - timedelta(hours=24)
    assert not inbox.to(email_of(market, buyer), "dispute.deadline_reminder")  # not against her


# Webhooks ------------------------------------------------------------------------------

def test_webhooks_are_signed_retried_with_backoff_and_accepted_once_per_event(market):
    with WebhookReceiver(answer=lambda tries: 204 if tries >= 3 else 503) as receiver:
        endpoint = market.platform.post("/webhooks", {"url": receiver.url, "event_types": ["dispute.*"]},
                                        expect=201)
        receiver.secret = endpoint["secret"]
        buyer, seller = market.buyer(), market.seller()
        d = market.open_dispute(buyer, market.order(buyer, seller))

        dispatch(market)  # try 1 fails
        dispatch(market)  # the retry is not due yet: backoff is data, nobody sleeps
        assert sum(receiver.tries.values()) == 1
        market.advance("1m")
        dispatch(market)  # try 2 fails
        market.advance("2m")
        dispatch(market)  # try 3 is accepted
        market.advance("1h")
        dispatch(market)  # nothing more to send

    log = market.platform.get(f"/webhooks/{endpoint['id']}/deliveries")["items"]
    assert [x["event_type"] for x in log] == ["dispute.opened"]  # order.* was not asked for
    delivery = log[0]
    assert receiver.bad_signatures == 0
    assert receiver.accepted == {delivery["event_id"]: 1}
    assert receiver.tries == {delivery["event_id"]: 3}
    assert receiver.bodies[delivery["event_id"]]["data"]["dispute_id"] == d["id"]
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 3
    at = [t["attempted_at"] for t in delivery["tries"]]
    nxt = [t["next_attempt_at"] for t in delivery["tries"]]
    minute = timedelta(minutes=1)
    assert at == [T0.isoformat(), (T0 + minute).isoformat(), (T0 + 3 * minute).isoformat()]
    assert nxt == [(T0 + minute).isoformat(), (T0 + 3 * minute).isoformat(), None]  # 1 min, then 2
    assert [t["status_code"] for t in delivery["tries"]] == [503, 503, 204]


def test_an_endpoint_failing_too_often_is_disabled_and_the_operator_told(database_url):
    client, market = _market(database_url, webhook_disable_after_failures=3)
    with client, WebhookReceiver(answer=lambda tries: 500) as failing, WebhookReceiver() as operator:
        broken = market.platform.post("/webhooks", {"url": failing.url, "event_types": ["order.*"]},
                                      expect=201)
        watcher = market.platform.post("/webhooks", {"url": operator.url,
                                                     "event_types": ["webhook.endpoint_disabled"]}, expect=201)
        failing.secret, operator.secret = broken["secret"], watcher["secret"]
        market.order(market.buyer(), market.seller())  # order.paid, order.shipped
        dispatch(market)
        market.advance("1m")
        dispatch(market)

        endpoint = market.platform.get(f"/webhooks/{broken['id']}")
        assert endpoint["enabled"] is False and "3 deliveries in a row failed" in endpoint["disabled_reason"]
        told = [b for b in operator.bodies.values() if b["type"] == "webhook.endpoint_disabled"]
        assert len(told) == 1 and told[0]["data"]["webhook_endpoint_id"] == broken["id"]
        # Nothing more goes to a disabled endpoint (a try already in flight may still land).
        tried = sum(failing.tries.values())
        market.order(market.buyer(), market.seller())
        market.advance("1h")
        dispatch(market)
        assert sum(failing.tries.values()) == tried
        assert {x["status"] for x in market.platform.get(f"/webhooks/{broken['id']}/deliveries")["items"]} \
            == {"failed"}


def test_webhook_endpoints_are_the_marketplaces_and_their_secret_is_shown_once(market):
    created = market.platform.post("/webhooks", {"url": "https://hooks.example.test/ombuds",
                                                 "event_types": ["dispute.*", "order.shipped"]}, expect=201)
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]+", created["secret"])
    listed = market.platform.get("/webhooks")["items"]
    assert [e["id"] for e in listed] == [created["id"]] and "secret" not in listed[0]
    buyer = market.buyer()
    assert buyer.post("/webhooks", {"url": "https://x.test", "event_types": ["*"]}, expect=403).json()["code"] \
        == "marketplace_only"
    bad = market.platform.post("/webhooks", {"url": "https://x.test", "event_types": ["Dispute Opened"]},
                               expect=422).json()
    assert bad["code"] == "invalid_event_type" and bad["field"] == "event_types.0"
    assert market.client.delete(f"/api/v1/webhooks/{created['id']}", headers=market.platform.headers
                                ).status_code == 204
    assert market.platform.get("/webhooks")["items"] == []
    assert market.platform.get(f"/webhooks/{created['id']}", expect=404).json()["code"] \
        == "webhook_endpoint_not_found"


# The outbox ----------------------------------------------------------------------------

def test_a_change_that_rolled_back_sends_nothing(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    ombuds = market.client.app.state.ombuds
    with WebhookReceiver() as receiver:
        receiver.secret = market.platform.post("/webhooks", {"url": receiver.url, "event_types": ["*"]},
                                               expect=201)["secret"]
        dispatch(market)
        before = receiver.received()

        async def confirm_then_fail():
            now = await ombuds.now()
            async with ombuds.uow() as uow:
                o = await uow.repo.get_order(order["id"], lock=True)
                o.confirm_receipt(now=now, policy=ombuds.policy)
                await uow.repo.save_order(o, now)  # writes order.completed to the outbox…
                written = (await uow.conn.execute(select(func.count()).select_from(outbox)
                                                  .where(outbox.c.type == "order.completed"))).scalar()
                assert written == 1
                # …and the transaction ends without commit: rolled back.
        market.client.portal.call(confirm_then_fail)
        dispatch(market)

        assert receiver.received() == before
        assert not [b for b in receiver.bodies.values() if b["type"] == "order.completed"]
    assert query(market, select(mail_messages.c.id).where(mail_messages.c.event_type == "order.completed")) == []
    assert market.platform.order(order["id"])["state"] == "shipped"


def test_every_email_text_has_a_russian_translation():
    root = Path(__import__("ombuds.emails", fromlist=["x"]).__file__).parent
    ru = translations("ru")
    missing = [msg for _, _, msg, _, _ in extract_from_dir(
        str(root), method_map=[("**.py", "python"), ("**/templates/**", "jinja2")],
        keywords={"N_": None, "_": None}) if ru.gettext(msg) == msg]
    assert missing == []
