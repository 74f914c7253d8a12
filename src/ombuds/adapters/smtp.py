"""Sending e-mail over SMTP (aiosmtplib): one connection per batch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

NOT_SENT = "not sent: the batch stopped before it"


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    tls: Literal["starttls", "tls", "none"] = "starttls"  # starttls: upgrade if the server offers it
    timeout: float = 30.0


class SmtpMailer:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def send(self, messages: list[EmailMessage], *,
                   before_each: Callable[[int], Awaitable[bool]] | None = None,
                   after_each: Callable[[int, str | None], Awaitable[None]] | None = None) -> list[str | None]:
        """Send each message; returns, per message, None when the server took it, else why not.

        ``before_each(i)`` may stop the batch before message ``i`` (the rest are reported
        "not sent"); ``after_each(i, result)`` is told each result as soon as it is known."""
        s = self.server
        smtp = aiosmtplib.SMTP(hostname=s.host, port=s.port, username=s.user or None,
                               password=s.password or None, use_tls=s.tls == "tls",
                               start_tls=None if s.tls == "starttls" else False, timeout=s.timeout)
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            return [f"cannot connect to {s.host}:{s.port}: {exc}"] * len(messages)
        results: list[str | None] = []
        try:
            for i, message in enumerate(messages):
                if before_each is not None and not await before_each(i):
                    results += [NOT_SENT] * (len(messages) - len(results))
                    break
                try:
                    await smtp.send_message(message)
                    results.append(None)
                except aiosmtplib.SMTPServerDisconnected as exc:
                    results += [f"server disconnected: {exc}"] * (len(messages) - len(results))
                    break
                except (aiosmtplib.SMTPException, OSError) as exc:
                    results.append(str(exc) or type(exc).__name__)
                if after_each is not None:
                    await after_each(i, results[i])
        finally:
            if smtp.is_connected:
                try:
                    await smtp.quit()
                except (aiosmtplib.SMTPException, OSError):
                    smtp.close()
        return results
