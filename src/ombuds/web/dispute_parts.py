"""What the dispute form and the dispute page share: the live language check (R9), the
evidence limits shown beside an upload, and attaching a file (R10).

Both route modules import this one; neither imports the other.
"""

from __future__ import annotations

from anyio import to_thread

from ombuds.domain import evidence as evidence_rules
from ombuds.domain.errors import DomainError
from ombuds.domain.text import written
from ombuds.services import evidence
from ombuds.web.pages import Page, language_refusal


async def check_language(page: Page, text: str, field: str) -> str | None:
    """R9: None if the text is in an allowed language, else what to tell the writer."""
    if not written(text):  # nothing that shows: the form says a text is needed, not which language
        return None
    allowed = tuple(page.app.policy.allowed_languages)
    checker = await to_thread.run_sync(page.app.language_checker)
    try:
        await to_thread.run_sync(lambda: checker.check(text, allowed=allowed, field=field))
    except DomainError as refused:
        found = refused.details.get("found")
        return language_refusal(page.f, found if isinstance(found, str) else None, list(allowed))
    return None


def evidence_limits(page: Page) -> dict:
    """R10: what may be uploaded, as the upload fields show it."""
    found = evidence_rules.limits(page.app.policy, max_image_pixels=page.settings.evidence_max_image_pixels)
    found["accept"] = ",".join(sorted({e for a in evidence_rules.ACCEPTED for e in a.extensions} |
                                      {a.media_type for a in evidence_rules.ACCEPTED}))
    return found


async def attach(page: Page, dispute_id: int, upload, shows: str | None = None) -> bool:
    """Add one uploaded file to the dispute's evidence, saying what it shows if the party said
    (R37); the outcome is flashed either way."""
    try:
        await evidence.check_may_add(page.app, caller=page.caller, dispute_id=dispute_id)
        await evidence.add_evidence(page.app, page.request.app.state.evidence_store, caller=page.caller,
                                    dispute_id=dispute_id, upload=evidence.Upload(upload.file, upload.filename),
                                    max_image_pixels=page.settings.evidence_max_image_pixels, shows=shows)
    except DomainError as exc:
        page.flash("error", page.f.gettext("The file %(name)s was not added: %(why)s", name=upload.filename,
                                           why=page.error_text(exc)))
        return False
    page.flash("ok", page.f.gettext("%(name)s is added to the evidence.", name=upload.filename))
    return True
