"""What every page handler gets: who is signed in, in which language, at what time — and
how it answers: a rendered template, a redirect after a form, or an error page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi import Path as InPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.ext import _make_new_gettext, _make_new_ngettext
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile

from ombuds import __version__
from ombuds.adapters.http_files import BodyTooLarge, bounded
from ombuds.domain.bounds import MAX_ID
from ombuds.domain.errors import DomainError
from ombuds.domain.time_zones import main_zone
from ombuds.services import web_sessions
from ombuds.services.accounts import WebUser, get_user
from ombuds.services.context import Caller, Ombuds
from ombuds.web import drafts
from ombuds.web.sessions import CSRF_FIELD, CSRF_HEADER, Session
from ombuds.wording import labels, words, words_tracking
from ombuds.wording.i18n import LANGUAGE_NAMES, N_, Formatter, formatter, from_accept_language, pick_language

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "ombuds_lang"
FORM_LIMIT = 256 * 1024  # a form without a file
FILE_OVERHEAD = 64 * 1024  # multipart boundaries and fields around a file

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  extensions=["jinja2.ext.i18n"], trim_blocks=True,
                  lstrip_blocks=True, auto_reload=False)
env.globals.update(main_zone=main_zone, words=words, words_tracking=words_tracking, labels=labels,
                   LANGUAGE_NAMES=LANGUAGE_NAMES, version=__version__, CSRF_FIELD=CSRF_FIELD)


def people_s_own(value) -> Markup:
    """What people wrote or named (a name, a title, a tracking number), marked so that
    nobody translates it — neither a browser's translator nor the test that a Russian page
    shows no English outside such words."""
    return Markup('<span translate="no">{}</span>').format("" if value is None else value)


env.filters["data"] = people_s_own
_GETTEXT: dict[str, dict[str, object]] = {}


def _gettext_for(f: Formatter) -> dict[str, object]:
    if f.lang not in _GETTEXT:
        _GETTEXT[f.lang] = {"gettext": _make_new_gettext(f.lookup),
                            "ngettext": _make_new_ngettext(f.lookup_plural)}
    return _GETTEXT[f.lang]


class WebExit(Exception):
    """Ends a page handler with a response (sign-in needed, not found, refused)."""

    def __init__(self, response: Response):
        self.response = response


class Page:
    def __init__(self, request: Request, ombuds: Ombuds, session: Session, user: WebUser | None,
                 lang: str, now: datetime):
        self.request = request
        self.app = ombuds
        self.settings = request.app.state.settings
        self.session = session
        self.user = user
        self.lang = lang
        self.f = formatter(lang, user.time_zone if user else "UTC")
        self.now = now
        self._ = self.f.gettext

    # Who ----------------------------------------------------------------------------
    @property
    def signed_in(self) -> WebUser:
        """The signed-in user, for a handler behind ``require``: without one, the person is sent
        to sign in, as ``require`` does."""
        if self.user is None:
            raise WebExit(self._to_sign_in())
        return self.user

    @property
    def caller(self) -> Caller:
        return self.signed_in.caller

    @property
    def role(self) -> str | None:
        return self.user.role if self.user else None

    @property
    def demo(self) -> bool:
        return self.app.clock.manual

    @property
    def mailbox(self) -> bool:
        """Is the local mailbox served (no SMTP server; the demo, or turned on)?"""
        settings = self.settings
        return not settings.smtp_host and (settings.clock == "manual" or settings.mailbox_page)

    @property
    def form(self) -> FormData:
        return getattr(self.request.state, "form", None) or FormData()

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else default

    def secret(self, name: str) -> str:
        """A field as typed, spaces kept (a password); "" when absent or not text."""
        value = self.form.get(name)
        return value if isinstance(value, str) else ""

    def upload(self, name: str) -> UploadFile | None:
        value = self.form.get(name)
        return value if isinstance(value, UploadFile) and value.filename else None

    def uploads(self, name: str) -> list[UploadFile]:
        """Every file chosen in a ``multiple`` file field (R10: several at once)."""
        return [v for v in self.form.getlist(name) if isinstance(v, UploadFile) and v.filename]

    async def restore(self, *actions: str) -> tuple[str, dict[str, str]] | None:
        """What this person typed into one of the forms at ``actions`` when their session had
        ended (``web.drafts``): (the form's address, its fields), once, to put back in the form."""
        token = self.session.get("draft")
        if not token or self.user is None:
            return None
        found = await drafts.take(self.app, token, actions=list(actions), user_id=self.user.id)
        if found is not None:
            self.session.pop("draft")
            self.flash("info", self._("What you typed before signing in again is back in the form: check it "
                                      "and send it again."))
        return found

    def require(self, *roles: str) -> WebUser:
        user = self.signed_in
        if roles and user.role not in roles:
            raise WebExit(self.not_found())
        return user

    def _to_sign_in(self) -> RedirectResponse:
        target = self.request.url.path + (f"?{self.request.url.query}" if self.request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)

    # Answers ------------------------------------------------------------------------
    def render(self, template: str, status: int = 200, **context) -> HTMLResponse:
        html = env.get_template(template).render(page=self, f=self.f, user=self.user, now=self.now,
                                                 csrf_token=self.session.csrf_token(),
                                                 flashes=self.session.take_flashes(),
                                                 **_gettext_for(self.f), **context)
        return HTMLResponse(html, status_code=status)

    async def begin_session(self, user: WebUser) -> None:
        """Sign ``user`` in: a new session (no fixation, a new CSRF token), kept server-side so
        that signing out ends it everywhere; a draft left by the session that ended survives."""
        draft = self.session.get("draft")  # what they typed when their last session ended (web.drafts)
        self.session.clear()
        if draft:
            self.session["draft"] = draft
        self.session["uid"] = user.id
        self.session["mark"] = user.session_mark
        self.session["sid"] = await web_sessions.start(self.app, user_id=user.id)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    def flash(self, kind: str, text: str) -> None:
        self.session.flash(kind, text)

    def not_found(self) -> HTMLResponse:
        return self.render("error.html", status=404, title=self._("Not found"),
                           message=self._("There is nothing here — or it is not yours to see."))

    def error_text(self, exc: DomainError, *, currency: str | None = None) -> str:
        """The service's refusal in the page's language, with its details filled in; amounts
        as money in ``currency`` (the order's), never as minor units."""
        text = words.ERRORS.get(exc.code)
        if exc.code == "language_not_allowed":
            found, allowed = exc.details.get("found"), exc.details.get("allowed")
            languages = [str(a) for a in allowed] if isinstance(allowed, list | tuple) and allowed else ["en"]
            return language_refusal(self.f, found if isinstance(found, str) else None, languages)
        if text is None:
            return exc.message
        details: dict[str, Any] = {k: v for k, v in exc.details.items()}
        for key in ("passed_at", "opens_at"):
            if key in details:
                details[key] = self.f.datetime(details[key])
        if "state" in details:
            details["state"] = self._(words.STATES.get(details["state"], details["state"]))
        for key in ("max_amount", "amount", "refundable"):
            if key in details and currency and isinstance(details[key], int):
                details[key] = self.f.money(details[key], currency)
        if "max_amount" in details:
            details["max"] = details["max_amount"]
        try:
            return self._(text, **{k: v for k, v in details.items()}) if "%(" in text else self._(text)
        except (KeyError, TypeError, ValueError):
            return exc.message


def language_refusal(f: Formatter, found: str | None, allowed: list[str]) -> str:
    """R9's refusal, naming the language found and what to do, in the reader's language."""
    names = [f.language(code) for code in allowed]
    allowed_words = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " / " + names[-1]
    if found and found != "und":
        return f.gettext("This text looks %(language)s. Disputes are handled in %(allowed)s: please "
                         "write it in %(allowed)s (a translator can help).",
                         language=f.language(found), allowed=allowed_words)
    return f.gettext("This text is not written in %(allowed)s. Disputes are handled in %(allowed)s: "
                     "please write it in %(allowed)s (a translator can help).", allowed=allowed_words)


async def get_page(request: Request) -> Page:
    ombuds: Ombuds = request.app.state.ombuds
    session: Session = _session_of(request)
    user = None
    if session.get("uid"):
        user = await get_user(ombuds, session["uid"])
        if (user is None or session.get("mark") != user.session_mark
                or not await web_sessions.alive(ombuds, session_id=session.get("sid"), user_id=user.id)):
            user = None
            session.pop("uid")
            session.pop("mark")
            session.pop("sid")
    lang = pick_language(request.cookies.get(LANG_COOKIE), user.language if user else None,
                         from_accept_language(request.headers.get("accept-language")))
    return Page(request, ombuds, session, user, lang, await ombuds.now())


PageDep = Annotated[Page, Depends(get_page)]
# An id in a page's address: out of range (R42) is "not found", as in the API.
PathId = Annotated[int, InPath(ge=1, le=MAX_ID)]


def _body_limit(request: Request) -> int:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        policy = request.app.state.ombuds.policy
        return max(policy.evidence_photo_max_bytes, policy.evidence_video_max_bytes) + FILE_OVERHEAD
    return FORM_LIMIT


async def csrf_protect(request: Request):
    """Every form the pages accept carries the session's CSRF token (field or header)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        yield
        return
    session: Session = _session_of(request)
    try:
        # Several files at once (R10), within one body no larger than the largest single file.
        files = request.app.state.ombuds.policy.evidence_max_files_per_side
        form = await bounded(request, _body_limit(request)).form(max_files=files, max_fields=50 + 2 * files)
    except BodyTooLarge:
        raise WebExit(_plain(request, 413, N_("The upload is too large."))) from None
    except Exception:  # a body that is not a form
        raise WebExit(_plain(request, 400, N_("This request is not a form."))) from None
    request.state.form = form
    field = form.get(CSRF_FIELD)
    sent = field if isinstance(field, str) else None
    if not session.csrf_ok(sent or request.headers.get(CSRF_HEADER)):
        await form.close()
        if drafts.from_this_site(request) and not request.headers.get("hx-request"):
            raise WebExit(await _keep_what_was_typed(request, session, form))
        raise WebExit(_plain(request, 403, N_("This form has expired or did not come from Ombuds. "
                                              "Go back, reload the page and try again.")))
    try:
        yield
    finally:
        await form.close()


async def _keep_what_was_typed(request: Request, session: Session, form: FormData) -> RedirectResponse:
    """A form of ours that arrived without its session (ended, or renewed in another tab): keep
    what was typed and go back to its page, through the sign-in page if need be."""
    back = drafts.back_to(request)
    session["draft"] = await drafts.keep(request.app.state.ombuds, action=request.url.path, back=back,
                                         fields=drafts.typed(form, {CSRF_FIELD}), user_id=session.get("uid"))
    f = formatter(pick_language(request.cookies.get(LANG_COOKIE),
                                from_accept_language(request.headers.get("accept-language"))))
    session.flash("info", f.gettext("Your session had ended, so nothing was sent. What you typed is kept: "
                                    "sign in again if asked, and you will find it in the form."))
    return RedirectResponse(back, status_code=303)


def _plain(request: Request, status: int, text: str) -> HTMLResponse:
    f = formatter(pick_language(request.cookies.get(LANG_COOKIE),
                                from_accept_language(request.headers.get("accept-language"))))
    html = env.get_template("plain_error.html").render(status=status, text=f.gettext(text), f=f,
                                                       **_gettext_for(f))
    return HTMLResponse(html, status_code=status)


def _session_of(request: Request) -> Session:
    session = request.scope.get("session")
    return session if isinstance(session, Session) else Session()  # an empty session is falsy
