"""The ASGI application: API routers, error handlers, and (optionally) the in-process loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from ombuds import __version__, web, worker
from ombuds.adapters import metrics
from ombuds.adapters.clock import WallClock, wall_now
from ombuds.adapters.language import get_checker
from ombuds.adapters.metrics import MetricsMiddleware
from ombuds.adapters.payments import SimulatedProvider
from ombuds.api import (
    errors,
    routes_case_file,
    routes_dashboard,
    routes_disputes,
    routes_evidence,
    routes_money,
    routes_notifications,
    routes_orders,
    routes_protection,
    routes_sign_in,
    routes_stripe,
    routes_system,
    routes_tracking,
    routes_trust,
)
from ombuds.api.idempotency import IdempotencyMiddleware
from ombuds.api.responses import FastJSONResponse as ORJSONResponse
from ombuds.api.versions import VersionTags
from ombuds.services.context import Ombuds
from ombuds.settings import Settings
from ombuds.store.clock_store import ManualClock, RequestInstant
from ombuds.store.db import make_engine
from ombuds.store.request_transaction import RequestScopedEngine


def build_ombuds(settings: Settings) -> Ombuds:
    # R35: inside a request sent with an Idempotency-Key, every connection is a view of that
    # request's one transaction (store/request_transaction.py); elsewhere the plain engine.
    engine = RequestScopedEngine(make_engine(settings.database_url, pool_size=settings.pool_size))
    clock = ManualClock(engine, settings.clock_start, wall=wall_now) if settings.clock == "manual" else WallClock()
    return Ombuds(engine=engine, clock=clock, policy=settings.load_policy(),
                  payments=payment_provider(settings))


def payment_provider(settings: Settings):
    """R39: the simulator (default) or Stripe Connect, by setting."""
    if settings.payment_provider == "stripe":
        from ombuds.adapters.stripe_payments import StripeProvider
        return StripeProvider(settings.stripe_api_key, api_base=settings.stripe_api_base)
    return SimulatedProvider()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    ombuds = build_ombuds(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(get_checker)  # R9's detector, built once, before the first request
        try:
            async with worker.in_background(ombuds, worker.for_serve(settings)):  # every loop: worker.py
                yield
        finally:
            await ombuds.engine.dispose()

    app = FastAPI(title="Ombuds", version=__version__, lifespan=lifespan,
                  default_response_class=ORJSONResponse,
                  description="Buyer protection and dispute resolution for online marketplaces.")
    app.state.ombuds = ombuds
    app.state.settings = settings
    errors.install(app)
    errors.document_errors(app)
    for routes in (routes_orders, routes_disputes, routes_money, routes_system,
                   routes_notifications, routes_trust, routes_sign_in,
                   routes_tracking, routes_case_file, routes_dashboard, routes_stripe, routes_protection):  # notifications: webhooks API, /mailbox
        app.include_router(routes.router)
    routes_evidence.install(app, settings)
    web.install(app, settings)  # the pages, /assets, sessions, and its own "/"
    if settings.clock == "manual":
        app.include_router(routes_system.clock_router())
    app.add_middleware(VersionTags)  # inside the idempotency record: a replay carries the ETag
    app.add_middleware(IdempotencyMiddleware)
    if settings.clock == "manual":
        app.add_middleware(RequestInstant)
    app.add_middleware(errors.RefuseNulCharacters)
    app.add_middleware(MetricsMiddleware)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        if not metrics.allowed(request.headers.get("authorization"), settings.metrics_token):
            return ORJSONResponse({"code": "unauthorized", "field": "authorization",
                                   "message": "Send 'Authorization: Bearer <OMBUDS_METRICS_TOKEN>'."},
                                  status_code=401, headers={"WWW-Authenticate": "Bearer"})
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict:
        return {"ok": True}

    return app
