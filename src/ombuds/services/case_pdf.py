"""R41: a dispute's case file as one PDF, in the reader's language, with the pages' own words.

Rendered with ReportLab (pure Python from PyPI: no system library, so ``make demo`` and
``make test`` need nothing from apt for it). Text is set in DejaVu Sans, vendored in
``wording/fonts`` with its licence, because the PDF base fonts have no Cyrillic. Every label
comes from the pages' catalogue (``wording/words.py`` and the strings below), so the PDF says
what the pages say, in English or Russian. The API and the pages both serve it.
"""

from __future__ import annotations

import io
from functools import lru_cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ombuds.services.case_file import CaseFile
from ombuds.wording import FONTS, labels, words, words_tracking
from ombuds.wording.i18n import Formatter, formatter

REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"


@lru_cache(maxsize=1)
def _fonts() -> None:
    pdfmetrics.registerFont(TTFont(REGULAR, str(FONTS / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)


STYLE = {
    "title": ParagraphStyle("title", fontName=BOLD, fontSize=16, leading=20, spaceAfter=4),
    "h2": ParagraphStyle("h2", fontName=BOLD, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4),
    "body": ParagraphStyle("body", fontName=REGULAR, fontSize=9, leading=12),
    "small": ParagraphStyle("small", fontName=REGULAR, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#555555")),
    "mono": ParagraphStyle("mono", fontName=REGULAR, fontSize=6.8, leading=8.5),
}
GRID = TableStyle([
    ("FONT", (0, 0), (-1, -1), REGULAR, 8.5), ("FONT", (0, 0), (-1, 0), BOLD, 8.5),
    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
])


def render(case: CaseFile, lang: str, time_zone: str = "UTC") -> bytes:
    """The case file as PDF bytes, with times in the reader's zone (R33)."""
    _fonts()
    f = formatter(lang, time_zone)
    buffer = io.BytesIO()
    d = case.dispute
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=1.6 * cm, rightMargin=1.6 * cm,
                            topMargin=1.5 * cm, bottomMargin=1.5 * cm,
                            title=f.gettext("Case file: dispute #%(id)s", id=d["id"]), author="Ombuds",
                            lang=lang)
    story = []
    for part in (_head, _parties, _order, _claim, _proposals, _verdict, _refunds, _evidence, _tracking,
                 _messages, _timeline, _notes):
        story += part(case, f)
    doc.build(story, onFirstPage=_footer(case, f), onLaterPages=_footer(case, f))
    return buffer.getvalue()


def _p(text: str, style: str = "body") -> Paragraph:
    return Paragraph(escape(text or "").replace("\n", "<br/>"), STYLE[style])


def _table(rows: list[list], widths: list[float]) -> Table:
    cells = [[c if not isinstance(c, str) else _p(c) for c in row] for row in rows]
    table = Table(cells, colWidths=[w * cm for w in widths], repeatRows=1)
    table.setStyle(GRID)
    return table


def _footer(case: CaseFile, f: Formatter):
    def draw(canvas, doc):
        canvas.saveState()
        canvas.setFont(REGULAR, 7)
        canvas.drawString(1.6 * cm, 0.9 * cm, f.gettext("Case file: dispute #%(id)s", id=case.dispute["id"])
                          + " · " + f.datetime(case.made_at))
        canvas.drawRightString(A4[0] - 1.6 * cm, 0.9 * cm, f.gettext("Page %(n)s", n=doc.page))
        canvas.restoreState()
    return draw


def _who(case: CaseFile, f: Formatter, role: str, user_id: int | None = None) -> str:
    name = case.people.get(user_id, {}).get("name") if user_id else None
    return f"{f.gettext(words.ROLES.get(role, role))}" + (f" ({name})" if name else "")


# The parts --------------------------------------------------------------------------------

def _head(case: CaseFile, f: Formatter) -> list:
    d = case.dispute
    state = (words.OUTCOMES.get(d["outcome"], d["outcome"]) if d["outcome"]
             else words.STATES.get(d["state"], d["state"]))
    reader = (f.gettext("the marketplace") if case.reader.is_platform else _who(case, f, case.reader.role))
    return [_p(f.gettext("Case file: dispute #%(id)s", id=d["id"]), "title"),
            _p(f.gettext("Made %(time)s for %(reader)s.", time=f.datetime(case.made_at), reader=reader), "small"),
            _p(f.gettext("State: %(state)s", state=f.gettext(state))),
            Spacer(1, 4)]


def _parties(case: CaseFile, f: Formatter) -> list:
    rows = [[f.gettext("Role"), f.gettext("Name"), f.gettext("E-mail"), f.gettext("Country")]]
    for role, user_id in (("buyer", case.dispute["buyer_id"]), ("seller", case.dispute["seller_id"])):
        person = case.people.get(user_id, {})
        rows.append([f.gettext(words.ROLES[role]), person.get("name", ""), person.get("email", ""),
                     f.country(person.get("country", ""))])
    return [_p(f.gettext("Parties"), "h2"), _table(rows, [3, 5, 5.5, 4.3])]


def _order(case: CaseFile, f: Formatter) -> list:
    o = case.order
    method = labels.payment_method(f, o.payment_method)
    facts = [f.gettext("Order #%(id)s", id=o.id),
             f.gettext("Paid %(date)s by %(method)s", date=f.date(o.created_at), method=method)]
    if o.tracking_number:
        facts.append(f.gettext("Shipped %(date)s with %(carrier)s, tracking %(tracking)s",
                               date=f.date(o.shipped_at), carrier=o.carrier, tracking=o.tracking_number))
    rows = [[f.gettext("Item"), f.gettext("Price"), f.gettext("Qty"), f.gettext("Total")]]
    for line in o.lines:
        title = line.title + (" — " + f.gettext("Dispute #%(id)s", id=case.dispute["id"])
                              if line.id == case.line_id else "")
        rows.append([title, f.money(line.unit_price, o.currency), str(line.quantity),
                     f.money(line.total, o.currency)])
    rows.append([f.gettext("Total"), "", "", f.money(o.total, o.currency)])
    return [_p(f.gettext("What was ordered"), "h2"), _p(" · ".join(facts)), Spacer(1, 3),
            _table(rows, [9.2, 2.7, 2.1, 3.8])]


def _claim(case: CaseFile, f: Formatter) -> list:
    d = case.dispute
    received = f.gettext("Yes") if d["received"] else f.gettext("No")
    rows = [[f.gettext("Opened"), f.datetime(d["opened_at"])],
            [f.gettext("Reason"), f.gettext(words.REASONS.get(d["reason"], d["reason"]))],
            [f.gettext("Parcel received"), received],
            [f.gettext("Units in dispute"), str(d["quantity"])],
            [f.gettext("Description"), d["description"]]]
    if d["outcome"]:
        rows.append([f.gettext("Outcome"), f.gettext(words.OUTCOMES.get(d["outcome"], d["outcome"]))])
    if d["closed_at"]:
        rows.append([f.gettext("Closed"), f.datetime(d["closed_at"])])
    table = Table([[_p(a), _p(b)] for a, b in rows], colWidths=[4 * cm, 13.8 * cm])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [_p(f.gettext("The claim"), "h2"), table]


def _proposals(case: CaseFile, f: Formatter) -> list:
    d = case.dispute
    rows = [[f.gettext("When"), f.gettext("Who"), f.gettext("Proposal"), f.gettext("Message")]]
    for e in d.get("timeline", []):
        det = e["details"] or {}
        if e["action"] in ("open", "amend", "propose") and det.get("resolution"):
            what = f"{f.gettext(words.RESOLUTIONS.get(det['resolution'], det['resolution']))}, " \
                   f"{f.money(det.get('amount'), d['currency'])}"
            rows.append([f.datetime(e["at"]), _who(case, f, det.get("by") or e["actor"]), what,
                         det.get("message") or ""])
    if len(rows) == 1:
        return []
    return [_p(f.gettext("Proposals"), "h2"), _table(rows, [3.3, 3, 5, 6.5])]


def _verdict(case: CaseFile, f: Formatter) -> list:
    v = case.dispute.get("verdict")
    if not v:
        return []
    cur = case.dispute["currency"]
    text = [f.gettext("Refund %(amount)s", amount=f.money(v["refund_amount"], cur))]
    if v["return_required"]:
        text.append(f.gettext("return required"))
    parts = [_p(f.gettext("Verdict"), "h2"),
             _p(f.datetime(v["at"]) + " · " + " · ".join(text)),
             _p(v["message"] or "")]
    for role in ("buyer", "seller"):
        reply = v.get(f"{role}_reply")
        if reply:
            said = f.gettext("agrees") if reply == "agree" else f.gettext("disagrees")
            parts.append(_p(f.gettext(words.ROLES[role]) + ": " + said))
    return parts


def _refunds(case: CaseFile, f: Formatter) -> list:
    if not case.refunds:
        return []
    rows = [[f.gettext("Amount"), f.gettext("To"), f.gettext("Status"), f.gettext("Expected"), f.gettext("Landed")]]
    for r in case.refunds:
        to = (f.gettext("your balance on the platform") if r["destination"] == "platform_balance"
              else labels.payment_method(f, r.get("payment_method", "")))
        rows.append([f.money(r["amount"], r["currency"]), to,
                     f.gettext(words.REFUND_STATUS.get(r["status"], r["status"])),
                     f"{f.date(r['expected_earliest'])} – {f.date(r['expected_latest'])}",
                     f.date(r["settled_at"]) if r.get("settled_at") else ""])
    return [_p(f.gettext("Refunds"), "h2"), _table(rows, [2.8, 4, 3.5, 4.7, 2.8])]


def _evidence(case: CaseFile, f: Formatter) -> list:
    parts = [_p(f.gettext("Evidence"), "h2")]
    for side in ("buyer", "seller"):
        mine = [e for e in case.evidence if e["side"] == side]
        parts.append(_p(f.gettext(words.ROLES[side]) + f" — {len(mine)}", "body"))
        if not mine:
            parts.append(_p(f.gettext("No evidence from this side."), "small"))
            continue
        rows = [[f.gettext("Photo"), f.gettext("File"), "SHA-256"]]
        for e in mine:
            thumb = case.thumbnails.get(e["id"])
            picture = _thumbnail(thumb) if thumb else ""
            about = f"{e['file_name']}\n{e['media_type']}, {f.number(e['size'])} B\n{f.datetime(e['uploaded_at'])}"
            sha = e["sha256"]  # in two halves, so the column holds it
            rows.append([picture, _p(about), _p(f"{sha[:32]}\n{sha[32:]}", "mono")])
        parts.append(_table(rows, [3.4, 6.4, 8]))
        parts.append(Spacer(1, 4))
    return parts


def _thumbnail(data: bytes):
    try:
        image = Image(io.BytesIO(data))
    except Exception:  # an unreadable thumbnail: the file and its hash are still listed
        return ""
    scale = min(3.0 * cm / image.imageWidth, 3.0 * cm / image.imageHeight)
    image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
    return image


def _tracking(case: CaseFile, f: Formatter) -> list:
    if not case.tracks:
        return []
    parts = [_p(f.gettext("Parcel tracking"), "h2")]
    for track in case.tracks:
        label = f.gettext("The order's parcel") if track.parcel == "shipment" else f.gettext("The return parcel")
        rows = [[f.gettext("When"), f.gettext("Status"), f.gettext("Where")]]
        for c in track.checkpoints:
            rows.append([f.datetime(c.occurred_at), f.gettext(words_tracking.STATUSES.get(c.status, c.status)),
                         " — ".join(x for x in (c.location, c.message) if x)])
        parts += [_p(f"{label} · {track.carrier or ''} {track.tracking_number}"), _table(rows, [4, 4, 9.8]),
                  Spacer(1, 4)]
    return parts


def _messages(case: CaseFile, f: Formatter) -> list:
    if not case.messages:
        return []
    o = case.order
    rows = [[f.gettext("When"), f.gettext("Who"), f.gettext("Message")]]
    for m in case.messages:
        role = ("buyer" if m["author_id"] == o.buyer_id else "seller" if m["author_id"] == o.seller_id
                else m["author_role"])
        rows.append([f.datetime(m["created_at"]), _who(case, f, role, m["author_id"]), m["body"]])
    return [_p(f.gettext("Messages"), "h2"), _table(rows, [3.3, 4, 10.5])]


def _timeline(case: CaseFile, f: Formatter) -> list:
    cur = case.dispute["currency"]
    rows = [[f.gettext("When"), f.gettext("Who"), f.gettext("What"), f.gettext("Details")]]
    for e in case.dispute.get("timeline", []):
        det = e["details"] or {}
        bits = []
        if det.get("resolution") and "amount" in det:
            bits.append(f"{f.gettext(words.RESOLUTIONS.get(det['resolution'], det['resolution']))}, "
                        f"{f.money(det['amount'], cur)}")
        if "refund_amount" in det:
            bits.append(f.gettext("Refund %(amount)s", amount=f.money(det["refund_amount"], cur)))
        if det.get("tracking_number"):
            bits.append(f"{det.get('carrier') or ''} {det['tracking_number']}")
        if det.get("condition"):
            bits.append(f.gettext(words.CONDITIONS.get(det["condition"], det["condition"])))
        if det.get("file_name"):
            bits.append(det["file_name"])
        if det.get("message"):
            bits.append(f"“{det['message']}”")
        what = f.gettext(words.EVENTS.get(e["action"], e["action"]))
        if e["from_state"] != e["to_state"] and e["to_state"]:
            what += f" → {f.gettext(words.STATES.get(e['to_state'], e['to_state']))}"
        rows.append([f.datetime(e["at"]), f.gettext(words.ROLES.get(e["actor"], e["actor"])), what, "\n".join(bits)])
    return [_p(f.gettext("Timeline"), "h2"), _table(rows, [3.3, 2.8, 5.2, 6.5])]


def _notes(case: CaseFile, f: Formatter) -> list:
    if case.notes is None:  # R32: only staff read staff notes
        return []
    rows = [[f.gettext("When"), f.gettext("Note")]] + [[f.datetime(n["created_at"]), n["body"]] for n in case.notes]
    parts = [_p(f.gettext("Staff notes"), "h2"), _p(f.gettext("(never shown to the parties)"), "small")]
    return parts + ([_table(rows, [3.3, 14.5])] if case.notes else [_p(f.gettext("No notes yet."), "small")])
