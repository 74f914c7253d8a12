"""Where time comes from. No other module calls ``datetime.now()``.

The wall clock is for production. The manual clock (demo and tests) keeps its time in
the database, so it lives with the rest of the persistence: ``store/clock_store.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from ombuds.domain.errors import DomainError


class Clock(Protocol):
    manual: bool

    async def now(self) -> datetime: ...

    async def set(self, value: datetime) -> None:
        """Move the clock to ``value``; only a manual clock can (``manual`` says which)."""
        ...


def wall_now() -> datetime:
    return datetime.now(UTC)


class WallClock:
    manual = False

    async def now(self) -> datetime:
        return wall_now()

    async def set(self, value: datetime) -> None:
        raise DomainError("clock_not_manual", "Only a manual clock can be set.", None)
