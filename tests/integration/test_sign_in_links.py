"""R43: buyers and sellers reach Ombuds' pages from the marketplace without a second password.

The marketplace asks for a sign-in link; it signs its person in once, within its lifetime, and
lands on the page it was asked for. Used, expired and forged links get a clear page in the
reader's language and sign nobody in; landing pages are Ombuds' own (no open redirect); only the
link's hash is stored; and a policy switch lets Ombuds' own e-mails carry such links.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from ombuds.bootstrap import create_app
from ombuds.services.delivery import DispatchConfig
from ombuds.services.dispatch import drain
from ombuds.store.db import sync_url
from tests.conftest import MARKETPLACE_KEY, settings_for
from tests.factories import Marketplace

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def ask_link(market: Marketplace, person, landing_page: str | None = None, expect: int = 201):
    body = {} if landing_page is None else {"landing_page": landing_page}
    return market.platform.post(f"/users/{person.id}/sign-in-links", body, expect=expect)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def follow(client: TestClient, url: str, **headers):
    """Open the link (a GET that spends nothing), then press its one button (the POST)."""
    page = client.get(path_of(url), headers=headers)
    if page.status_code != 200:
        return page, None
    return page, client.post(path_of(url), data={"csrf_token": CSRF.search(page.text).group(1)},
                             headers=headers, follow_redirects=False)


def signed_in_as(client: TestClient) -> str | None:
    """The name the page's header shows for the signed-in person (None: nobody is)."""
    page = client.get("/account", follow_redirects=False)
    if page.status_code != 200:
        return None
    found = re.search(r'<a [^>]*href="/account"[^>]*>(?:<span[^>]*>)?([^<]+?)\s*(?:</span>|<)', page.text)
    return found.group(1).strip()


def test_R43_a_sign_in_link_signs_its_person_in_once_and_lands_on_the_page_asked_for(market):
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)
    d = market.open_dispute(buyer, order)
    link = ask_link(market, buyer, f"/disputes/{d['id']}")
    assert link["url"].startswith("http://127.0.0.1:8000/signin/link/sil_")
    assert link["landing_page"] == f"/disputes/{d['id']}" and link["single_use"] is True
    assert link["expires_at"] == "2026-03-02T09:15:00+00:00"  # 15 minutes (policy)

    client = market.client
    page, used = follow(client, link["url"])
    assert "Continue as" in page.text and page.headers["referrer-policy"] == "no-referrer"
    assert used.status_code == 303 and used.headers["location"] == f"/disputes/{d['id']}"
    assert signed_in_as(client) == name_of(market, buyer)
    assert client.get(f"/disputes/{d['id']}").status_code == 200

    client.cookies.clear()
    again, _ = follow(client, link["url"])
    assert again.status_code == 410 and "already been used" in again.text
    assert signed_in_as(client) is None


def test_R43_opening_a_link_does_not_spend_it_so_a_mail_scanner_cannot_use_it_up(market):
    buyer = market.buyer()
    link = ask_link(market, buyer)
    for _ in range(3):
        assert market.client.get(path_of(link["url"])).status_code == 200
    market.client.cookies.clear()
    _, used = follow(market.client, link["url"])
    assert used.status_code == 303 and used.headers["location"] == "/orders"  # the buyer's start page


def test_R43_a_link_expires_after_15_minutes_and_then_signs_nobody_in(market):
    seller = market.seller()
    link = ask_link(market, seller)
    market.advance("15m")
    page, _ = follow(market.client, link["url"])
    assert page.status_code == 410 and "This sign-in link has expired" in page.text
    assert signed_in_as(market.client) is None


def test_R43_a_link_opened_then_used_after_it_expired_is_refused(market):
    buyer = market.buyer()
    link = ask_link(market, buyer)
    page = market.client.get(path_of(link["url"]))
    market.advance("16m")
    used = market.client.post(path_of(link["url"]), data={"csrf_token": CSRF.search(page.text).group(1)},
                              follow_redirects=False)
    assert used.status_code == 410 and signed_in_as(market.client) is None


def test_R43_a_forged_link_gets_a_clear_page_in_the_readers_language(market):
    page = market.client.get("/signin/link/sil_" + "A" * 43, headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert page.status_code == 404
    assert "Ссылка для входа недействительна" in page.text
    assert market.client.get("/signin/link/not-even-a-link").status_code == 404
    assert signed_in_as(market.client) is None


def test_R43_a_used_link_is_explained_in_its_persons_language(market):
    anna = market.buyer(language="ru")
    link = ask_link(market, anna)
    follow(market.client, link["url"])
    market.client.cookies.clear()
    page = market.client.get(path_of(link["url"]))
    assert page.status_code == 410 and "Эта ссылка для входа уже использована" in page.text


@pytest.mark.parametrize("landing_page", [
    "https://evil.example/disputes/1", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
    "disputes/1", "/api/v1/orders", "/signin/link/sil_x", "/orders#x", "/orders/../api/v1/me", "/o\nrders",
])
def test_R43_a_link_lands_only_on_ombuds_own_pages(market, landing_page):
    buyer = market.buyer()
    refused = ask_link(market, buyer, landing_page, expect=422).json()
    assert refused["code"] == "invalid_landing_page" and refused["field"] == "landing_page"
    assert count_links(market) == 0


def test_R43_only_the_marketplace_asks_for_links_for_buyers_and_sellers_it_registered(market):
    buyer, arbitrator = market.buyer(), market.arbitrator()
    assert buyer.post(f"/users/{buyer.id}/sign-in-links", {}, expect=403).json()["code"] == "marketplace_only"
    assert market.client.post(f"/api/v1/users/{buyer.id}/sign-in-links", json={}).status_code == 401
    missing = market.platform.post("/users/999999/sign-in-links", {}, expect=404).json()
    assert missing["code"] == "user_not_found"
    staff = ask_link(market, arbitrator, expect=422).json()
    assert staff["code"] == "staff_sign_in_with_password"  # passwords stay for staff
    bad = market.platform.post(f"/users/{buyer.id}/sign-in-links", {"landing_page": 5, "x": 1}, expect=422)
    assert bad.json()["code"] == "invalid_request"
    assert count_links(market) == 0


def test_R43_only_the_links_hash_is_stored(market, database_url):
    buyer = market.buyer()
    secret = ask_link(market, buyer)["url"].rsplit("/", 1)[1]
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM sign_in_links")).mappings().all()
    finally:
        engine.dispose()
    assert len(rows) == 1 and rows[0]["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(rows)


def test_R43_with_the_policy_switch_ombuds_own_emails_sign_their_reader_in(database_url, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text("sign_in_links_in_emails = true\nemail_sign_in_link_hours = 24\n")
    settings = settings_for(database_url).model_copy(update={"policy_file": policy})
    with TestClient(create_app(settings)) as client:
        market = Marketplace(client, MARKETPLACE_KEY)
        buyer, seller = market.buyer(), market.seller()
        d = market.open_dispute(buyer, market.order(buyer, seller))
        client.portal.call(drain, client.app.state.ombuds, DispatchConfig.from_settings(settings))
        mail = client.get("/mailbox").text
        first = re.findall(r'<a href="/mailbox/(\d+)"', mail)
        bodies = [client.get(f"/mailbox/{i}").text for i in first]
        links = {u for b in bodies for u in re.findall(r"http://127\.0\.0\.1:8000/signin/link/sil_[\w-]+", b)}
        assert len(links) >= 2  # one per e-mail, each its reader's own
        seller_link = next(u for u in links if _owner(client, u) == seller.id)
        _, used = follow(client, seller_link)
        assert used.status_code == 303 and used.headers["location"] == f"/disputes/{d['id']}"


def _owner(client: TestClient, url: str) -> int:
    secret = url.rsplit("/", 1)[1]

    async def run():
        from sqlalchemy import select

        from ombuds.store.tables_sign_in import sign_in_links
        async with client.app.state.ombuds.engine.connect() as conn:
            return (await conn.execute(select(sign_in_links.c.user_id).where(
                sign_in_links.c.token_hash == hashlib.sha256(secret.encode()).hexdigest()))).scalar_one()
    return client.portal.call(run)


def name_of(market: Marketplace, person) -> str:
    async def run():
        from sqlalchemy import select

        from ombuds.store.tables import users
        async with market.client.app.state.ombuds.engine.connect() as conn:
            return (await conn.execute(select(users.c.name).where(users.c.id == person.id))).scalar_one()
    return market.client.portal.call(run)


def count_links(market: Marketplace) -> int:
    async def run():
        from sqlalchemy import func, select

        from ombuds.store.tables_sign_in import sign_in_links
        async with market.client.app.state.ombuds.engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(sign_in_links))).scalar_one()
    return market.client.portal.call(run)
