"""The dispute page's stepper in Chromium: where the dispute is and what comes next, on a phone
in Russian (a column, nothing wider than the screen) and on a desktop in English (a row)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.web.test_seed_story_browser import sign_in


def test_the_dispute_page_shows_its_progress_on_a_phone_and_a_desktop(site):
    market = site.market
    buyer, seller = market.buyer(language="ru"), market.seller()
    d = market.negotiating_dispute(buyer, seller)

    anna = sign_in(site, buyer, locale="ru-RU", phone=True)
    anna.goto(f"/disputes/{d['id']}")
    stepper = anna.get_by_test_id("progress")
    expect(stepper.locator("li")).to_have_count(5)
    expect(stepper.locator("[aria-current=step]")).to_contain_text("Переговоры")
    expect(stepper.locator("li.done")).to_have_count(2)  # opened, the seller answered
    expect(stepper.locator("li.next")).to_contain_text(["Решение платформы", "Возврат"])
    assert anna.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    site.screenshot(anna, "dispute-page-phone-ru")

    star = sign_in(site, seller)
    star.goto(f"/disputes/{d['id']}")
    steps = star.get_by_test_id("progress").locator("li")
    expect(steps.locator(".label")).to_contain_text(["Opened", "The seller answers", "Negotiation",
                                                     "The platform decides", "Refund"])
    tops = [steps.nth(i).bounding_box()["y"] for i in range(5)]
    assert max(tops) - min(tops) < 2  # one row on a desktop
    site.screenshot(star, "dispute-progress")
