"""HTTP plumbing for files, shared by the API and the pages: bounded request bodies, serving
content-addressed evidence, and a document to download."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from ombuds.adapters.storage import EvidenceStore


class BodyTooLarge(Exception):
    """The request body is (or grew) larger than the caller allows."""


def bounded(request: Request, limit: int) -> Request:
    """The same request, whose body is refused with ``BodyTooLarge`` as soon as it is declared
    or grows past ``limit`` bytes (a client may not say how big it is, or may lie)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    seen = 0
    receive = request.receive

    async def receive_bounded():
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise BodyTooLarge()
        return message

    return Request(request.scope, receive_bounded)


def evidence_response(store: EvidenceStore, sha256: str, media_type: str, name: str):
    """Serve stored bytes inline. Content-addressed: the bytes behind a name never change, so
    caches may keep them."""
    headers = {"X-Content-Type-Options": "nosniff", "ETag": f'"{sha256}"',
               "Cache-Control": "private, max-age=31536000, immutable"}
    path = store.local_path(sha256)
    if path is not None:
        return FileResponse(path, media_type=media_type, filename=name, headers=headers,
                            content_disposition_type="inline")
    headers["Content-Disposition"] = f'inline; filename="{name}"'
    return StreamingResponse(store.stream(sha256), media_type=media_type, headers=headers)


def pdf_response(pdf: bytes, name: str) -> Response:
    """A PDF to save (the case file, R41), never kept by a cache."""
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
