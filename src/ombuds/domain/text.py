"""What people write: a text says something only if something shows once the characters that
show nothing are set aside (R42).

One rule for every way in — the API's request bodies, the web forms, the case page's chat,
complaints, protection requests, penalties: a message, a description or a reason of zero-width
spaces, joiners, direction marks, the BOM or Hangul fillers is no text at all. The services and
the domain call :func:`written`, so the pages cannot let through what the API refuses.
"""

from __future__ import annotations

import unicodedata

# Characters that show nothing on their own: controls, format characters (zero-width space,
# joiners, marks of direction, the BOM), separators, combining marks with nothing to sit on,
# and the fillers that render as blanks.
_BLANKS = frozenset({"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"})


def visible(text: str) -> bool:
    """Whether ``text`` shows anything once invisible characters are removed."""
    return any(not (ch.isspace() or ch in _BLANKS or unicodedata.category(ch)[0] in "CZM")
               for ch in text)


def written(text: str | None) -> str:
    """The text without surrounding white space, or ``""`` if nothing in it shows — so that
    the rules asking for a text (``message_required``, ``description_required``…) refuse it."""
    text = (text or "").strip()
    return text if visible(text) else ""
