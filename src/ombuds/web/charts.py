"""Charts as SVG, drawn on the server: no JavaScript, no CDN, readable without colour (each
bar carries its number). Labels arrive translated; every text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from markupsafe import Markup

PALETTE = ("#2f6fb0", "#e08a2e", "#3c9a5f", "#b54a4a", "#7a5bb0", "#6b7780")


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: list[float]
    colour: str


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
                  f'role="img" aria-label="{escape(title, {chr(34): "&quot;"})}" class="chart">'
                  f'<title>{escape(title)}</title>\n{chr(10).join(body)}\n</svg>')  # one element a line


def _text(x: float, y: float, text: str, *, size: int = 11, anchor: str = "start", colour: str = "#333",
          rotate: bool = False, data: bool = False) -> str:
    turn = f' transform="rotate(-45 {x:.1f} {y:.1f})"' if rotate else ""
    own = ' translate="no"' if data else ""  # people's own words (a seller's name): never translated
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{colour}"'
            f' font-family="sans-serif"{turn}{own}>{escape(text)}</text>')


def columns(title: str, labels: list[str], series: list[Series], *, width: int = 720, height: int = 240) -> Markup:
    """Grouped vertical bars, one group per label (e.g. per day), with a legend."""
    left, right, top, bottom = 34, 10, 26, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for s in series for v in s.values] + [1])
    group = plot_w / max(len(labels), 1)
    bar = max(min(group / (len(series) + 1), 18), 1)
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#999"/>',
            _text(left - 4, top + 4, f"{peak:g}", size=10, anchor="end"),
            _text(left - 4, top + plot_h, "0", size=10, anchor="end")]
    every = max(1, len(labels) // 15)
    for i, label in enumerate(labels):
        x0 = left + i * group + (group - bar * len(series)) / 2
        for k, s in enumerate(series):
            v = s.values[i]
            h = plot_h * v / peak
            body.append(f'<rect x="{x0 + k * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 1:.1f}" '
                        f'height="{h:.1f}" fill="{s.colour}">'
                        f'<title>{escape(f"{label}: {s.label} {v:g}")}</title></rect>')
        if i % every == 0:
            body.append(_text(left + i * group + group / 2, top + plot_h + 12, label, size=9, anchor="end",
                              rotate=True))
    x = left
    for s in series:
        body.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{s.colour}"/>')
        body.append(_text(x + 14, 15, s.label))
        x += 22 + 7 * len(s.label)
    return _svg(width, height, title, body)


def bars(title: str, rows: list[tuple[str, float, str]], *, unit: str = "",
         marks: Sequence[tuple[float, str, str]] = (), scale_max: float | None = None, width: int = 720,
         data_labels: bool = False) -> Markup:
    """Horizontal bars, one per row (label, value, shown text), with optional reference lines
    (value, label, colour) such as a target, a limit or a threshold. ``data_labels``: the row
    labels are people's own words (names), marked so that nobody translates them."""
    label_w, right, top, row_h = 190, 70, 8 + (16 if marks else 0), 24
    height = top + row_h * max(len(rows), 1) + 10
    plot_w = width - label_w - right
    peak = scale_max or max([v for _, v, _ in rows] + [m for m, _, _ in marks] + [1e-9])
    body = []
    for i, (label, value, shown) in enumerate(rows):
        y = top + i * row_h
        w = plot_w * min(value / peak, 1.0) if peak else 0
        colour = PALETTE[0]
        for mark, _, mark_colour in marks:
            if value >= mark:
                colour = mark_colour
        body.append(_text(label_w - 6, y + 15, label[:30], anchor="end", data=data_labels))
        own = ' translate="no"' if data_labels else ""
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row_h - 8}" fill="{colour}">'
                    f'<title{own}>{escape(f"{label}: {shown}")}</title></rect>')
        body.append(_text(label_w + max(w, 1) + 4, y + 15, f"{shown}{unit}", size=10))
    if not rows:
        body.append(_text(label_w, top + 15, "—"))
    for mark, label, colour in marks:
        x = label_w + plot_w * min(mark / peak, 1.0)
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 6}" stroke="{colour}" '
                    f'stroke-dasharray="4 3"/>')
        body.append(_text(x, top - 8, label, size=10, anchor="middle"))
    return _svg(width, height, title, body)


def shares(title: str, parts: list[tuple[str, float]], *, width: int = 720) -> Markup:
    """One bar split into parts (e.g. how disputes ended), each with its count and share."""
    total = sum(v for _, v in parts)
    height, top, bar_h = 74, 8, 26
    body, x = [], 10.0
    plot_w = width - 20
    for i, (label, value) in enumerate(parts):
        w = plot_w * value / total if total else 0
        colour = PALETTE[i % len(PALETTE)]
        if w:
            body.append(f'<rect x="{x:.1f}" y="{top}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                        f'<title>{escape(f"{label}: {value:g}")}</title></rect>')
        x += w
    lx = 10
    for i, (label, value) in enumerate(parts):
        share = f" ({value / total:.0%})" if total else ""
        text = f"{label}: {value:g}{share}"
        body.append(f'<rect x="{lx}" y="{top + bar_h + 14}" width="10" height="10" '
                    f'fill="{PALETTE[i % len(PALETTE)]}"/>')
        body.append(_text(lx + 14, top + bar_h + 23, text, size=10))
        lx += 24 + int(6.2 * len(text))
    return _svg(max(width, lx), height, title, body)
