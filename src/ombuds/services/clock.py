"""Moving the manual clock: every deadline that falls due runs, in order, before it returns."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from ombuds.domain.errors import DomainError
from ombuds.services.context import Ombuds
from ombuds.services.sweeper import sweep

_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``5d``, ``12h``, ``1d12h``, ``90m``."""
    parts = re.findall(r"(\d+)\s*([wdhms])", text.strip().lower())
    if not parts or "".join(f"{n}{u}" for n, u in parts) != re.sub(r"\s+", "", text.strip().lower()):
        raise DomainError("invalid_duration", "Write a duration like 5d, 12h or 1d12h.", "duration")
    try:
        delta = timedelta(**{_UNITS[u]: int(n) for n, u in parts})
    except OverflowError:
        delta = None
    if delta is None or delta > timedelta(days=36_500):  # R42: bounded, never a 500
        raise DomainError("duration_too_long", "Advance the clock by at most 100 years at a time.", "duration")
    return delta


async def advance(app: Ombuds, delta: timedelta) -> tuple[datetime, int]:
    if not app.clock.manual:
        raise DomainError("clock_not_manual", "Only a manual clock can be advanced.", None)
    if delta < timedelta(0):
        raise DomainError("invalid_duration", "Time only moves forward.", "duration")
    target = await app.now() + delta
    await app.clock.set(target)  # first, so whatever the sweep sets off is stamped with it
    fired = await sweep(app, until=target)
    return target, fired
