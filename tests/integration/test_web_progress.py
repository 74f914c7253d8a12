"""The dispute page shows where the dispute is and what comes next (a stepper read from the
lifecycle table), in the reader's language, on both databases."""

from __future__ import annotations

import re

from tests.integration.test_web_pages import signed_in


def steps_of(html: str) -> list[tuple[str, str]]:
    stepper = re.search(r'<ol class="stepper" data-testid="progress">(.*?)</ol>', html, re.S).group(1)
    return re.findall(r'<li class="(\w+)"[^>]*data-step="(\w+)"', stepper)


def test_the_dispute_page_shows_its_progress_in_both_languages(client, market):
    buyer, seller = market.buyer(), market.seller()
    d = market.open_dispute(buyer, market.order(buyer, seller))
    signed_in(client, buyer, "ru")
    html = client.get(f"/disputes/{d['id']}").text
    assert steps_of(html) == [("done", "opened"), ("current", "seller_answers"), ("next", "negotiation"),
                              ("next", "platform_decides"), ("next", "refund")]
    assert 'aria-current="step" data-step="seller_answers"' in html
    assert "Ответ продавца" in html and "Решение платформы" in html and "(сейчас)" in html

    seller.accept(d["id"])  # refund without return: negotiation and the platform are skipped
    signed_in(client, seller, "en")
    html = client.get(f"/disputes/{d['id']}").text
    assert steps_of(html) == [("done", "opened"), ("done", "seller_answers"), ("skipped", "negotiation"),
                              ("skipped", "platform_decides"), ("done", "refund")]
    assert ">Refunded<" in html and "aria-current" not in html.split('data-testid="progress"')[1].split("</ol>")[0]
