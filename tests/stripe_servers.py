"""Stripe-compatible servers for the R39 tests: localstripe (PyPI), a real stateful fake of the
Stripe API started as a process, and a capturing server for the calls localstripe does not
support (transfers) or does not honour (``Idempotency-Key``), so their request shape is checked
at the HTTP boundary."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import stripe

_ids = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def localstripe():
    """``python -m localstripe`` on a free port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "localstripe", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        give_up = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            if process.poll() is not None or time.monotonic() > give_up:
                raise RuntimeError("localstripe did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def paid_intent(url: str, amount: int, currency: str = "usd") -> str:
    """A confirmed PaymentIntent on localstripe, paid by a test card: what checkout leaves."""
    client = stripe.StripeClient("sk_test_ombuds", base_addresses={"api": url}, max_network_retries=0)
    method = client.v1.payment_methods.create({"type": "card", "card": {
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
    intent = client.v1.payment_intents.create({"amount": amount, "currency": currency,
                                               "payment_method": method.id, "confirm": True})
    assert intent.status == "succeeded"
    return intent.id


def refunds_at(url: str, payment_intent: str) -> list:
    client = stripe.StripeClient("sk_test_ombuds", base_addresses={"api": url}, max_network_retries=0)
    return list(client.v1.refunds.list({"payment_intent": payment_intent}).data)


class Captured:
    """Requests the capturing server received: method, path, headers, form body."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_next = 0

    def to(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]


@contextlib.contextmanager
def capturing_stripe():
    """A local HTTP server that answers like Stripe for refunds (``pending``) and transfers, and
    keeps every request; yields (base URL, Captured)."""
    captured = Captured()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            captured.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers),
                                      "form": form})
            if captured.fail_next:
                captured.fail_next -= 1
                return self._answer(500, {"error": {"type": "api_error", "message": "Stripe is down"}})
            n = next(_ids)
            if self.path == "/v1/refunds":
                return self._answer(200, {"id": f"re_cap{n}", "object": "refund", "status": "pending",
                                          "amount": int(form.get("amount", 0)), "currency": "usd"})
            if self.path == "/v1/transfers":
                return self._answer(200, {"id": f"tr_cap{n}", "object": "transfer",
                                          "amount": int(form["amount"]), "currency": form["currency"],
                                          "destination": form["destination"]})
            return self._answer(404, {"error": {"type": "invalid_request_error", "message": "no such path"}})

        def _answer(self, status: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", captured
    finally:
        server.shutdown()
        server.server_close()


def signed_event(secret: str, event: dict, *, at: int | None = None) -> tuple[bytes, dict]:
    """An event body and its ``Stripe-Signature``, as Stripe signs them (t=…, v1=HMAC-SHA256)."""
    body = json.dumps(event).encode()
    at = at or int(time.time())
    signature = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"stripe-signature": f"t={at},v1={signature}", "content-type": "application/json"}


def event(kind: str, obj: dict, event_id: str | None = None) -> dict:
    return {"id": event_id or f"evt_{next(_ids)}_{kind.replace('.', '_')}", "object": "event", "type": kind,
            "api_version": "2024-06-20", "created": int(time.time()), "livemode": False,
            "data": {"object": obj}}
