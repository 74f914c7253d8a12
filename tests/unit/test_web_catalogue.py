"""The Russian catalogue of the web pages is complete and keeps every placeholder."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from ombuds import web, wording
from ombuds.services import case_pdf
from ombuds.wording.i18n import CATALOGUES, formatter

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def page_strings() -> set:
    """What the templates, the web and wording modules and the case file's PDF mark for
    translation (as pybabel extracts it)."""
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    messages = set()
    for where in (Path(web.__file__).parent, Path(wording.__file__).parent):
        found = extract_from_dir(str(where), [("**.py", "python"), ("**/templates/**.html", "jinja2")],
                                 {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}, keywords)
        messages |= {message for _, _, message, _, _ in found}
    messages |= {message for _, message, _, _ in extract_from_file("python", case_pdf.__file__, keywords)}
    return messages


def test_every_page_string_has_a_russian_translation_with_the_same_placeholders():
    wanted = page_strings()
    assert len(wanted) > 300
    with open(CATALOGUES / "ru" / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalogue = {m.id: m for m in read_po(f) if m.id}
    assert not sorted(map(str, wanted - catalogue.keys())), "untranslated strings: run the catalogue update"
    fuzzy = [msgid for msgid, m in catalogue.items() if m.fuzzy]
    assert not fuzzy, f"fuzzy translations are not shown; check and confirm them: {fuzzy}"
    for msgid, m in catalogue.items():
        singular = msgid[0] if isinstance(msgid, tuple) else msgid
        forms = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(forms), f"empty translation of {msgid!r}"
        for form in forms:
            assert set(PLACEHOLDER.findall(form)) <= set(PLACEHOLDER.findall(singular)) | {"num"}, msgid


def test_durations_money_and_dates_follow_the_locale():
    en, ru = formatter("en"), formatter("ru")
    from datetime import timedelta
    assert en.duration(timedelta(days=23)) == "23 days"
    assert ru.duration(timedelta(days=23)) == "23 дня"
    assert ru.duration(timedelta(days=1, hours=4)) == "1 день 4 часа"
    assert en.duration(timedelta(hours=5, minutes=10)) == "5 hours 10 minutes"
    assert en.money(1850, "USD") == "$18.50" and ru.money(1850, "USD") == "18,50\xa0$"
    assert en.parse_amount("18,50", "USD") == 1850 and en.parse_amount("3", "USD") == 300
    assert ru.gettext("Protection ends in %(left)s", left=ru.duration(timedelta(days=60))) == \
        "Защита закончится через 60 дней"


def test_the_policy_page_says_every_rule_in_words():
    """/policy is a page for people: each policy field is said in a sentence, not dumped."""
    from ombuds.domain.policy import DEFAULT_POLICY, Policy
    from ombuds.web.policy_page import FIELDS_SAID, sections
    assert set(Policy.model_fields) == FIELDS_SAID, "a policy field has no sentence on the policy page"
    for lang in ("en", "ru"):
        said = [text for section in sections(formatter(lang), DEFAULT_POLICY) for _, text in section["rules"]]
        assert all("%(" not in text for text in said)
    ru = " ".join(text for s in sections(formatter("ru"), DEFAULT_POLICY) for _, text in s["rules"])
    assert "60 дней" in ru and "10 МБ" in ru and "Visa: 3–15 рабочих дней" in ru
    assert "protection_days" not in ru and "MB" not in ru


def test_sizes_are_written_in_the_readers_units():
    assert formatter("ru").size(10 * 1024 * 1024) == "10 МБ"
    assert formatter("en").size(200 * 1024 * 1024) == "200 MB"
