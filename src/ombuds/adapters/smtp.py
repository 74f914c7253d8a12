"""Sending e-mail over SMTP (aiosmtplib): one connection per batch."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib


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

    async def send(self, messages: list[EmailMessage]) -> list[str | None]:
        """Send each message; returns, per message, None when the server took it, else why not."""
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
            for message in messages:
                try:
                    await smtp.send_message(message)
                    results.append(None)
                except aiosmtplib.SMTPServerDisconnected as exc:
                    results += [f"server disconnected: {exc}"] * (len(messages) - len(results))
                    break
                except (aiosmtplib.SMTPException, OSError) as exc:
                    results.append(str(exc) or type(exc).__name__)
        finally:
            if smtp.is_connected:
                try:
                    await smtp.quit()
                except (aiosmtplib.SMTPException, OSError):
                    smtp.close()
        return results
