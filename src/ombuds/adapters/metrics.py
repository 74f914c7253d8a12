"""Prometheus metrics (``GET /metrics``): requests, deadlines applied, outbox work.

Each process keeps its own counters (scrape every ``ombuds serve`` and ``ombuds worker``
process); nothing here is state another process needs.
"""

from __future__ import annotations

import hmac
import threading
import time
from http.server import ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from prometheus_client.exposition import MetricsHandler

REQUESTS = Counter("ombuds_http_requests_total", "HTTP requests answered",
                   ["method", "route", "status"])
LATENCY = Histogram("ombuds_http_request_seconds", "Time to answer an HTTP request", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
DEADLINES = Counter("ombuds_sweep_rows_total", "Due rows the sweeper moved on (deadlines, reminders, "
                    "order timers, refunds)")
DISPATCHED = Counter("ombuds_outbox_work_total", "Outbox work done by the dispatcher", ["kind"])
SET_ASIDE = Counter("ombuds_sweep_set_aside_total", "Due rows the sweeper set aside because they failed "
                    "(listed by `ombuds sweeps set-aside`)", ["kind"])
FAILURES = Counter("ombuds_worker_failures_total", "Worker passes that failed and will be retried",
                   ["step"])


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (never by raw path)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), {"code": 500}

        async def recorded(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recorded)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUESTS.labels(scope["method"], route, str(status["code"])).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


def allowed(authorization: str | None, token: str) -> bool:
    """``/metrics`` is open when no token is set; otherwise it needs ``Bearer <token>``."""
    if not token:
        return True
    scheme, _, sent = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.encode(), token.encode())


def serve_in_thread(host: str, port: int, token: str) -> ThreadingHTTPServer:
    """``GET /metrics`` for a process that serves no HTTP otherwise (``ombuds worker``), on a
    daemon thread, behind the same optional bearer token; ``shutdown()`` stops it."""

    class Handler(MetricsHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
            elif not allowed(self.headers.get("Authorization"), token):
                self.send_error(401)
            else:
                super().do_GET()

        def log_message(self, *args) -> None:  # scrapes are not worth a log line each
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
