"""A real ``ombuds serve`` process and Debian's Chromium driven by Playwright.

The server runs on the per-test database (SQLite and PostgreSQL) with the manual clock on
the Monday the other tests use, and with the in-process dispatcher on, so the local mailbox
fills as it would in the demo. Chromium is ``/usr/bin/chromium`` (``make install`` puts it
there with apt); Playwright's own browser download is never used.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import MARKETPLACE_KEY
from tests.databases import IN_CI
from tests.e2e.conftest import _log, running_server, show_log_if_failed
from tests.factories import Marketplace

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Screenshots refresh docs/screenshots/ only when asked (OMBUDS_SCREENSHOTS=1), so a test run
# never leaves the checkout modified; otherwise they are taken (the pages still render) into a
# temporary folder.
SCREENSHOTS = (Path(__file__).resolve().parents[3] / "docs" / "screenshots"
               if os.environ.get("OMBUDS_SCREENSHOTS") == "1" else None)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="package")  # not longer: Playwright's sync API holds an event loop open
def browser():
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is missing: `make browser` (apt-get install chromium) puts it there"
        if IN_CI:
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright import sync_api
    # Assertions wait as long as actions do (the context's 15 s): an htmx swap on a machine busy
    # with other work can take longer than Playwright's 5 s default for `expect`.
    sync_api.expect.set_options(timeout=15_000)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Site:
    url: str
    database_url: str
    http: httpx.Client
    market: Marketplace
    backend: str
    browser: object

    def set_password(self, user_id: int, password: str = PASSWORD) -> None:
        """What an operator does for a user registered over the API (``ombuds.web.accounts``)."""
        from ombuds.bootstrap import build_ombuds
        from ombuds.services.accounts import set_password
        from ombuds.settings import Settings

        async def run():
            app = build_ombuds(Settings(database_url=self.database_url, clock="manual"))
            try:
                await set_password(app, user_id=user_id, password=password)
            finally:
                await app.engine.dispose()
        # Playwright's sync API keeps an event loop on this thread: run ours on another.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(lambda: asyncio.run(run())).result()

    def visitor(self, *, locale: str = "en-US", phone: bool = False, javascript: bool = True):
        viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        context = self.browser.new_context(base_url=self.url, locale=locale, viewport=viewport,
                                           java_script_enabled=javascript,
                                           device_scale_factor=2 if phone else 1)
        context.set_default_timeout(15_000)
        return context.new_page()

    def person(self, email: str, *, locale: str = "en-US", password: str | None = None, **kw):
        """A browser of its own, signed in — with a password, or from the demo's list."""
        page = self.visitor(locale=locale, **kw)
        page.goto("/signin")
        if password:
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", password)
            page.click("form[action='/signin'] button[type=submit]")
        else:
            page.click(f"form[action='/signin/demo'] button:has-text('{email}')")
        page.wait_for_load_state()
        assert "/signin" not in page.url, f"{email} could not sign in"
        return page

    def screenshot(self, page, name: str) -> None:
        """Taken once per run (the SQLite one); kept in docs/screenshots/ with OMBUDS_SCREENSHOTS=1."""
        if self.backend == "sqlite":
            folder = SCREENSHOTS or Path(tempfile.gettempdir()) / "ombuds-screenshots"
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site(request, tmp_path, browser):
    database_url = request.getfixturevalue(f"{request.param}_url")
    with running_server(database_url, tmp_path, worker_in_process="true", sweep_interval_seconds="0.2",
                        evidence_dir=str(tmp_path / "evidence")) as (url, log):
        show_log_if_failed(request, log)
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as http:
            yield Site(url, database_url, http, Marketplace(http, MARKETPLACE_KEY), request.param, browser)
    problems = [line for line in _log(log).splitlines() if "Traceback" in line]
    assert not problems, f"the server logged errors:\n{_log(log)}"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
