"""English and Russian for the pages: Babel catalogues, and numbers, money and dates per locale.

The catalogues are ``i18n/<lang>/LC_MESSAGES/messages.po``. They are compiled in memory on
first use (Babel reads the .po and writes the .mo into a buffer), so a fresh
``pip install -e .`` needs no build step and a changed .po is picked up on restart.
Source strings are English; ``messages.pot`` is extracted with ``pybabel`` (see
docs/web.md).
"""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from pathlib import Path

import structlog
from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone, get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.units import format_unit

from ombuds.domain.money import precision
from ombuds.domain.time_zones import zone

Moment = datetime  # in the class below, ``datetime`` is the method
LANGUAGES = ("en", "ru")
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}
CATALOGUES = Path(__file__).parent / "i18n"
DOMAIN = "messages"
log = structlog.get_logger("ombuds.web")


def N_(text: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return text


@cache
def translations(lang: str) -> gettext.NullTranslations:
    po = CATALOGUES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not po.exists():
        return gettext.NullTranslations()
    with open(po, "rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def pick_language(*candidates: str | None) -> str:
    for c in candidates:
        if c:
            c = c.strip().lower()[:2]
            if c in LANGUAGES:
                return c
    return "en"


def from_accept_language(header: str | None) -> str | None:
    """The first supported language of an Accept-Language header, by weight."""
    if not header:
        return None
    weighted = []
    for i, part in enumerate(header.split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        weighted.append((-weight, i, tag.strip().lower()[:2]))
    for _, _, tag in sorted(weighted):
        if tag in LANGUAGES:
            return tag
    return None


class Formatter:
    """Money, dates and durations in one locale; every page gets one."""

    def __init__(self, lang: str, time_zone: str = "UTC"):
        self.lang = lang
        self.t = translations(lang)
        self.locale = Locale.parse(lang)
        self.time_zone = time_zone
        self.zone = zone(time_zone)  # R33: times are shown where the reader lives

    def lookup(self, text: str) -> str:
        """The text in this language. A text the catalogue lacks is shown in English and
        logged (``web.untranslated``), so a missing translation is seen, never silent."""
        out = self.t.gettext(text)
        if out is text and text and self.lang != "en":
            log.warning("web.untranslated", lang=self.lang, text=text[:80])
        return out

    def lookup_plural(self, singular: str, plural: str, n: int) -> str:
        if self.lang != "en" and (singular, 0) not in getattr(self.t, "_catalog", {}):
            log.warning("web.untranslated", lang=self.lang, text=singular[:80])
        return self.t.ngettext(singular, plural, n)

    def gettext(self, text: str, **values) -> str:
        out = self.lookup(text)
        return out % values if values else out

    def ngettext(self, singular: str, plural: str, n: int, **values) -> str:
        return self.lookup_plural(singular, plural, n) % {"num": n, **values}

    # Money ---------------------------------------------------------------------------
    def money(self, amount: int | None, currency: str) -> str:
        if amount is None:
            return ""
        return format_currency(Decimal(amount).scaleb(-precision(currency)), currency, locale=self.lang)

    def major(self, amount: int | None, currency: str) -> str:
        """An amount for an input field: 18.50 (no currency sign, no grouping)."""
        if amount is None:
            return ""
        return f"{Decimal(amount).scaleb(-precision(currency)):.{precision(currency)}f}"

    def number(self, value) -> str:
        return format_decimal(value, locale=self.lang)

    # Dates ---------------------------------------------------------------------------
    def datetime(self, value: datetime | str | None) -> str:
        """A moment in the reader's zone, with the zone said: ``7 Mar 2026, 12:00 +0300`` (R33)."""
        value = _as_datetime(value)
        if value is None:
            return ""
        if value.tzinfo is None:  # a camera's own clock (EXIF): shown as it was written
            return format_datetime(value, "d MMM y, HH:mm", locale=self.lang)
        return format_datetime(value, "d MMM y, HH:mm z", tzinfo=self.zone, locale=self.lang)

    def date(self, value: date | Moment | str | None) -> str:
        """A day; a moment becomes the reader's local day (R33)."""
        if isinstance(value, str):
            value = _as_datetime(value) if "T" in value else date.fromisoformat(value[:10])
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date() if value.tzinfo else value.date()
        return format_date(value, "d MMM y", locale=self.lang)

    def duration(self, delta: timedelta) -> str:
        """23 days · 1 day 4 hours · 5 hours 10 minutes · 3 minutes (CLDR plural forms)."""
        seconds = max(int(delta.total_seconds()), 0)
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        minutes = rest // 60
        unit = lambda n, u: format_unit(n, f"duration-{u}", length="long", locale=self.lang)  # noqa: E731
        if days >= 3:
            return unit(days, "day")
        if days:
            return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "")
        if hours:
            return unit(hours, "hour") + (f" {unit(minutes, 'minute')}" if minutes else "")
        return unit(minutes, "minute")

    def days(self, n: int) -> str:
        return format_unit(n, "duration-day", length="long", locale=self.lang)

    def hours(self, n: int) -> str:
        return format_unit(n, "duration-hour", length="long", locale=self.lang)

    def minutes(self, n: int) -> str:
        return format_unit(n, "duration-minute", length="long", locale=self.lang)

    def size(self, n_bytes: int) -> str:
        """10 MB · 10 МБ (binary megabytes, as the limits are set)."""
        megabytes = round(n_bytes / 1048576, 1)
        return format_unit(int(megabytes) if megabytes == int(megabytes) else megabytes, "digital-megabyte",
                           length="short", locale=self.lang)

    def file_size(self, n_bytes: int) -> str:
        """A file's own size: 820 kB · 3.4 MB (binary units, as the limits are)."""
        if n_bytes < 1048576:
            return format_unit(max(1, round(n_bytes / 1024)), "digital-kilobyte", length="short", locale=self.lang)
        return self.size(n_bytes)

    def percent(self, ratio: float) -> str:
        return format_percent(ratio, locale=self.lang)

    def zone_place(self, name: str) -> str:
        """A time zone as people name it, by its city: Москва, New York (R33); UTC stays UTC."""
        return _zone_place(name, self.lang)

    def country(self, code: str) -> str:
        return self.locale.territories.get(code, code)

    def language(self, code: str) -> str:
        return self.locale.languages.get(code, code)

    def parse_amount(self, text: str | None, currency: str) -> int | None:
        """'18.50' or '18,50' (or '18') → 1850 minor units; None when empty; ValueError if not a sum."""
        text = (text or "").strip().replace("\u00a0", "").replace(" ", "")
        if not text:
            return None
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        text = text.replace(",", "")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(text) from None
        minor = value.scaleb(precision(currency))
        if minor != minor.to_integral_value() or not value.is_finite():
            raise ValueError(text)
        return int(minor)


def _as_datetime(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


@lru_cache(maxsize=2048)
def _zone_place(name: str, lang: str) -> str:
    try:
        return get_timezone_location(get_timezone(name), locale=lang, return_city=True)
    except (LookupError, ValueError):
        return name


@lru_cache(maxsize=512)
def formatter(lang: str, time_zone: str = "UTC") -> Formatter:
    return Formatter(lang, time_zone)
