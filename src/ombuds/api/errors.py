"""Every error is JSON ``{code, message, field}`` (plus details), with a stable code."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from ombuds.api.responses import FastJSONResponse as ORJSONResponse
from ombuds.domain.errors import DomainError

# Validation errors raised by our own types (api/schemas.py) keep their code.
OWN_CODES = {"text_required", "invalid_country", "amount_out_of_range", "nul_character", "duration_too_long"}


def error_body(code: str, message: str, field: str | None = None, **details) -> dict:
    return {"code": code, "message": message, "field": field, **details}


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        return ORJSONResponse(error_body(exc.code, exc.message, exc.field, **exc.details),
                              status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        if first["loc"] and first["loc"][0] == "path":  # R42: an id in the path that cannot exist
            return ORJSONResponse(error_body("not_found", "No such thing.", None), status_code=404)
        loc = [str(p) for p in first["loc"] if p not in ("body", "query", "path", "header")]
        field = ".".join(loc) or None
        message = first["msg"]
        if first["type"] == "json_invalid":
            field, message = None, "The request body is not valid JSON."
        elif first["type"] == "missing" and field is None:
            message = "This request needs a JSON body."
        elif first["type"] == "missing":
            message = f"'{field}' is required."
        elif field:
            message = f"'{field}': {message}"
        code = first["type"] if first["type"] in OWN_CODES else "invalid_request"
        return ORJSONResponse(error_body(code, message, field,
                                         problems=[{"field": ".".join(str(p) for p in e["loc"][1:]) or None,
                                                    "message": e["msg"]} for e in exc.errors()]),
                              status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if exc.status_code == 400:  # a body that cannot be parsed (not UTF-8, broken multipart)
            return ORJSONResponse(error_body("invalid_request", "The request body cannot be read: "
                                             f"{exc.detail}.", None), status_code=422)
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        return ORJSONResponse(error_body(codes.get(exc.status_code, "http_error"), str(exc.detail)),
                              status_code=exc.status_code, headers=getattr(exc, "headers", None))


class RefuseNulCharacters:
    """R42: a NUL character in a URL is never meaningful; databases refuse it in text, so it is
    answered here, before any route runs (404 in the path, 422 in the query)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope.get("raw_path") or scope["path"].encode()
            query = scope.get("query_string", b"")
            status = 404 if _has_nul(path) or "\x00" in scope["path"] else 422 if _has_nul(query) else 0
            if status:
                body = error_body("not_found", "No such thing.") if status == 404 else error_body(
                    "nul_character", "NUL characters are not allowed.", None)
                response = ORJSONResponse(body, status_code=status)
                return await response(scope, receive, send)
        return await self.app(scope, receive, send)


def _has_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw.lower()


PUBLIC = {"/api/v1/policy", "/api/v1/lifecycle", "/api/v1/clock", "/api/v1/evidence/limits"}
_WHY = {401: "No token, or not a valid one.", 403: "The caller may never do this.",
        404: "No such thing, or not the caller's (an id that cannot exist too).",
        409: "The thing has moved on; the body says where it is now.",
        412: "If-Match named a version the thing has moved on from.",
        413: "The file is larger than evidence may be.", 415: "The file is not an accepted type.",
        422: "The request is wrong: the body says which field and why.",
        503: "The change could not be saved (a keyed request): send it again with the same key."}
ERROR_SCHEMA = {"type": "object", "required": ["code", "message", "field"], "additionalProperties": True,
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "field": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}


def statuses_of(path: str, method: str) -> set[int]:
    """The error statuses an operation can answer, by what it is: every one is documented."""
    if path in PUBLIC:
        return {422} if method != "get" else set()
    found = {401, 403, 422}
    if "{" in path:
        found.add(404)
    if method in ("post", "put", "patch", "delete"):
        found |= {404, 409, 503}
    if method == "post" and re.match(r"^/api/v1/(disputes|orders)/\{\w+\}/[a-z-]+$", path):
        found.add(412)  # If-Match (R34)
    if path.endswith("/evidence") and method == "post":
        found |= {413, 415}
    return found


def document_errors(app: FastAPI) -> None:
    """Every status an operation really answers is in the OpenAPI description, with the error
    body's schema (FastAPI alone lists only success and its own 422 shape)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in sorted(statuses_of(path, method)):
                    responses[str(status)] = {"description": _WHY[status], "content": body}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
