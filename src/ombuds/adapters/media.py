"""What a file is, from its first bytes (the ``filetype`` package), never from its name."""

from __future__ import annotations

import filetype

from ombuds.domain.evidence import ACCEPTED

HEAD_BYTES = 8192  # filetype needs 262; SVG and WebM say what they are a little later

_DESCRIBED = {
    "application/x-msdownload": "Windows program",
    "application/x-executable": "Linux program",
    "application/x-sqlite3": "SQLite database",
}
# Extensions a name can carry that say what a file is. A name ending in one of these must
# agree with the bytes; other endings ('scan 12.03.2026') say nothing.
KNOWN_EXTENSIONS = frozenset(
    {f".{t.extension.lower()}" for t in filetype.types}
    | {ext for a in ACCEPTED for ext in a.extensions}
    | {".svg", ".svgz", ".html", ".htm", ".xhtml", ".xml", ".js", ".mjs", ".txt", ".csv", ".json",
       ".bat", ".cmd", ".com", ".scr", ".msi", ".dll", ".sh", ".ps1", ".vbs", ".jar", ".apk",
       ".app", ".dmg", ".iso", ".php", ".py", ".lnk"}
)


def sniff(head: bytes) -> tuple[str | None, str | None]:
    """(media type, words for it) of a file whose first bytes are ``head``; (None, words) or
    (None, None) when the bytes match no type ``filetype`` knows."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime, _DESCRIBED.get(kind.mime, kind.extension.upper())
    text = head.lstrip()[:1024].lower()
    if text.startswith(b"<") and b"<svg" in text:
        return None, "SVG drawing"
    if text.startswith(b"<"):
        return None, "web page or XML"
    return None, None
