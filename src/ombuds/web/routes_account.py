"""Signing in and out, the language, the account's password, the demo clock, the policy."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse

from ombuds.domain.errors import DomainError
from ombuds.domain.time_zones import known_zones
from ombuds.services import accounts, users, web_sessions
from ombuds.services import clock as clock_service
from ombuds.web import policy_page
from ombuds.web.pages import LANG_COOKIE, PageDep, csrf_protect
from ombuds.wording.i18n import LANGUAGES

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
HOMES = {"buyer": "/orders", "seller": "/inbox", "arbitrator": "/arbitration"}
ADVANCE_DAYS = (1, 5)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site (no scheme, no host, no //evil.example)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@router.get("/")
async def home(page: PageDep):
    if page.user is None:
        return page.redirect("/signin")
    return page.redirect(HOMES.get(page.user.role, "/orders"))


@router.get("/signin")
async def signin_form(page: PageDep, next: str | None = None):
    if page.user is not None:
        return page.redirect(safe_next(next, HOMES.get(page.user.role, "/")))
    people = await accounts.demo_people(page.app) if page.demo else []
    return page.render("signin.html", next=safe_next(next, ""), people=people, email="", error=None)


@router.post("/signin")
async def signin(page: PageDep):
    email, password = page.field("email"), page.secret("password")
    user = await accounts.authenticate(page.app, email, password) if email and password else None
    if user is None:
        people = await accounts.demo_people(page.app) if page.demo else []
        return page.render("signin.html", status=401, next=safe_next(page.field("next"), ""), people=people,
                           email=email, error=page._("That e-mail and password do not match an account."))
    return await _signed_in(page, user)


@router.post("/signin/demo")
async def signin_demo(page: PageDep):
    """Demo only (manual clock): sign in as one of the people, without a password."""
    if not page.demo:
        return page.not_found()
    user_id = page.field("user_id")
    user = await accounts.get_user(page.app, int(user_id)) if user_id.isdigit() else None
    if user is None:
        return page.not_found()
    return await _signed_in(page, user)


async def _signed_in(page, user) -> RedirectResponse:
    await page.begin_session(user)
    return page.redirect(safe_next(page.field("next"), HOMES.get(user.role, "/orders")))


@router.post("/signout")
async def signout(page: PageDep):
    await web_sessions.end(page.app, session_id=page.session.get("sid"))  # everywhere its cookie is used
    page.session.clear()
    return page.redirect("/signin")


@router.post("/language")
async def choose_language(page: PageDep):
    lang = page.field("lang")
    response = page.redirect(safe_next(page.field("next"), "/"))
    if lang in LANGUAGES:  # remembered for a year, signed in or not
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax",
                            secure=page.settings.web_cookie_secure)
    return response


@router.get("/account")
async def account(page: PageDep):
    page.require()
    return page.render("account.html", error=None, zones=zone_choices())


def zone_choices() -> list[tuple[str, list[str]]]:
    """Every IANA zone, grouped by its region (Europe, America…), for the account page."""
    groups: dict[str, list[str]] = {}
    for name in sorted(known_zones()):
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/")):
            groups.setdefault(name.split("/", 1)[0], []).append(name)
    return sorted(groups.items())


@router.post("/account/time-zone")
async def change_time_zone(page: PageDep):
    """R33: the zone the pages and e-mails show times in; empty: the country's main zone."""
    user = page.require()
    try:
        now_in = await users.set_time_zone(page.app, user_id=user.id, time_zone=page.field("time_zone") or None)
    except DomainError as exc:
        return page.render("account.html", status=422, error=None, zone_error=page.error_text(exc),
                           zones=zone_choices())
    page.flash("ok", page.f.gettext("Times are now shown for %(zone)s.", zone=now_in))
    return page.redirect("/account")


@router.post("/account/password")
async def change_password(page: PageDep):
    user = page.require()
    current, new = page.secret("current"), page.secret("new")
    error = None
    if user.password_hash and await accounts.authenticate(page.app, user.email, current) is None:
        error = page.error_text(DomainError("wrong_password", "That is not your current password."))
    else:
        try:
            await accounts.set_password(page.app, user_id=user.id, password=new)
        except DomainError as exc:
            error = page.error_text(exc)
    if error:
        return page.render("account.html", status=422, error=error, zones=zone_choices())
    fresh = await accounts.get_user(page.app, user.id)
    if fresh is None:  # the account is gone: nothing to keep signed in
        return page.redirect("/signin")
    page.session["mark"] = fresh.session_mark  # this session stays; every other one ends
    page.flash("ok", page._("Your password has been changed."))
    return page.redirect("/account")


@router.post("/clock/advance")
async def advance_clock(page: PageDep):
    """Demo only: move the manual clock; every deadline that falls due runs, in order."""
    if not page.demo:
        return page.not_found()
    days = page.field("days")
    if not days.isdigit() or int(days) not in ADVANCE_DAYS:
        return page.not_found()
    now, fired = await clock_service.advance(page.app, timedelta(days=int(days)))
    page.flash("info", page.f.gettext("The demo clock moved %(days)s ahead, to %(now)s.",
                                      days=page.f.days(int(days)), now=page.f.datetime(now)))
    return page.redirect(safe_next(page.field("next"), "/"))


@router.get("/policy")
async def policy(page: PageDep):
    """The operator's policy in force, read-only."""
    page.require()
    return page.render("policy.html", sections=policy_page.sections(page.f, page.app.policy))
