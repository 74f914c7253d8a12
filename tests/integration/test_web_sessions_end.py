"""Web sessions can be ended server-side: signing out ends the session everywhere its cookie
is used (a copied cookie included), and the marketplace can end every session of a user."""

from __future__ import annotations

import re

from sqlalchemy import select

from ombuds.store.tables import users

PASSWORD = "correct horse battery"
COOKIE = "ombuds_session"


class Browser:
    """One browser's cookie, sent through the test's one client (one event loop)."""

    def __init__(self, market, cookie: str | None = None):
        self.client = market.client
        self.cookie = cookie

    def request(self, method: str, path: str, **kw):
        self.client.cookies.clear()
        if self.cookie:
            self.client.cookies.set(COOKIE, self.cookie)
        r = self.client.request(method, path, follow_redirects=False, **kw)
        self.cookie = r.cookies.get(COOKIE, self.cookie) if COOKIE in r.headers.get("set-cookie", "") else self.cookie
        self.client.cookies.clear()
        return r

    def csrf(self, path: str = "/signin") -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', self.request("GET", path).text).group(1)

    def sign_in(self, email: str) -> Browser:
        self.request("POST", "/signin", data={"csrf_token": self.csrf(), "email": email, "password": PASSWORD})
        assert not self.signed_out()
        return self

    def signed_out(self) -> bool:
        r = self.request("GET", "/orders")
        return r.status_code in (302, 303) and "/signin" in r.headers["location"]


def _email_of(market, person) -> str:
    async def run():
        async with market.client.app.state.ombuds.engine.connect() as conn:
            return (await conn.execute(select(users.c.email).where(users.c.id == person.id))).scalar_one()
    return market.client.portal.call(run)


def _with_password(market, person):
    market.platform.post(f"/users/{person.id}/password", {"password": PASSWORD})
    return _email_of(market, person)


def test_signing_out_ends_the_session_wherever_its_cookie_is_used(market):
    email = _with_password(market, market.buyer())
    browser = Browser(market).sign_in(email)
    stolen = Browser(market, browser.cookie)
    assert not stolen.signed_out()

    browser.request("POST", "/signout", data={"csrf_token": browser.csrf("/account")})

    assert browser.signed_out() and stolen.signed_out()


def test_the_marketplace_ends_every_session_of_a_user(market):
    buyer, other = market.buyer(), market.buyer()
    phone = Browser(market).sign_in(_with_password(market, buyer))
    laptop = Browser(market).sign_in(_email_of(market, buyer))
    someone_else = Browser(market).sign_in(_with_password(market, other))

    ended = market.platform.post(f"/users/{buyer.id}/sessions/end")

    assert ended == {"user_id": buyer.id, "sessions_ended": 2}
    assert phone.signed_out() and laptop.signed_out()
    assert not someone_else.signed_out()
    assert buyer.post(f"/users/{buyer.id}/sessions/end", expect=403).json()["code"] == "marketplace_only"
    assert market.platform.post("/users/999999/sessions/end", expect=404).json()["code"] == "user_not_found"
