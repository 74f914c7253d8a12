"""E-mails to buyers and sellers (R23): what happened, what to do by when, in their language.

Texts live in gettext catalogues (``locale/<lang>/LC_MESSAGES/emails.po``, English msgids)
and Jinja2 templates (``templates/``); adding a language is adding a catalogue.
"""
