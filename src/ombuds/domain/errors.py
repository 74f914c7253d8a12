"""Errors are part of the interface: a stable code, a human message, the field at fault."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

_T = TypeVar("_T")


class DomainError(Exception):
    """A request the rules refuse. ``status`` is the HTTP status the API maps it to."""

    status = 422

    def __init__(self, code: str, message: str, field: str | None = None, **details: object):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.details = details


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str, field: str | None = None):
        super().__init__(f"{what}_not_found", f"No such {what.replace('_', ' ')}.", field)


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    """The thing has moved on: the action does not fit its current state."""

    status = 409


class VersionMismatch(DomainError):
    """R34: the caller acted on a version of the thing it has moved on from (``If-Match``)."""

    status = 412


class DeadlinePassed(Conflict):
    def __init__(self, deadline: str, passed_at: datetime, state: str, message: str):
        super().__init__("deadline_passed", message, None, deadline=deadline,
                         passed_at=passed_at.isoformat(), state=state)


class BrokenInvariant(RuntimeError):
    """A defect, not a request: the data contradicts what the lifecycle guarantees (a state
    entered without the time or the record it implies). Never caught as a refusal: a 500."""


def present(value: _T | None, what: str) -> _T:
    """``value``, which the state it is read in guarantees; :class:`BrokenInvariant` if missing."""
    if value is None:
        raise BrokenInvariant(f"{what} is missing")
    return value
