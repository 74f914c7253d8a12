"""Files on the dispute form (R10, R37): chosen several at once, kept through every round of
the form, said what they show, attached when the dispute opens.

Without JavaScript the files travel with the form and wait on the server from the first
round on (``services.evidence_uploads``); with it, ``app.js`` sends each file to
``…/dispute/files`` as soon as it is chosen, so a large video is sent once and the form never
carries it again.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ombuds.domain.errors import DomainError
from ombuds.domain.evidence_guidance import Proof, proofs_for
from ombuds.domain.identity import saved_id
from ombuds.domain.orders import Order, OrderLine
from ombuds.services import evidence, evidence_uploads
from ombuds.web.pages import Page, PageDep, PathId, csrf_protect
from ombuds.web.routes_orders import load_order

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


def _store(page: Page):
    return page.request.app.state.evidence_store


async def stage_chosen(page: Page, o: Order, line: OrderLine, field: str = "evidence") -> list[str]:
    """Keep every file chosen in ``field``; returns what to say about those refused."""
    refused = []
    for upload in page.uploads(field):
        try:
            await evidence_uploads.stage(page.app, _store(page), caller=page.caller, order_id=saved_id(o),
                                         line_id=saved_id(line),
                                         upload=evidence.Upload(upload.file, upload.filename))
        except DomainError as exc:
            refused.append(page.f.gettext("The file %(name)s was not added: %(why)s", name=upload.filename,
                                          why=page.error_text(exc)))
    return refused


def shows_chosen(page: Page) -> dict[int, str]:
    """What each waiting file shows, as chosen on the form (``shows_<id>``)."""
    chosen = {}
    for key, value in page.form.multi_items():
        if key.startswith("shows_") and key[6:].isdigit() and isinstance(value, str) and value:
            chosen[int(key[6:])] = value
    return chosen


async def files_part(page: Page, line: OrderLine, reason: str, refused: list[str] | None = None) -> dict:
    """What the form's file part shows: the waiting files with their choice of what they show,
    the proofs offered (the reason's first), and the files just refused."""
    helps = proofs_for(page.app.policy.evidence_guidance, reason)
    return {"waiting": await evidence_uploads.waiting(page.app, caller=page.caller, line_id=saved_id(line)),
            "shows": shows_chosen(page), "refused": refused or [],
            "proofs": [*helps, *(p for p in Proof if p not in helps)]}


async def remove_chosen(page: Page, line: OrderLine) -> bool:
    """The form's "remove" button next to a waiting file; True if one was asked for."""
    upload_id = page.field("remove_file")
    if not upload_id.isdigit():
        return False
    await evidence_uploads.remove(page.app, _store(page), caller=page.caller, line_id=saved_id(line),
                                  upload_id=int(upload_id))
    return True


async def attach_all(page: Page, dispute_id: int, line: OrderLine) -> None:
    """The dispute is open: every waiting file becomes its evidence; each outcome is said."""
    done = await evidence_uploads.attach_waiting(
        page.app, _store(page), caller=page.caller, dispute_id=dispute_id, line_id=saved_id(line),
        shows=shows_chosen(page), max_image_pixels=page.settings.evidence_max_image_pixels)
    added = [name for name, refusal in done if refusal is None]
    if added:
        page.flash("ok", page.f.ngettext("%(num)d file is added to the evidence.",
                                         "%(num)d files are added to the evidence.", len(added)))
    for name, refusal in done:
        if refusal is not None:
            page.flash("error", page.f.gettext("The file %(name)s was not added: %(why)s", name=name,
                                               why=page.error_text(refusal)))


@router.post("/orders/{order_id}/lines/{line_id}/dispute/files")
async def stage_files(order_id: PathId, line_id: PathId, page: PageDep):
    """JavaScript sends each chosen file here at once; the answer is the list of waiting files."""
    user = page.require("buyer")
    o = await load_order(page, order_id)
    line = next((ln for ln in o.lines if ln.id == line_id), None)
    if o.buyer_id != user.id or line is None:
        return page.not_found()
    reason = page.field("reason") or "other"
    if not page.uploads("file"):
        return page.render("_waiting_files.html", status=422, **await files_part(
            page, line, reason, [page.error_text(DomainError("file_required", ""))]))
    refused = await stage_chosen(page, o, line, "file")
    return page.render("_waiting_files.html", status=422 if refused else 200,
                       **await files_part(page, line, reason, refused))
