"""R43: where a sign-in link may land, and how long it lives.

A link lands on a page of Ombuds itself — a path, never another site — so a link the
marketplace asks for cannot be turned into an open redirect to a phishing page.
"""

from __future__ import annotations

import string
from urllib.parse import urlsplit

from ombuds.domain.errors import DomainError

MAX_LANDING_PAGE = 500
# Paths that are not pages a person lands on: the API, its docs, files, health and metrics.
NOT_PAGES = ("/api/", "/docs", "/openapi.json", "/redoc", "/healthz", "/metrics", "/assets/",
             "/signin", "/signout")
_ALLOWED = set(string.ascii_letters + string.digits + "/-._~%?=&+")


def landing_page(path: str | None, default: str) -> str:
    """The page a link lands on: ``path`` if it is one of Ombuds' own pages, else refused."""
    if path is None or path == "":
        return default
    parts = urlsplit(path)
    ok = (len(path) <= MAX_LANDING_PAGE and path.startswith("/") and not path.startswith("//")
          and not parts.scheme and not parts.netloc and not parts.fragment
          and set(path) <= _ALLOWED and not path.startswith(NOT_PAGES) and "/.." not in path)
    if not ok:
        raise DomainError("invalid_landing_page",
                          "The landing page must be a path on Ombuds' own pages, such as "
                          "/disputes/12 or /orders/34 (no scheme, host, fragment or API path).",
                          "landing_page")
    return path
