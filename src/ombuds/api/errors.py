"""Every error is JSON ``{code, message, field}`` (plus details), with a stable code."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from ombuds.api.responses import FastJSONResponse as ORJSONResponse
from starlette.exceptions import HTTPException

from ombuds.domain.errors import DomainError


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
        return ORJSONResponse(error_body("invalid_request", message, field,
                                         problems=[{"field": ".".join(str(p) for p in e["loc"][1:]) or None,
                                                    "message": e["msg"]} for e in exc.errors()]),
                              status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        return ORJSONResponse(error_body(codes.get(exc.status_code, "http_error"), str(exc.detail)),
                              status_code=exc.status_code, headers=getattr(exc, "headers", None))
