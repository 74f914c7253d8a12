"""The seed's story (DESIGN.md §9), played through the web pages in a real browser.

The buyer, the seller and the arbitrator each have their own Chromium context; the
marketplace records the paid order and the carrier's delivery over the API, as it would;
time moves with the demo bar's "+ 5 days" button (which runs every deadline that falls due)
or, for the last month, with the API. Each step asserts what that person sees.
Then the buyer's side again, in Russian.
"""

from __future__ import annotations

import re
import struct
from datetime import date

from babel.dates import format_date
from playwright.sync_api import expect

from tests.e2e.web.conftest import PASSWORD
from tests.factories import Person

DRESS, CASE = 1850, 499  # USD cents
RUSSIAN_DESCRIPTION = "В посылке не было синего платья, я сняла распаковку на видео."
ENGLISH_DESCRIPTION = "The parcel came with one dress only; the blue dress is missing. I filmed the unpacking."


def unpacking_video() -> bytes:
    """A small MP4 (its header is what the evidence check reads)."""
    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload
    return box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2avc1mp41") + box(b"mdat", bytes(4096))


def shop(site, *, buyer_language: str = "en"):
    market = site.market
    body = market.platform.post("/users", {"name": "Anna Petrova", "email": f"anna.{buyer_language}@example.ru",
                                           "role": "buyer", "country": "RU", "language": buyer_language},
                                expect=201)
    buyer = Person(market, body["id"], "buyer", body["token"], "RU")
    buyer.email = body["email"]
    seller = market.seller(country="CN")
    arbitrator = market.arbitrator()
    order = market.platform.post("/orders", {
        "buyer_id": buyer.id, "seller_id": seller.id, "currency": "USD", "payment_method": "visa",
        "external_ref": "AE-8129-4471",
        "lines": [{"title": "Summer dress, blue, size M", "unit_price": DRESS, "quantity": 1},
                  {"title": "Summer dress, red, size M", "unit_price": DRESS, "quantity": 1},
                  {"title": "Phone case", "unit_price": CASE, "quantity": 1}]}, expect=201)
    return market, buyer, seller, arbitrator, order


def sign_in(site, person, **kw):
    """From the demo's "sign in as…" list (the server runs with the manual clock)."""
    page = site.visitor(**kw)
    page.goto("/signin")
    page.click(f"form[action='/signin/demo']:has(input[name=user_id][value='{person.id}']) button")
    expect(page).not_to_have_url(re.compile(r"/signin"))
    return page


def advance(page, days: int) -> None:
    """The demo bar's button: the manual clock moves and due deadlines run."""
    page.click(f"#demo-clock form:has(input[name=days][value='{days}']) button")
    expect(page.locator(".flash.info")).to_be_visible()


def money_date(value: str, lang: str = "en") -> str:
    return format_date(date.fromisoformat(value[:10]), "d MMM y", locale=lang)


def test_the_seed_story_in_the_browser(site):
    market, buyer, seller, arbitrator, order = shop(site)
    dress, red_dress, case = order["lines"]

    # The buyer signs in with her password; the seller and the arbitrator from the demo list.
    site.set_password(buyer.id)
    anna = site.visitor()
    anna.goto("/orders")
    expect(anna).to_have_url(re.compile(r"/signin\?next=(/|%2F)orders"))
    anna.fill("input[name=email]", buyer.email)
    anna.fill("input[name=password]", "not her password")
    anna.click("form[action='/signin'] button[type=submit]")
    expect(anna.get_by_role("alert")).to_contain_text("do not match")
    anna.fill("input[name=password]", PASSWORD)
    anna.click("form[action='/signin'] button[type=submit]")
    expect(anna).to_have_url(re.compile(r"/orders$"))
    star = sign_in(site, seller)
    mara = sign_in(site, arbitrator)

    # Paid, not shipped: no protection yet, nothing to dispute.
    anna.goto("/orders")
    card = anna.get_by_test_id(f"order-{order['id']}")
    expect(card).to_contain_text("Waiting for the seller to ship")
    expect(card).to_contain_text("$41.99")

    # The seller ships with tracking from the order page: protection starts (R2).
    star.goto("/orders")
    star.click(f"[data-testid=order-{order['id']}] >> text=Ship this order")
    star.fill("input[name=carrier]", "China Post")
    star.fill("input[name=tracking_number]", "LP004417829CN")
    star.click("#ship button[type=submit]")
    expect(star.locator(".flash.ok")).to_contain_text("protection has started")
    market.platform.post(f"/orders/{order['id']}/deliver")  # the carrier's feed

    anna.goto("/orders")
    expect(card).to_contain_text("Protection ends in 60 days")
    expect(card).to_contain_text("on 1 May 2026")
    site.screenshot(anna, "buyer-orders")
    phone = sign_in(site, buyer, phone=True)
    phone.goto("/orders")
    expect(phone.get_by_test_id(f"order-{order['id']}")).to_contain_text("Protection ends in 60 days")
    site.screenshot(phone, "buyer-orders-phone")
    phone.close()

    # One dress is missing. She messages the seller (R4); no answer comes.
    anna.click(f"[data-testid=order-{order['id']}] h3 a")
    expect(anna.get_by_test_id(f"line-{dress['id']}")).to_contain_text("Open dispute")
    anna.fill("textarea[name=body]", "Hello, the blue dress was not in the parcel. Can you help?")
    anna.click("form[action$='/messages'] button")
    expect(anna.locator(".msg.mine")).to_contain_text("blue dress was not in the parcel")

    # She opens a dispute on the missing dress only: received, missing item, refund only, 100%.
    anna.get_by_test_id(f"line-{dress['id']}").get_by_role("button", name="Open dispute").click()
    expect(anna.get_by_test_id("amount")).to_have_value("18.50")
    expect(anna.get_by_test_id("evidence-limits")).to_contain_text("videos up to 200 MB")
    anna.select_option("select[name=reason]", "missing_items")
    # Written in Russian first: the live check says so as she types (R9)...
    anna.fill("textarea[name=description]", RUSSIAN_DESCRIPTION)
    refusal = anna.get_by_test_id("language-error")
    expect(refusal).to_contain_text("looks Russian")
    expect(refusal).to_contain_text("write it in English")
    # She attaches her unpacking video (R10): it is sent at once and waits for the dispute,
    # saying what it shows (R37: the form lists what helps a missing-item claim).
    expect(anna.get_by_test_id("evidence-helps")).to_contain_text("A video of opening the parcel")
    anna.set_input_files("input[name=evidence]", files=[{
        "name": "unpacking.mp4", "mimeType": "video/mp4", "buffer": unpacking_video()}])
    expect(anna.get_by_test_id("waiting-file")).to_contain_text("unpacking.mp4")
    anna.get_by_test_id("waiting-file").locator("select").select_option("unpacking_video")
    site.screenshot(anna, "dispute-form-language-error")
    # ...and the form refuses it when sent anyway, keeping what she typed and her video.
    anna.get_by_test_id("open-dispute").click()
    expect(anna.get_by_test_id("language-error")).to_contain_text("looks Russian")
    expect(anna.locator("textarea[name=description]")).to_have_value(RUSSIAN_DESCRIPTION)
    expect(anna.get_by_test_id("waiting-file")).to_contain_text("unpacking.mp4")
    # In English this time.
    anna.fill("textarea[name=description]", ENGLISH_DESCRIPTION)
    expect(anna.get_by_test_id("language-ok")).to_be_visible()
    anna.get_by_test_id("open-dispute").click()
    expect(anna.get_by_test_id("state")).to_have_text("Waiting for the seller's answer")
    expect(anna.get_by_test_id("deadline")).to_contain_text("5 days left")
    expect(anna.get_by_test_id("deadline")).to_contain_text("7 Mar 2026, 12:00 +0300")  # R33: in Moscow
    expect(anna.get_by_test_id("proposal-amount")).to_have_text("$18.50")
    expect(anna.get_by_test_id("gallery-buyer")).to_contain_text("unpacking.mp4")
    expect(anna.get_by_role("button", name="Withdraw…")).to_be_visible()
    first_id = int(re.search(r"/disputes/(\d+)", anna.url).group(1))
    site.screenshot(anna, "dispute-page")

    # The seller's inbox: the dispute, its respond-by and the time left (R12).
    star.goto("/inbox")
    row = star.get_by_test_id(f"inbox-{first_id}")
    expect(row).to_contain_text("5 days")
    expect(row).to_contain_text("Your move")
    site.screenshot(star, "seller-inbox")
    star.click(f"[data-testid=inbox-{first_id}] a")
    expect(star.get_by_test_id("accept")).to_be_visible()
    expect(star.get_by_test_id("deadline")).to_contain_text("Without an answer the buyer is refunded")

    # The seller says nothing for 5 days: closed in her favour, refunded to her Visa (R12, R20).
    anna.goto(f"/disputes/{first_id}")
    advance(anna, 5)
    expect(anna.get_by_test_id("state")).to_have_text("Closed")
    expect(anna.get_by_test_id("outcome")).to_contain_text("Refunded in full")
    expect(anna.get_by_test_id("outcome")).to_contain_text("$18.50 refunded to the buyer")
    expect(anna.get_by_test_id("timeline")).to_contain_text("The seller did not answer in time")
    [refund] = buyer.get("/refunds", params={"order_id": order["id"]})["items"]
    refunds = anna.get_by_test_id("refunds")
    expect(refunds).to_contain_text("Visa")
    expect(refunds).to_contain_text(f"between {money_date(refund['expected_earliest'])} and "
                                    f"{money_date(refund['expected_latest'])}")
    expect(anna.get_by_test_id("deadline")).to_have_count(0)
    # Both get e-mails (R23), kept in the demo's mailbox.
    mailbox = site.visitor()
    for who in (buyer.email, "Seller "):
        for _ in range(30):  # the in-process dispatcher sends within a moment
            mailbox.goto("/mailbox")
            if mailbox.locator("tbody tr", has_text="dispute.seller_silence").filter(has_text=who).count():
                break
            mailbox.wait_for_timeout(500)
        silence = mailbox.locator("tbody tr", has_text="dispute.seller_silence")
        expect(silence.filter(has_text=who).first).to_be_visible()
    mailbox.context.close()

    # She confirms receipt: the seller is paid for the other dress and the case, not the
    # refunded one (R1); 15 days remain for disputes (R6).
    anna.goto(f"/orders/{order['id']}")
    anna.get_by_role("button", name="Confirm receipt").click()
    expect(anna.locator(".flash.ok")).to_contain_text("Receipt confirmed")
    expect(anna.get_by_test_id("protection")).to_contain_text("Disputes can be opened for 15 days more")
    expect(anna.get_by_test_id(f"line-{dress['id']}")).to_contain_text("Refunded $18.50")
    star.goto(f"/orders/{order['id']}")
    expect(star.get_by_test_id(f"line-{red_dress['id']}")).to_contain_text("Paid to you: $18.50")
    expect(star.get_by_test_id(f"line-{case['id']}")).to_contain_text("Paid to you: $4.99")
    expect(star.get_by_test_id(f"line-{dress['id']}")).to_contain_text("Refunded $18.50")
    expect(star.get_by_test_id(f"line-{dress['id']}")).not_to_contain_text("Paid to you")

    # Ten days later the case turns out broken: a second dispute, inside the 15-day window.
    advance(anna, 5)
    advance(anna, 5)
    expect(anna.get_by_test_id("protection")).to_contain_text("Disputes can be opened for 5 days more")
    anna.get_by_test_id(f"line-{case['id']}").get_by_role("button", name="Open dispute").click()
    anna.select_option("select[name=reason]", "damaged")
    anna.check("input[name=resolution][value=return_and_refund]")
    # She is warned that return postage to China is at least 20 USD, more than the case (R11)...
    warning = anna.get_by_test_id("postage-warning")
    expect(warning).to_contain_text("Sending the item back to China costs at least $20.00")
    expect(warning).to_contain_text("more than the refund you ask for ($4.99)")
    # ...and switches to a partial refund without return.
    anna.get_by_test_id("switch-partial").click()
    expect(anna.locator("input[name=resolution][value=refund_only]")).to_be_checked()
    expect(anna.get_by_test_id("postage-warning")).to_have_count(0)
    anna.get_by_test_id("amount").fill("3.00")
    anna.fill("textarea[name=description]", "The phone case cracked after a week of normal use.")
    anna.get_by_test_id("open-dispute").click()
    expect(anna.get_by_test_id("state")).to_have_text("Waiting for the seller's answer")
    expect(anna.get_by_test_id("proposal-amount")).to_have_text("$3.00")
    second_id = int(re.search(r"/disputes/(\d+)", anna.url).group(1))

    # The seller counter-offers less (R13).
    star.goto("/inbox")
    star.click(f"[data-testid=inbox-{second_id}] a")
    star.get_by_test_id("propose-amount").fill("1.50")
    star.fill("#msg-propose", "We can refund half of what you ask.")
    star.get_by_test_id("propose").click()
    expect(star.locator(".flash.ok")).to_contain_text("Your proposal is sent")
    expect(star.get_by_test_id("state")).to_have_text("In negotiation")
    expect(star.get_by_test_id("deadline")).to_contain_text("7 days left")

    # She rejects it, with her reason.
    anna.reload()
    expect(anna.get_by_test_id("proposal")).to_contain_text("Proposal from the seller")
    expect(anna.get_by_test_id("proposal-amount")).to_have_text("$1.50")
    anna.get_by_test_id("reject-open").click()
    anna.fill("#msg-reject", "That does not cover a broken case.")
    anna.get_by_test_id("reject").click()
    expect(anna.locator(".flash.ok")).to_contain_text("You rejected the proposal")
    expect(anna.get_by_test_id("proposal")).to_contain_text("Rejected")
    expect(anna.get_by_test_id("accept")).to_have_count(0)

    # 7 days pass and the platform escalates by itself (R14).
    advance(anna, 5)
    advance(anna, 1)
    expect(anna.get_by_test_id("state")).to_have_text("In negotiation")
    advance(anna, 1)
    expect(anna.get_by_test_id("state")).to_have_text("With the platform's arbitrators")
    expect(anna.get_by_test_id("timeline")).to_contain_text("No agreement in time: escalated by the platform")

    # The arbitrator's queue, by deadline, with target and limit (R15); the case side by side.
    mara.goto("/arbitration")
    row = mara.get_by_test_id(f"queue-{second_id}")
    expect(row).to_contain_text("15 days left")
    expect(row).to_contain_text("$4.99")
    mara.click(f"[data-testid=queue-{second_id}] a")
    expect(mara.get_by_test_id("side-buyer")).to_contain_text("The phone case cracked")
    expect(mara.get_by_test_id("side-buyer")).to_contain_text("$3.00")
    expect(mara.get_by_test_id("side-seller")).to_contain_text("We can refund half of what you ask.")
    expect(mara.get_by_test_id("side-seller")).to_contain_text("$1.50")
    expect(mara.get_by_test_id("side-buyer")).to_contain_text("That does not cover a broken case.")
    site.screenshot(mara, "arbitrator-case")
    # The arbitrator grants a partial refund.
    mara.get_by_test_id("refund-amount").fill("2.50")
    mara.fill("#msg-decide", "The photos show a crack; a partial refund is fair.")
    mara.get_by_test_id("decide").click()
    expect(mara.locator(".flash.ok")).to_contain_text("The verdict is issued")
    expect(mara.get_by_test_id("verdict-amount")).to_have_text("$2.50")

    # Both reply "agree" (R16): it closes with a partial refund.
    anna.reload()
    expect(anna.get_by_test_id("reply-now")).to_be_visible()
    expect(anna.get_by_test_id("deadline")).to_contain_text("Reply to the verdict by")
    anna.get_by_test_id("agree").click()
    expect(anna.locator(".flash.ok")).to_contain_text("you agree")
    expect(anna.get_by_test_id("reply-now")).to_have_count(0)
    star.goto(f"/disputes/{second_id}")
    star.get_by_test_id("agree").click()
    expect(star.get_by_test_id("state")).to_have_text("Closed")
    anna.reload()
    expect(anna.get_by_test_id("outcome")).to_contain_text("Partly refunded")
    expect(anna.get_by_test_id("outcome")).to_contain_text("$2.50 refunded to the buyer")

    # Her refunds, each with its expected dates (R20).
    anna.goto("/refunds")
    expect(anna.get_by_test_id("refunds").locator("tbody tr")).to_have_count(2)
    expect(anna.get_by_test_id("refunds")).to_contain_text("$18.50")
    expect(anna.get_by_test_id("refunds")).to_contain_text("$2.50")

    # A month later she tries the dress line again: refused, one dispute per line (R5) and
    # the window is over (R6); a complaint remains (R24).
    market.advance("30d")
    anna.goto(f"/orders/{order['id']}")
    expect(anna.get_by_test_id("protection")).to_contain_text("Protection is over")
    expect(anna.get_by_test_id(f"line-{dress['id']}")).to_contain_text("A line can have one dispute only")
    expect(anna.get_by_test_id(f"line-{red_dress['id']}")).to_contain_text("The time to open a dispute ended on")
    expect(anna.get_by_role("button", name="Open dispute")).to_have_count(0)
    expect(anna.get_by_test_id("complain-hint")).to_be_visible()
    anna.goto(f"/orders/{order['id']}/lines/{dress['id']}/dispute")
    expect(anna.get_by_test_id("refused")).to_contain_text("only one dispute, ever")
    anna.goto(f"/orders/{order['id']}/lines/{red_dress['id']}/dispute")
    expect(anna.get_by_test_id("refused")).to_contain_text("The time to open a dispute ended on")
    anna.get_by_role("link", name="How to complain").click()
    expect(anna.locator("h1")).to_have_text("Complain to the platform")
    for page in (anna, star, mara):
        page.context.close()


def test_the_buyers_story_in_russian(site):
    market, buyer, seller, _, order = shop(site, buyer_language="ru")
    dress, _, case = order["lines"]
    seller.post(f"/orders/{order['id']}/ship", {"carrier": "China Post", "tracking_number": "LP004417829CN"})
    anna = sign_in(site, buyer, locale="ru-RU")

    # Her language is Russian: the pages speak it, with Russian dates and money.
    anna.goto("/orders")
    expect(anna.locator("h1")).to_have_text("Мои заказы")
    card = anna.get_by_test_id(f"order-{order['id']}")
    expect(card).to_contain_text("Защита закончится через 60 дней")
    expect(card).to_contain_text("41,99 $")

    anna.click(f"[data-testid=order-{order['id']}] h3 a")
    anna.get_by_test_id(f"line-{dress['id']}").get_by_role("button", name="Открыть спор").click()
    expect(anna.locator("h1")).to_have_text("Открыть спор")
    expect(anna.get_by_test_id("amount")).to_have_value("18.50")
    anna.fill("textarea[name=description]", RUSSIAN_DESCRIPTION)
    expect(anna.get_by_test_id("language-error")).to_contain_text("русск")
    expect(anna.get_by_test_id("language-error")).to_contain_text("английск")
    site.screenshot(anna, "dispute-form-language-error-ru")
    anna.fill("textarea[name=description]", ENGLISH_DESCRIPTION)
    anna.get_by_test_id("open-dispute").click()
    expect(anna.get_by_test_id("state")).to_have_text("Ждём ответа продавца")
    expect(anna.get_by_test_id("deadline")).to_contain_text("осталось 5 дней")
    dispute_id = int(re.search(r"/disputes/(\d+)", anna.url).group(1))

    # The seller stays silent: refunded in full, with the refund's dates in Russian.
    advance(anna, 5)
    expect(anna.get_by_test_id("state")).to_have_text("Закрыт")
    expect(anna.get_by_test_id("outcome")).to_contain_text("Возвращено полностью")
    [refund] = buyer.get("/refunds", params={"order_id": order["id"]})["items"]
    expect(anna.get_by_test_id("refunds")).to_contain_text(
        f"с {money_date(refund['expected_earliest'], 'ru')} по {money_date(refund['expected_latest'], 'ru')}")

    # Confirming receipt, then the case, with the postage warning in Russian (R11).
    anna.goto(f"/orders/{order['id']}")
    anna.get_by_role("button", name="Подтвердить получение").click()
    expect(anna.locator(".flash.ok")).to_contain_text("Получение подтверждено")
    anna.get_by_test_id(f"line-{case['id']}").get_by_role("button", name="Открыть спор").click()
    anna.select_option("select[name=reason]", "damaged")
    anna.check("input[name=resolution][value=return_and_refund]")
    expect(anna.get_by_test_id("postage-warning")).to_contain_text("не менее 20,00 $")
    site.screenshot(anna, "dispute-form-postage-warning-ru")

    # English switches back, and the choice is remembered.
    anna.click("form[action='/language'] button[value=en]")
    expect(anna.locator("h1")).to_have_text("Open a dispute")
    anna.goto(f"/disputes/{dispute_id}")
    expect(anna.get_by_test_id("state")).to_have_text("Closed")
    anna.context.close()
