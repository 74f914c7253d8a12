"""What the pages and the case file call things, in the reader's language.

The pages (``web``) and the API's case file (R41) say the same things in the same words, so the
words live below both: the page catalogues (``i18n/<lang>/LC_MESSAGES/messages.po``, whose
strings the templates in ``web/templates`` share), the ``Formatter`` for money, dates and
durations per locale, the reader's language from a cookie or ``Accept-Language``, what states,
actions, deadlines and errors are called (``words``, ``labels``, ``words_tracking``), and the
typeface documents are set in (``fonts``). E-mails keep their own wording in ``ombuds.emails``.
"""

from __future__ import annotations

from pathlib import Path

FONTS = Path(__file__).parent / "fonts"
