"""R9: is a dispute text written in an allowed language?

Two checks, the cheap one first:

1. **Script.** Every letter belongs to a Unicode script. A word in a script that no allowed
   language uses (Cyrillic or Chinese when only English is allowed) is refused at once, even
   in a one-word line, and a text mixing such words with English is refused too.
2. **Language.** Words in an allowed script are judged by lingua, restricted to the
   languages of that script, together with each language's function words ("the", "is"
   against "el", "der"; the ``stop-words`` package's lists). A text is refused when both
   point to the same foreign language, or when lingua is all but certain and the allowed
   language's function words are absent. Both run on the whole text, then clause by
   clause, so Spanish or German (Latin script, like English) are caught, and so is an
   English sentence followed by a German one. Needing the second signal keeps telegraphic
   English ("Counterfeit! Logo says Samsnug") and lines of transliterated names from being
   taken for German or Spanish, which lingua alone does on short lines.

Before either, what is no language at all is set aside: URLs, e-mail addresses, and runs of
ASCII characters with a digit in them (tracking codes such as ``LP00123456789CN``, order
numbers, sums, dates), and any other digit. Only ASCII runs go whole: Chinese, Japanese and
Thai put no spaces between words, so "只收到了2个" is one run of non-space characters, and
setting the run aside would set the words aside with the digit. Short runs of words (names,
"OK") are never judged by lingua, because statistics say nothing about three letters.

The detector is lingua in low-accuracy mode (trigram models only) over a short list of
languages: the common Latin-script ones, Russian, Ukrainian and Kazakh (so that a refusal
names Kazakh as Kazakh, not as its nearest neighbour; adding Bulgarian or Serbian too makes
short Russian lines look Bulgarian), Arabic and Persian, Hindi and Chinese. Measured here,
about 15 MB of memory and under 0.2 s to build for eleven languages, against ~290 MB and 3.4 s
for the same eleven in high-accuracy mode; with Babel's language names and the function-word
lists the whole checker adds about 25–30 MB to a server process.
The script check and the function words are what make short lines reliable, so the
trade costs nothing that matters here. It is built on first use, under a lock, by the
:class:`LazyLanguageChecker` the application's context holds; lingua keeps the models it
loaded, so a second checker in the same process builds in milliseconds.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from babel import Locale
from stop_words import get_stop_words

from ombuds.domain.errors import DomainError

# The languages lingua knows about. Allowed languages outside this list are still checked by
# script, but lingua cannot tell them apart from their neighbours.
DETECTOR_LANGUAGES = ("en", "es", "de", "fr", "pt", "it", "tr", "pl",  # Latin
                      "ru", "uk", "kk",  # Cyrillic
                      "ar", "fa", "hi", "zh")

# The script each language is written in (the first word of a letter's Unicode name).
_SCRIPTS_OF = {
    "ru": {"CYRILLIC"}, "uk": {"CYRILLIC"}, "be": {"CYRILLIC"}, "bg": {"CYRILLIC"},
    "kk": {"CYRILLIC"}, "mk": {"CYRILLIC"}, "mn": {"CYRILLIC"}, "sr": {"CYRILLIC", "LATIN"},
    "zh": {"CJK"}, "ja": {"CJK", "HIRAGANA", "KATAKANA"}, "ko": {"HANGUL", "CJK"},
    "ar": {"ARABIC"}, "fa": {"ARABIC"}, "ur": {"ARABIC"}, "he": {"HEBREW"}, "el": {"GREEK"},
    "hi": {"DEVANAGARI"}, "mr": {"DEVANAGARI"}, "th": {"THAI"}, "hy": {"ARMENIAN"}, "ka": {"GEORGIAN"},
}
# For a script lingua does not cover, the language it most likely is.
_LANGUAGE_OF_SCRIPT = {
    "CYRILLIC": "ru", "CJK": "zh", "HIRAGANA": "ja", "KATAKANA": "ja", "HANGUL": "ko", "ARABIC": "ar",
    "HEBREW": "he", "GREEK": "el", "DEVANAGARI": "hi", "THAI": "th", "ARMENIAN": "hy",
    "GEORGIAN": "ka",
}
# Scripts with one character per word (or syllable): a single one is already a word.
_DENSE_SCRIPTS = {"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI"}

# ASCII only: a run of Chinese or Thai has no spaces, and must not be swallowed with a URL,
# an address or a number written in it ("只收到了2个", "看这里https://…").
_NOT_LANGUAGE = re.compile(
    r"(?:https?://|www\.)[!-~]+"  # URLs
    r"|[!-~]+@[!-~]+\.[!-~]+"  # e-mail addresses
    r"|[!-~]*\d[!-~]*"  # tracking codes, order numbers, sums, dates, file names with numbers
    r"|\d+"  # any other digit (Arabic-Indic, Devanagari, Thai)
)
_CLAUSE_END = re.compile(r"[.!?;:\n。！？；]+")

# lingua's verdict counts only on enough words, and only when it is clear.
MIN_WORDS_TEXT = 3  # a whole text judged by statistics
MIN_WORDS_CLAUSE = 4  # one clause of a longer text
MIN_CONFIDENCE = 0.5  # lingua's confidence in the foreign language (among the candidates)
MIN_FUNCTION_WORDS = 1.0  # function-word evidence for it, more than for the allowed ones
# ...unless lingua is all but certain, the allowed languages' function words are all but
# absent, and something besides lingua points abroad: a foreign function word or a letter
# English does not use (è, ß, ı). A line of transliterated names ("Olga Ivanovna Smirnova,
# Tverskaya ulitsa") has none of these and is let through.
SURE_CONFIDENCE = 0.99


def scripts_of(language: str) -> set[str]:
    return _SCRIPTS_OF.get(language, {"LATIN"})


def script_of(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def language_name(code: str) -> str:
    """'ru' → 'Russian' (Babel's English names)."""
    return Locale("en").languages.get(code, code)


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    script: str


def _is_word_char(ch: str) -> bool:
    """A letter, or a mark that belongs to one (Devanagari and Thai vowel signs are marks)."""
    return ch.isalpha() or unicodedata.category(ch)[0] == "M"


def _words(text: str) -> list[_Word]:
    """The words of a text that can belong to a language, each with its script."""
    text = _NOT_LANGUAGE.sub(" ", unicodedata.normalize("NFKC", text))
    found, current = [], []
    for ch in text + " ":
        if _is_word_char(ch):
            current.append(ch)
            continue
        if current:
            w = "".join(current)
            letters = [script_of(c) for c in w if c.isalpha()] or [script_of(w[0])]
            found.append(_Word(w, Counter(letters).most_common(1)[0][0]))
            current = []
    return found


def _clauses(text: str) -> list[str]:
    text = _NOT_LANGUAGE.sub(" ", unicodedata.normalize("NFKC", text))
    return [c for c in _CLAUSE_END.split(text) if c.strip()]


def _function_words(languages: tuple[str, ...]) -> dict[str, frozenset[str]]:
    found = {}
    for code in languages:
        try:
            found[code] = frozenset(w.lower() for w in get_stop_words(code))
        except Exception:  # the package has no list for this language
            found[code] = frozenset()
    return found


class LanguageChecker:
    """Built on first use by :class:`LazyLanguageChecker`; safe to share between threads."""

    def __init__(self, languages: tuple[str, ...] = DETECTOR_LANGUAGES):
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        self.languages = languages
        chosen = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
                  for code in languages]
        self._function_words = _function_words(languages)
        self._detector = (LanguageDetectorBuilder.from_languages(*chosen)
                          .with_low_accuracy_mode().with_preloaded_language_models().build())

    # The interface the dispute services use --------------------------------------------

    def check(self, text: str, *, allowed: tuple[str, ...], field: str) -> None:
        """Raise ``language_not_allowed`` unless ``text`` is written in an allowed language."""
        verdict = self._foreign(text, tuple(allowed))
        if verdict is None:
            return
        found, partly = verdict
        raise DomainError("language_not_allowed", refusal_message(found, allowed, partly=partly),
                          field, found=found or "und", allowed=list(allowed))

    def detect(self, text: str) -> str | None:
        """The language a text is mostly written in (ISO 639-1), or None if it has no words."""
        words = _words(text)
        if not words:
            return None
        letters: Counter[str] = Counter()
        for w in words:
            letters[w.script] += len(w.text)
        script = letters.most_common(1)[0][0]
        return self._language_in_script(" ".join(w.text for w in words if w.script == script),
                                        script)

    # How ------------------------------------------------------------------------------

    def _foreign(self, text: str, allowed: tuple[str, ...]) -> tuple[str | None, bool] | None:
        """(the foreign language found, None if its script names none; whether only part of the
        text is in it), or None when the text is in an allowed language."""
        words = _words(text)
        allowed_scripts = set().union(*(scripts_of(code) for code in allowed))
        foreign = [w for w in words if w.script not in allowed_scripts
                   and (w.script in _DENSE_SCRIPTS or len(w.text) >= 2)]
        in_allowed_script = [w for w in words if w.script in allowed_scripts]
        at_home = [w for w in in_allowed_script if len(w.text) >= 2]
        if foreign:  # 1. the script check
            letters: Counter[str] = Counter()
            for w in foreign:
                letters[w.script] += len(w.text)
            script = letters.most_common(1)[0][0]
            if script == "CJK" and (letters["HIRAGANA"] or letters["KATAKANA"]):
                return "ja", len(at_home) >= 2  # kanji with kana is Japanese
            found = self._language_in_script(" ".join(w.text for w in foreign if w.script == script),
                                             script)
            return found, len(at_home) >= 2
        # 2. lingua, for texts in an allowed script: the whole text, then each clause.
        found = self._foreign_by_statistics(in_allowed_script, allowed, MIN_WORDS_TEXT)
        if found:
            return found, False
        for clause in _clauses(text):
            found = self._foreign_by_statistics(
                [w for w in _words(clause) if w.script in allowed_scripts], allowed, MIN_WORDS_CLAUSE)
            if found:
                return found, True
        return None

    def _foreign_by_statistics(self, all_words: list[_Word], allowed: tuple[str, ...],
                               min_words: int) -> str | None:
        words = [w for w in all_words if len(w.text) >= 2]  # "I", "a", the "s" of "it's"
        if len(words) < min_words:
            return None
        scripts = {w.script for w in words}
        candidates = {code for code in self.languages if scripts_of(code) & scripts}
        if not any(code in candidates for code in allowed):
            return None  # lingua cannot recognise the allowed language: trust the script check
        scores = self._scores(" ".join(w.text for w in words), candidates)
        best, confidence = max(scores.items(), key=lambda kv: kv[1])
        if best in allowed or confidence < MIN_CONFIDENCE:
            return None
        function = self._function_word_scores(words, candidates)
        at_home = sum(function[code] for code in allowed if code in function)
        foreign = {code: v for code, v in function.items() if code not in allowed}
        strongest = max(foreign.values(), default=0.0)
        agreed = strongest >= MIN_FUNCTION_WORDS and strongest > at_home
        certain = (confidence >= SURE_CONFIDENCE and at_home < MIN_FUNCTION_WORDS / 2
                   and (self._has_own_function_word(words, best, allowed)
                        or any(not w.text.isascii() for w in all_words)))
        if not (agreed or certain):
            return None
        if certain and not agreed:
            return best
        # Which foreign language: function words first, lingua to break ties (es vs pt).
        return max(foreign, key=lambda code: (foreign[code], scores.get(code, 0.0)))

    def _has_own_function_word(self, words: list[_Word], language: str,
                               allowed: tuple[str, ...]) -> bool:
        """A function word of ``language`` that is none of the allowed languages' ("der", not "was")."""
        home = set().union(*(self._function_words.get(code, frozenset()) for code in allowed))
        own = self._function_words[language]
        return any(w.text.lower() in own and w.text.lower() not in home for w in words)

    def _function_word_scores(self, words: list[_Word], candidates: set[str]) -> dict[str, float]:
        """Each word that is a function word of k candidate languages gives each 1/k."""
        scores = dict.fromkeys(candidates, 0.0)
        for w in words:
            having = [code for code in candidates if w.text.lower() in self._function_words[code]]
            for code in having:
                scores[code] += 1 / len(having)
        return scores

    def _language_in_script(self, text: str, script: str) -> str | None:
        candidates = {code for code in self.languages if script in scripts_of(code)}
        if candidates:
            scores = self._scores(text, candidates)
            if scores and max(scores.values()) > 0:
                return max(scores.items(), key=lambda kv: kv[1])[0]
        return _LANGUAGE_OF_SCRIPT.get(script)

    def _scores(self, text: str, candidates: set[str]) -> dict[str, float]:
        """lingua's confidence for each candidate language, renormalised over the candidates."""
        values = {v.language.iso_code_639_1.name.lower(): v.value
                  for v in self._detector.compute_language_confidence_values(text)}
        scores = {code: values.get(code, 0.0) for code in candidates}
        total = sum(scores.values())
        return {code: v / total for code, v in scores.items()} if total else scores


def refusal_message(found: str | None, allowed: tuple[str, ...] | list[str], *,
                    partly: bool = False) -> str:
    """What the writer reads: the language found, and what to do about it."""
    names = [language_name(code) for code in allowed]
    allowed_words = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    subject = "Part of this text" if partly else "This text"
    looks = f"looks {language_name(found)}" if found else f"is not written in {allowed_words}"
    return (f"{subject} {looks}. Disputes are handled in {allowed_words}: "
            f"please write it in {allowed_words} (a translator can help).")


class LazyLanguageChecker:
    """One :class:`LanguageChecker`, built on first use under a lock and kept: lingua's models
    load once, and not at all by a process that checks no text. Each ``Ombuds`` context holds
    one (``services/context.py``); the app's lifespan builds it before the first request."""

    def __init__(self, build: Callable[[], LanguageChecker] = LanguageChecker) -> None:
        self._build = build
        self._checker: LanguageChecker | None = None
        self._lock = threading.Lock()

    def get(self) -> LanguageChecker:
        if self._checker is None:
            with self._lock:
                if self._checker is None:
                    self._checker = self._build()
        return self._checker
