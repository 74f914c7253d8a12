"""The pages work without JavaScript: plain forms and redirects carry the same rules (R8,
R9, R11) that htmx shows live."""

from __future__ import annotations

from playwright.sync_api import expect

from tests import evidence_files as files


def test_opening_a_dispute_without_javascript(site):
    market = site.market
    buyer, seller = market.buyer(), market.seller(country="CN")
    order = market.order(buyer, seller, lines=((1850, 1), (499, 1)))
    market.platform.post(f"/orders/{order['id']}/deliver")
    page = site.visitor(javascript=False)
    page.goto("/signin")
    page.click(f"form[action='/signin/demo']:has(input[name=user_id][value='{buyer.id}']) button")
    dress, case = order["lines"]

    # A return asked for: the warning comes back with the form, to acknowledge (R11).
    page.goto(f"/orders/{order['id']}/lines/{case['id']}/dispute")
    page.select_option("select[name=reason]", "damaged")
    page.check("input[name=resolution][value=return_and_refund]")
    page.fill("textarea[name=description]", "The case cracked in two days.")
    page.get_by_test_id("open-dispute").click()
    expect(page.get_by_test_id("postage-warning")).to_contain_text("costs at least $20.00")
    expect(page.get_by_test_id("postage-warning")).to_contain_text("Tick this box")
    expect(page.locator("textarea[name=description]")).to_have_value("The case cracked in two days.")
    # Its suggestion is a plain submit button too.
    page.get_by_test_id("switch-partial").click()
    expect(page.locator("input[name=resolution][value=refund_only]")).to_be_checked()
    expect(page.get_by_test_id("amount")).to_have_value("2.49")

    # Not received: the form offers the full refund and no return (R8).
    page.goto(f"/orders/{order['id']}/lines/{dress['id']}/dispute?received=no")
    expect(page.get_by_test_id("not-received-offer")).to_contain_text("full refund of $18.50")
    expect(page.locator("input[name=resolution][value=return_and_refund]")).to_be_disabled()

    # A description in Russian is refused when sent (R9), then the English one opens it. The two
    # photos chosen at once travel with the first round and wait through the second (R10).
    page.goto(f"/orders/{order['id']}/lines/{dress['id']}/dispute")
    page.fill("textarea[name=description]", "Платье не пришло в посылке")
    page.set_input_files("input[name=evidence]", files=[
        {"name": "parcel.jpg", "mimeType": "image/jpeg", "buffer": files.jpeg(31)},
        {"name": "list.png", "mimeType": "image/png", "buffer": files.png(32)}])
    page.get_by_test_id("open-dispute").click()
    expect(page.get_by_test_id("language-error")).to_contain_text("looks Russian")
    expect(page.get_by_test_id("waiting-file")).to_have_count(2)
    with page.expect_navigation():  # Enter sends the form as "open", it removes no file
        page.get_by_test_id("amount").press("Enter")
    expect(page.get_by_test_id("language-error")).to_contain_text("looks Russian")
    expect(page.get_by_test_id("waiting-file")).to_have_count(2)
    page.get_by_test_id("waiting-file").nth(1).locator("select").select_option("packing_list")
    page.fill("textarea[name=description]", "The blue dress was not in the parcel.")
    page.get_by_test_id("open-dispute").click()
    expect(page.get_by_test_id("state")).to_have_text("Waiting for the seller's answer")
    expect(page.get_by_test_id("proposal-amount")).to_have_text("$18.50")
    expect(page.get_by_test_id("gallery-buyer").locator("figure")).to_have_count(2)
    expect(page.get_by_test_id("proof-packing_list")).to_contain_text("1 file")
    page.context.close()
