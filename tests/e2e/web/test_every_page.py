"""Every page of the demo, as each kind of person reaches it, in English and Russian, on a
desktop and on a phone (390 × 844): no serious or critical accessibility violation (axe-core,
the engine vendored in ``axe-playwright-python``), no sideways scrolling on the phone, and no
English left on a Russian page.

One server (the demo's marketplace, seeded by ``ombuds.demo.seed``) and one browser serve the
whole module; each person's pages are found by following the links on their pages.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import _log, running_server

DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
ROLES = {"Anna Petrova": "buyer", "Ben Carter": "buyer", "Shenzhen Star Store": "seller",
         "Berlin Bits": "seller", "Mara Quinn": "arbitrator"}
PEOPLE = tuple(ROLES)
# Pages reached by links but not pages of their own (files, the API's documentation).
NOT_PAGES = re.compile(r"^/(assets|docs|openapi\.json|redoc|evidence|metrics|api)/?|^.*\.pdf$")
# How many pages of one kind each person's crawl visits (enough to reach every state the
# demo seeds), and how many of one kind are checked per role: a page shown to everyone alike
# is checked once, an order or dispute page twice per role (they differ by state).
PER_KIND = 3
CHECKED = {"/orders/N": 2, "/disputes/N": 2}
SAME_FOR_EVERYONE = re.compile(r"^/(policy|mailbox|account|signin)")
# Latin words a Russian page may show outside people's own data: names of things.
BRANDS = {"Ombuds", "API", "EN", "RU", "UTC", "GMT", "Visa", "Mastercard", "Maestro", "WebMoney",
          "Western", "Union", "QIWI", "Alipay", "PDF", "JPEG", "PNG", "HEIC", "MP", "MOV", "WEBP",
          "MSK", "CET", "CEST", "R", "USD", "EUR", "RUB", "SMTP", "HTML"}


def kind_of(path: str) -> str:
    """``/orders/7`` and ``/orders/5`` are one kind of page; ``/orders`` another."""
    return re.sub(r"\d+", "N", path.split("?")[0])


@pytest.fixture(scope="module")
def demo(sqlite_databases, tmp_path_factory):
    """The demo marketplace (the same seed as ``make demo``) behind a real server."""
    from ombuds.demo import seed
    from ombuds.settings import Settings

    url = sqlite_databases.create()
    tmp = tmp_path_factory.mktemp("every-page")
    settings = Settings(database_url=url, clock="manual", marketplace_key="every-page-key",
                        worker_in_process=False, policy_file=None)
    from ombuds.store.migrate import upgrade
    upgrade(url)
    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright's sync API owns this thread's loop
        pool.submit(lambda: asyncio.run(seed(settings))).result()
    with running_server(url, tmp, marketplace_key="every-page-key",
                        evidence_dir=str(tmp / "evidence")) as (base, log):
        yield base
        problems = [line for line in _log(log).splitlines() if "Traceback" in line or "untranslated" in line]
        assert not problems, f"the server logged problems:\n{_log(log)}"
    sqlite_databases.drop(url)


@pytest.fixture(scope="module")
def chromium(browser):
    """The package's one browser: Playwright's sync API allows one running instance per thread."""
    return browser


@pytest.fixture(scope="module")
def pages(demo, chromium) -> dict[str, list[str]]:
    """Each person's pages, found by following links from their start page."""
    found = {None: ["/signin", "/no/such/page"]}
    checked: dict = {}
    for name in PEOPLE:
        context = chromium.new_context(base_url=demo, viewport=DESKTOP)
        page = context.new_page()
        sign_in(page, name)
        seen, kinds, queue = set(), {}, deque([urlsplit(page.url).path])
        while queue:
            path = queue.popleft()
            kind = kind_of(path)
            if path in seen or kinds.get(kind, 0) >= PER_KIND:
                continue
            seen.add(path)
            kinds[kind] = kinds.get(kind, 0) + 1
            page.goto(path)
            for href in page.eval_on_selector_all("main a[href^='/'], header a[href^='/'], footer a[href^='/']",
                                                  "els => els.map(e => e.getAttribute('href'))"):
                href = href.split("#")[0]
                if href and not NOT_PAGES.match(href) and href not in seen:
                    queue.append(href)
        role = ROLES[name]
        found[name] = []
        for path in sorted(seen, key=lambda p: (p != "/", p)):
            kind = kind_of(path)
            key = kind if SAME_FOR_EVERYONE.match(kind) else (role, kind)
            if path != "/" and checked.get(key, 0) < CHECKED.get(kind, 1):
                checked[key] = checked.get(key, 0) + 1
                found[name].append(path)
        context.close()
    found["Anna Petrova"].append("/disputes/abc")
    assert any("/lines/" in p for p in found["Anna Petrova"]), "the dispute form was not reached"
    assert any(p.startswith("/disputes/") for p in found["Mara Quinn"]), "no case page was reached"
    return found


def sign_in(page, name: str) -> None:
    page.goto("/signin")
    page.click(f"form[action='/signin/demo'] button:has-text('{name}')")
    page.wait_for_load_state()


def visit_all(demo, chromium, pages, *, viewport: dict, lang: str, check, skip=()) -> list[str]:
    problems = []
    for name, paths in pages.items():
        paths = [p for p in paths if not p.startswith(skip)]
        context = chromium.new_context(base_url=demo, viewport=viewport,
                                       locale="ru-RU" if lang == "ru" else "en-US")
        context.add_cookies([{"name": "ombuds_lang", "value": lang, "url": demo}])
        page = context.new_page()
        if name:
            sign_in(page, name)
        for path in paths:
            page.goto(path)
            problems += [f"{name or 'signed out'} {path}: {p}" for p in check(page)]
        context.close()
    return problems


def axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe
    result = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result.response["violations"] if v["impact"] in ("serious", "critical")]


SIDEWAYS = """() => {
  const width = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > width + 1)
    out.push('the page is ' + document.documentElement.scrollWidth + 'px wide');
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden'
        || style.clip === 'rect(0px, 0px, 0px, 0px)') continue;
    if (['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1)
      out.push('scrolls sideways: ' + el.tagName.toLowerCase() + '.' + el.className);
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1 && !el.closest('[class*=skip-link]'))
      out.push('beyond the right edge: ' + el.tagName.toLowerCase() + ' "' + (el.innerText || '').slice(0, 40) + '"');
  }
  return out.slice(0, 5);
}"""

LATIN_OUTSIDE_DATA = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('[translate=no], script, style, [hidden], .skip-link').forEach(el => el.remove());
  return copy.innerText.match(/[A-Za-z][A-Za-z'-]*/g) || [];
}"""


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_no_page_has_a_serious_accessibility_violation_on_a_desktop(demo, chromium, pages, lang):
    problems = visit_all(demo, chromium, pages, viewport=DESKTOP, lang=lang, check=axe_violations)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_no_page_scrolls_sideways_or_has_a_serious_violation_on_a_phone(demo, chromium, pages, lang):
    def check(page):
        return [*page.evaluate(SIDEWAYS), *axe_violations(page)]
    problems = visit_all(demo, chromium, pages, viewport=PHONE, lang=lang, check=check)
    assert not problems, "\n".join(problems)


def test_russian_pages_show_no_english_outside_peoples_own_words(demo, chromium, pages):
    """Names, titles and what people wrote are marked ``translate="no"``; everything else on
    a Russian page is Russian, or the name of a thing (Visa, UTC)."""
    def check(page):
        english = sorted(set(page.evaluate(LATIN_OUTSIDE_DATA)) - BRANDS)
        return [f"English words: {english[:12]}"] if english else []
    problems = visit_all(demo, chromium, pages, viewport=DESKTOP, lang="ru", check=check)
    assert not problems, "\n".join(problems)
