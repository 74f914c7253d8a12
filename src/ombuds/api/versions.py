"""R34: nobody is bound to what they have not seen — versions on the wire.

- Every dispute and order answer carries its ``version``; this middleware also sends it as a
  strong ``ETag`` (``"7"``), so a client can keep it from any answer, replayed ones included.
- A party action on a dispute or an order sent with ``If-Match: "7"`` applies only to version
  7: the routes read the header through :func:`if_match` (``IfMatch``) and the service compares
  it inside the action's transaction, answering ``412 version_mismatch`` (with the current
  ``version``) when the thing moved on.
"""

from __future__ import annotations

import re
from typing import Annotated

import orjson
from fastapi import Depends, Request

from ombuds.domain.errors import DomainError

VERSIONED = re.compile(r"^/api/v1/(disputes|orders)(/\d+(/[a-z-]+)?)?$")
_TAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


def if_match(request: Request) -> int | None:
    """The version named by ``If-Match`` (``"7"``, ``W/"7"`` or ``7``), or None without one."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    found = _TAG.match(raw)
    if found is None:
        raise DomainError("invalid_if_match", 'Send If-Match with the version you read, e.g. If-Match: "7".',
                          "if-match")
    return int(found.group(1))


IfMatch = Annotated[int | None, Depends(if_match)]


class VersionTags:
    """ASGI middleware: an ``ETag`` from the ``version`` of each dispute or order answer."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not VERSIONED.match(scope["path"]):
            return await self.app(scope, receive, send)
        held: dict = {}

        async def tagging(message):
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                held["start"] = message
                return
            if "start" in held and message["type"] == "http.response.body":
                start = held.pop("start")
                version = _version_of(message.get("body", b"")) if not message.get("more_body") else None
                if version is not None:
                    start = {**start, "headers": [*start.get("headers", []), (b"etag", f'"{version}"'.encode())]}
                await send(start)
            await send(message)

        await self.app(scope, receive, tagging)


def _version_of(body: bytes) -> int | None:
    if not body.startswith(b"{"):
        return None
    try:
        found = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    version = found.get("version") if isinstance(found, dict) else None
    return version if isinstance(version, int) and "id" in found else None
