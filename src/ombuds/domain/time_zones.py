"""R33: each person's time zone — an IANA name, by default the main zone of their country.

Pure: zone names and what a moment is on a person's calendar. The zone database is the
system's, or the ``tzdata`` package where the system has none.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache, lru_cache
from typing import TypeGuard
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.core import get_global

# Countries with several zones: where most of their people live (CLDR lists a country's
# zones alphabetically, which for Russia would be Astrakhan).
MAIN_ZONES = {
    "AR": "America/Argentina/Buenos_Aires", "AU": "Australia/Sydney", "BR": "America/Sao_Paulo",
    "CA": "America/Toronto", "CD": "Africa/Kinshasa", "CL": "America/Santiago", "CN": "Asia/Shanghai",
    "DE": "Europe/Berlin", "EC": "America/Guayaquil", "ES": "Europe/Madrid", "ID": "Asia/Jakarta",
    "KZ": "Asia/Almaty", "MN": "Asia/Ulaanbaatar", "MX": "America/Mexico_City", "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland", "PT": "Europe/Lisbon", "RU": "Europe/Moscow", "UA": "Europe/Kyiv",
    "US": "America/New_York", "UZ": "Asia/Tashkent",
}
UTC = "UTC"


@cache
def main_zone(country: str | None) -> str:
    """The zone a person of this country gets unless they chose another (R33)."""
    code = (country or "").upper()
    if code in MAIN_ZONES:
        return MAIN_ZONES[code]
    zones = get_global("territory_zones").get(code) or ()
    return zones[0] if zones else UTC


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_zone(name: str | None) -> TypeGuard[str]:
    return bool(name) and name in known_zones()


@cache
def zone(name: str | None, country: str | None = None) -> ZoneInfo:
    """The person's zone: their own choice, else their country's main zone."""
    for candidate in (name, main_zone(country)):
        if is_zone(candidate):
            try:
                return ZoneInfo(candidate)
            except ZoneInfoNotFoundError:
                continue
    return ZoneInfo(UTC)


def local_date(moment: datetime, name: str | None, country: str | None = None) -> date:
    """The day it is for that person at ``moment`` (R33: a refund's business days start here)."""
    return moment.astimezone(zone(name, country)).date()
