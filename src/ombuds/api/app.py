"""The HTTP API's part of the ASGI app: routers, error handlers, middleware, /metrics.

The app is put together by :mod:`ombuds.bootstrap`, which builds the ``Ombuds`` context,
the lifespan (the in-process loop) and the pages, and hands them in here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from ombuds import __version__
from ombuds.adapters import metrics
from ombuds.adapters.metrics import MetricsMiddleware
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
from ombuds.store.clock_store import RequestInstant

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
InstallPages = Callable[[FastAPI, Settings], None]


def create_api(ombuds: Ombuds, settings: Settings, *, lifespan: Lifespan | None = None,
               install_pages: InstallPages | None = None) -> FastAPI:
    """The app serving the API for ``ombuds``; ``install_pages`` adds the pages after the API's
    routers and before the API's own ``/``, so that the pages' ``/`` wins."""
    app = FastAPI(title="Ombuds", version=__version__, lifespan=lifespan,
                  default_response_class=ORJSONResponse,
                  description="Buyer protection and dispute resolution for online marketplaces.")
    app.state.ombuds = ombuds
    app.state.settings = settings
    errors.install(app)
    errors.document_errors(app)
    for routes in (routes_orders, routes_disputes, routes_money, routes_system,
                   routes_notifications, routes_trust, routes_sign_in,
                   routes_tracking, routes_case_file, routes_dashboard, routes_stripe,
                   routes_protection):  # notifications: webhooks API, /mailbox
        app.include_router(routes.router)
    routes_evidence.install(app, settings)
    if install_pages is not None:
        install_pages(app, settings)  # the pages, /assets, sessions, and their own "/"
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
    async def health() -> dict[str, bool]:
        return {"ok": True}

    return app
