"""The web pages: buyers, sellers and arbitrators, in English and Russian (DESIGN.md §5).

Server-rendered with Jinja2, working without JavaScript (plain forms and redirects) and
enhanced with htmx, which the app serves itself from ``static/vendor`` with Pico CSS. The
pages call the services directly, as the signed-in user; they never go through the HTTP API.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from ombuds.settings import Settings
from ombuds.web import (
    errors,
    form_files,
    routes_account,
    routes_case_file,
    routes_dashboard,
    routes_dispute_form,
    routes_disputes,
    routes_orders,
    routes_protection,
    routes_sign_in,
    routes_trust,
)
from ombuds.web.pages import WebExit
from ombuds.web.sessions import SessionMiddleware

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, settings: Settings) -> None:
    """Register the pages, their static files and the session cookie on the app.

    The pages' own ``/`` is registered here, before the API's redirect to /docs, so it wins.
    """
    app.mount("/assets", StaticFiles(directory=STATIC), name="web-assets")
    for module in (routes_account, routes_sign_in, routes_case_file, routes_dashboard, routes_orders, routes_protection,
                   routes_dispute_form, form_files, routes_disputes, routes_trust):
        app.include_router(module.router)

    async def web_exit(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, WebExit):  # registered for WebExit only
            raise exc
        return exc.response

    app.add_exception_handler(WebExit, web_exit)
    errors.install(app)  # HTML error pages for people; the API keeps its JSON
    app.add_middleware(SessionMiddleware, ombuds=app.state.ombuds, secret=settings.web_secret_key,
                       max_age=timedelta(days=settings.web_session_days), secure=settings.web_cookie_secure)
