"""Error pages for people: a mistyped address, ``/disputes/abc``, a method a page does not
take — in the reader's language, with a way back. The API keeps its JSON errors
(``ombuds.api.errors``); only requests for pages get HTML."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from ombuds.web.sessions import SKIP_PREFIXES
from ombuds.wording.i18n import N_

NOT_PAGES = (*SKIP_PREFIXES, "/assets/")

TITLES = {
    404: (N_("Not found"), N_("There is nothing here — or it is not yours to see. Check the address, or start "
                              "again from your own pages.")),
    405: (N_("Not possible here"), N_("This address does not take that kind of request. Start again from your "
                                      "own pages.")),
}
OTHER = (N_("Something went wrong"), N_("The page could not be shown. Start again from your own pages."))


def wants_page(request: Request) -> bool:
    """A person's browser asking for a page, not an API client."""
    if request.url.path.startswith(NOT_PAGES):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "*/*" in accept or not accept


async def _answered(answer: Response | Awaitable[Response]) -> Response:
    """What the API's own handler answers, whether it is async or not."""
    return await answer if inspect.isawaitable(answer) else answer


def install(app: FastAPI) -> None:
    """Wrap the API's handlers for unknown addresses and malformed path parameters."""
    from ombuds.web.pages import get_page

    json_http = app.exception_handlers[HTTPException]
    json_invalid = app.exception_handlers[RequestValidationError]

    async def page_error(request: Request, status: int) -> Response:
        page = await get_page(request)
        title, message = TITLES.get(status, OTHER)
        return page.render("error.html", status=status, title=page._(title), message=page._(message))

    async def http_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and wants_page(request) and exc.status_code in (404, 405):
            return await page_error(request, exc.status_code)
        return await _answered(json_http(request, exc))

    async def invalid_request(request: Request, exc: Exception) -> Response:
        # A page's path or query that does not parse (``/disputes/abc``) names nothing: 404.
        if wants_page(request) and request.method in ("GET", "HEAD"):
            return await page_error(request, 404)
        return await _answered(json_invalid(request, exc))

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
