"""R38 in the browser: the buyer asks for more protection from her order page (on her phone,
in Russian); the seller answers from the inbox (grant) and from the order page (decline);
both steps show on the order's timeline."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.web.test_seed_story_browser import sign_in


def test_R38_the_buyer_asks_for_more_protection_and_the_seller_answers(site):
    market = site.market
    buyer, seller = market.buyer(language="ru"), market.seller()
    order = market.order(buyer, seller, [(1850, 1)])

    anna = sign_in(site, buyer, locale="ru-RU", phone=True)
    anna.goto(f"/orders/{order['id']}")
    box = anna.get_by_test_id("protection-request")
    expect(box).to_contain_text("Нужно больше времени?")
    box.get_by_label("Зачем вам больше времени? (обязательно)").fill("Посылка застряла на таможне.")
    box.get_by_label("Сколько дней вы хотели бы (необязательно)").fill("20")
    box.get_by_role("button", name="Попросить продлить защиту").click()
    expect(anna.locator(".flash.ok")).to_contain_text("Запрос отправлен")
    expect(box).to_contain_text("Ждём его ответа")
    expect(anna.get_by_test_id("order-timeline")).to_contain_text("Покупатель попросил продлить защиту на 20 дней")
    assert anna.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    site.screenshot(anna, "order-protection-request-ru-phone")

    # The seller finds it in the inbox and grants 15 days there.
    star = sign_in(site, seller)
    star.goto("/inbox")
    asking = star.get_by_test_id("protection-requests")
    expect(asking).to_contain_text("Buyers asking for more protection")
    expect(asking).to_contain_text("Посылка застряла на таможне.")
    expect(asking.locator("input[name=days]")).to_have_value("20")
    site.screenshot(star, "seller-inbox-protection-request")
    asking.locator("input[name=days]").fill("15")
    asking.get_by_role("button", name="Extend protection").click()
    expect(star).to_have_url(f"{site.url}/inbox")
    expect(star.locator(".flash.ok")).to_contain_text("protection is extended")
    expect(star.get_by_test_id("protection-requests")).to_have_count(0)

    anna.reload()
    expect(anna.get_by_test_id("order-timeline")).to_contain_text("Продавец продлил защиту на 15 дней")
    expect(anna.get_by_test_id("protection")).to_contain_text("15 дней")

    # She asks again; this time the seller declines on the order page, saying why.
    box.get_by_label("Зачем вам больше времени? (обязательно)").fill("Всё ещё на таможне.")
    box.get_by_role("button", name="Попросить продлить защиту").click()
    expect(box).to_contain_text("Ждём его ответа")
    star.goto(f"/orders/{order['id']}")
    request = star.get_by_test_id("protection-request")
    expect(request).to_contain_text("The buyer asks for more protection")
    request.get_by_label("Why not? (optional, the buyer reads it)").fill("Customs releases it tomorrow.")
    request.get_by_role("button", name="Decline").click()
    expect(star.locator(".flash.ok")).to_contain_text("You declined the request")
    expect(star.get_by_test_id("order-timeline")).to_contain_text("The seller declined to extend protection")

    anna.reload()
    expect(box).to_contain_text("Продавец отклонил ваш последний запрос.")
    expect(box).to_contain_text("Customs releases it tomorrow.")
