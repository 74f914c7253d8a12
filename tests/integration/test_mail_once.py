"""R36: in normal operation no e-mail is sent twice, however slow the SMTP relay.

Two dispatchers share the queue on PostgreSQL (as two ``ombuds worker`` processes do) and
the relay takes 1.5 s a message, longer in all than a lease. Before, a dispatcher claimed
up to 100 e-mails under one lease and recorded the results after the whole batch, so the
other took the batch over when the lease ran out and sent it again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from ombuds.adapters.smtp import SmtpServer
from ombuds.bootstrap import build_ombuds
from ombuds.services import mail
from ombuds.services.delivery import DispatchConfig
from ombuds.services.users import create_user
from ombuds.store.tables_notify import mail_messages as mm
from tests.conftest import T0, settings_for
from tests.receivers import SmtpInbox

RELAY_SECONDS = 1.5
MESSAGES = 8


class SlowRelay(SmtpInbox):
    """A relay that takes 1.5 s to accept each message, and counts what it accepted."""

    def __init__(self):
        super().__init__()
        self.accepted: list[str] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(RELAY_SECONDS)
        answer = await super().handle_DATA(server, session, envelope)
        with self._lock:
            self.accepted.append(self.messages[-1]["Message-ID"])
        return answer


@pytest.mark.postgres
def test_R36_two_dispatchers_and_a_slow_relay_send_each_email_once(postgres_url):
    with SlowRelay() as relay:
        config = DispatchConfig(smtp=SmtpServer("127.0.0.1", relay.port, tls="none", timeout=2.0),
                                lease=timedelta(seconds=4.5), batch=100)

        async def run() -> tuple[int, float]:
            app = build_ombuds(settings_for(postgres_url))
            try:
                user, _ = await create_user(app, name="Anna", email="anna@example.test", role="buyer",
                                            country="RU")
                async with app.uow() as uow:
                    await uow.conn.execute(insert(mm), [{
                        "event_id": i + 1, "event_type": "order.shipped", "aggregate": "order",
                        "aggregate_id": 1, "user_id": user["id"], "to_address": user["email"],
                        "to_name": "Anna", "language": "en", "subject": f"Message {i}",
                        "text_body": "Shipped.", "html_body": "<p>Shipped.</p>",
                        "message_id": f"<m{i}@ombuds.test>", "status": "pending", "attempts": 0,
                        "next_attempt_at": T0, "created_at": T0} for i in range(MESSAGES)])
                    await uow.commit()

                async def dispatcher():
                    give_up = time.monotonic() + 60
                    while time.monotonic() < give_up:
                        if not await mail.send_due(app, config):
                            async with app.engine.connect() as conn:
                                left = (await conn.execute(select(func.count()).select_from(mm).where(
                                    mm.c.status == "pending"))).scalar()
                            if not left:
                                return
                            await asyncio.sleep(0.1)

                started = time.monotonic()
                await asyncio.gather(dispatcher(), dispatcher())
                async with app.engine.connect() as conn:
                    sent = (await conn.execute(select(func.count()).select_from(mm).where(
                        mm.c.status == "sent"))).scalar()
                return sent, time.monotonic() - started
            finally:
                await app.engine.dispose()

        sent, _seconds = asyncio.run(run())

    assert sent == MESSAGES
    assert sorted(relay.accepted) == sorted(f"<m{i}@ombuds.test>" for i in range(MESSAGES))  # once each
