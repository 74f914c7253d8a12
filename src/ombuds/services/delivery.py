"""What every delivery channel shares: the dispatcher's settings and claiming due rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.utils import parseaddr

from ombuds.adapters.clock import wall_now
from ombuds.adapters.smtp import SmtpServer
from ombuds.services.context import Ombuds
from ombuds.settings import Settings
from ombuds.store import delivery_store
from ombuds.store.delivery_store import Channel, MessageRow


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    public_url: str = "http://127.0.0.1:8000"
    smtp: SmtpServer | None = None  # None: e-mails go to the local mailbox
    mail_from: str = "Ombuds <no-reply@ombuds.invalid>"
    batch: int = 100
    lease: timedelta = timedelta(seconds=120)
    retry_base: timedelta = timedelta(seconds=60)
    retry_max: timedelta = timedelta(hours=6)
    max_attempts: int = 12
    webhook_timeout: float = 10.0
    webhook_concurrency: int = 10
    disable_after_failures: int = 30
    # R43 (policy switch): e-mails to buyers and sellers carry a sign-in link living this long.
    sign_in_link_lifetime: timedelta | None = None

    @classmethod
    def from_settings(cls, s: Settings) -> DispatchConfig:
        smtp = SmtpServer(s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_password, s.smtp_tls,
                          s.smtp_timeout_seconds) if s.smtp_host else None
        return cls(public_url=s.public_url, smtp=smtp, mail_from=s.smtp_from, batch=s.dispatch_batch,
                   lease=timedelta(seconds=s.dispatch_lease_seconds),
                   retry_base=timedelta(seconds=s.delivery_retry_base_seconds),
                   retry_max=timedelta(seconds=s.delivery_retry_max_seconds),
                   max_attempts=s.delivery_max_attempts, webhook_timeout=s.webhook_timeout_seconds,
                   disable_after_failures=s.webhook_disable_after_failures,
                   sign_in_link_lifetime=_email_sign_in_links(s))

    @property
    def sender(self) -> Address:
        name, address = parseaddr(self.mail_from)
        user, _, domain = (address or "no-reply@ombuds.invalid").partition("@")
        return Address(name, user, domain or "ombuds.invalid")

    def retry_delay(self, attempts: int) -> timedelta:
        """Exponential backoff after the ``attempts``-th failed try: base, 2×base, 4×base…"""
        return min(self.retry_base * (2 ** min(attempts - 1, 40)), self.retry_max)


def _email_sign_in_links(s: Settings) -> timedelta | None:
    policy = s.load_policy()
    return timedelta(hours=policy.email_sign_in_link_hours) if policy.sign_in_links_in_emails else None



@dataclass(frozen=True, slots=True)
class Claim:
    """Rows claimed until ``until`` (real time). ``until`` is also the claim's mark: an update
    that checks ``claimed_until = until`` touches only rows this claim still holds."""

    rows: list[MessageRow]
    until: datetime


async def claim(app: Ombuds, channel: Channel, *, now: datetime, limit: int, lease: timedelta) -> Claim:
    """Claim due pending messages of ``channel`` for ``lease`` of real time."""
    until = wall_now() + lease
    return Claim(await claim_due(app, channel, now=now, limit=limit, lease=lease, until=until), until)


async def renew(app: Ombuds, channel: Channel, held: Claim, ids: list[int], lease: timedelta) -> Claim | None:
    """Extend the lease on ``ids`` if this claim still holds every one of them; None if not."""
    until = wall_now() + lease
    async with app.uow() as uow:
        if await delivery_store.renew(uow.conn, channel, ids, held_until=held.until, until=until) != len(ids):
            return None  # some were taken over: leave the rest to whoever holds them
        await uow.commit()
    return Claim(held.rows, until)


async def release(app: Ombuds, channel: Channel, held: Claim, ids: list[int]) -> None:
    """Give back rows this claim still holds, unsent, for the next dispatcher."""
    if ids:
        async with app.uow() as uow:
            await delivery_store.release(uow.conn, channel, ids, held_until=held.until)
            await uow.commit()


async def claim_due(app: Ombuds, channel: Channel, *, now: datetime, limit: int, lease: timedelta,
                    until: datetime | None = None) -> list[MessageRow]:
    """Claim due pending messages of ``channel`` for ``lease`` of real time; returns them."""
    wall = wall_now()
    until = until or wall + lease
    async with app.uow() as uow:
        rows = await delivery_store.claim_due(uow.conn, channel, now=now, wall=wall, until=until, limit=limit,
                                              lock=uow.is_postgres)
        if rows:
            await uow.commit()
    return rows
