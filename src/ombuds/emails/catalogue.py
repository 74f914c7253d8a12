"""Translation catalogues and the template environments built on them, one per language."""

from __future__ import annotations

import functools
import io
from datetime import UTC, datetime
from pathlib import Path

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ombuds.domain.time_zones import zone

HERE = Path(__file__).parent
LOCALES = HERE / "locale"
DOMAIN = "emails"
DEFAULT_LANGUAGE = "en"


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated when an e-mail is rendered."""
    return message


def languages() -> list[str]:
    """English (the msgids themselves) and every language with a catalogue."""
    return [DEFAULT_LANGUAGE, *sorted(p.name for p in LOCALES.iterdir() if (p / "LC_MESSAGES").is_dir())]


@functools.cache
def translations(language: str) -> NullTranslations:
    """The language's catalogue, compiled from its ``.po`` file once per process."""
    po = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


@functools.cache
def environment(language: str) -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), extensions=["jinja2.ext.i18n"],
                      autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    # The i18n extension adds this method to the environment when it is loaded; jinja2's
    # type hints cannot know it.
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def supported(language: str | None) -> str:
    return language if language in languages() else DEFAULT_LANGUAGE


def format_moment(at: datetime, language: str, time_zone: str = "UTC") -> str:
    """A deadline as people read it, in their language and their zone (R33):
    ``7 March 2026, 12:00 +0300`` for Moscow, ``7 March 2026, 09:00 UTC`` in UTC."""
    return format_datetime(at.astimezone(UTC), "d MMMM y, HH:mm z", tzinfo=zone(time_zone),
                           locale=language)
