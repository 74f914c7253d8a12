"""R20: refund windows in business days of the buyer's country, public holidays excluded."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _calendar(country: str, year: int):
    try:
        return holidays.country_holidays(country, years=[year, year + 1])
    except NotImplementedError:  # a country the package does not know: weekends only
        return {}


def is_business_day(day: date, country: str) -> bool:
    return day.weekday() < 5 and day not in _calendar(country, day.year)


def add_business_days(start: date, days: int, country: str) -> date:
    """The ``days``-th business day after ``start`` (0 means ``start`` itself)."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_business_day(day, country):
            remaining -= 1
    return day


def refund_window(issued: date, earliest: int, latest: int, country: str) -> tuple[date, date]:
    return add_business_days(issued, earliest, country), add_business_days(issued, latest, country)
