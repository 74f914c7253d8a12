"""R43: following a sign-in link from the marketplace.

``GET /signin/link/<secret>`` shows whom the link signs in and one button; only the button's
``POST`` spends the link, so a mail scanner or a link preview that opens the URL does not use it
up. A used, expired or unknown link gets a page that says so, in the reader's language (the
person's own when the link is known), and signs nobody in.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from ombuds.services import sign_in_links
from ombuds.services.sign_in_links import LinkLookup, LinkState
from ombuds.web.pages import LANG_COOKIE, Page, PageDep, csrf_protect
from ombuds.wording.i18n import formatter, from_accept_language, pick_language

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
STATUS = {LinkState.used: 410, LinkState.expired: 410, LinkState.unknown: 404}
PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@router.get("/signin/link/{secret}")
async def follow_link(secret: str, page: PageDep) -> HTMLResponse:
    found = await sign_in_links.look_up(page.app, secret)
    _speak_their_language(page, found)
    if found.state is not LinkState.valid:
        return _refused(page, found)
    response = page.render("sign_in_link.html", found=found, secret=secret, refused=None)
    response.headers.update(PRIVATE)
    return response


@router.post("/signin/link/{secret}")
async def use_link(secret: str, page: PageDep):
    found = await sign_in_links.spend(page.app, secret)
    if found.state is not LinkState.valid or found.user is None or found.landing_page is None:
        _speak_their_language(page, found)
        return _refused(page, found)
    await page.begin_session(found.user)
    return page.redirect(found.landing_page)


def _speak_their_language(page: Page, found: LinkLookup) -> None:
    """The page is in the language the reader chose, else the person's the link was for; its
    times in that person's zone (R33)."""
    lang = pick_language(page.request.cookies.get(LANG_COOKIE), found.user.language if found.user else None,
                         from_accept_language(page.request.headers.get("accept-language")))
    page.lang, page.f = lang, formatter(lang, found.user.time_zone if found.user else "UTC")
    page._ = page.f.gettext


def _refused(page: Page, found: LinkLookup) -> HTMLResponse:
    response = page.render("sign_in_link.html", status=STATUS[found.state], found=found, secret=None,
                           refused=found.state.value)
    response.headers.update(PRIVATE)
    return response
