"""Real receivers for the notification tests: an SMTP server (aiosmtpd) and a webhook
endpoint (an HTTP server in a thread) that verifies Standard Webhooks signatures."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    """Poll ``condition``; fail with ``what`` if it does not hold within ``seconds``."""
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


class SmtpInbox:
    """An SMTP server on a free local port that keeps every message it is handed."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        msg["X-Test-Rcpt-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 Message accepted for delivery"

    def __enter__(self) -> SmtpInbox:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    def to(self, address: str, event_type: str | None = None) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"].addresses[0].addr_spec == address
                and (event_type is None or m["X-Ombuds-Event-Type"] == event_type)]


class WebhookReceiver:
    """Accepts POSTs whose signature verifies with ``secret``; ``answer(tries_of_this_id)``
    gives the status to reply (default 204). ``hold_on`` (a request number) makes that
    request wait until ``release()``, so a test can kill the sender mid-batch."""

    def __init__(self, answer: Callable[[int], int] = lambda tries: 204, hold_on: int | None = None):
        self.secret: str | None = None
        self.answer = answer
        self.hold_on = hold_on
        self.held = threading.Event()
        self._release = threading.Event()
        self.lock = threading.Lock()
        self.tries: Counter[str] = Counter()  # webhook-id → requests seen
        self.accepted: Counter[str] = Counter()  # webhook-id → requests answered 2xx
        self.bodies: dict[str, dict] = {}
        self.bad_signatures = 0
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = receiver._handle(body, dict(self.headers))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        # The default listen backlog (5) resets connections when several dispatchers send at
        # once on a busy machine; a real receiver would have a deeper one.
        server_class = type("Receiver", (ThreadingHTTPServer,), {"request_queue_size": 256})
        self.server = server_class(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.port}/hooks"

    def _handle(self, body: bytes, headers: dict) -> int:
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            with self.lock:
                self.bad_signatures += 1
            return 401
        msg_id = headers.get("webhook-id") or headers.get("Webhook-Id")
        with self.lock:
            self.requests += 1
            number = self.requests
            self.tries[msg_id] += 1
            status = self.answer(self.tries[msg_id])
            if 200 <= status < 300:
                self.accepted[msg_id] += 1
            self.bodies[msg_id] = payload
        if number == self.hold_on:
            self.held.set()
            self._release.wait(30)
        return status

    def release(self) -> None:
        self._release.set()

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def received(self) -> set[str]:
        with self.lock:
            return set(self.tries)
