"""R33 where a person meets a time outside the dispute pages: a refund sent again by the
operator, the sign-in link's page, the local mailbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ombuds.adapters.payments import ProviderError, SimulatedProvider
from tests.conftest import MARKETPLACE_KEY
from tests.integration.test_web_pages import signed_in


class FailingProvider:
    """Refuses every refund until ``healthy``."""

    def __init__(self) -> None:
        self.healthy = False
        self.simulator = SimulatedProvider()

    async def create_refund(self, request):
        if not self.healthy:
            raise ProviderError("issuer_unavailable")
        return await self.simulator.create_refund(request)


def test_r33_r20_a_refund_sent_again_counts_its_window_from_the_buyers_local_date(market):
    """The operator retries a failed refund at 22:30 UTC on Thursday 5 March 2026: it is already
    Friday in Moscow, so its window counts from Friday (and Monday 9 March is a holiday there)."""
    buyer, seller = market.buyer(country="RU"), market.seller()
    order = market.order(buyer, seller)
    provider = FailingProvider()
    market.client.app.state.ombuds.payments = provider
    d = market.open_dispute(buyer, order)
    seller.accept(d["id"])
    for _ in range(6):  # six refusals: the refund is failed and waits for the operator
        market.advance("1h")
    [refund] = buyer.refunds(order_id=order["id"])
    assert refund["status"] == "failed"

    market.set_clock_without_sweeping(datetime(2026, 3, 5, 22, 30, tzinfo=UTC))
    provider.healthy = True
    market.platform.post(f"/refunds/{refund['id']}/retry")
    market.advance("1m")
    [refund] = buyer.refunds(order_id=order["id"])
    assert refund["status"] == "submitted"
    # Friday 6 in Moscow + 3 business days: Tue 10, Wed 11, Thu 12 (from the UTC Thursday: the 11th).
    assert refund["expected_earliest"][:10] == "2026-03-12"


def test_r33_r43_the_sign_in_link_page_says_its_time_in_the_persons_zone(client, market):
    buyer = market.buyer(country="RU", language="en")
    link = client.post(f"/api/v1/users/{buyer.id}/sign-in-links", json={"landing_page": "/orders"},
                       headers={"Authorization": f"Bearer {MARKETPLACE_KEY}"}).json()
    client.cookies.clear()
    page = client.get(link["url"].split("8000", 1)[1]).text
    # T0 is 09:00 UTC; the link lives 15 minutes: until 12:15 in Moscow.
    assert "until 2 Mar 2026, 12:15 +0300" in page, re.findall(r"until [^<]+", page)


def test_the_mailbox_says_when_each_change_happened_not_when_its_email_was_queued(client, market):
    from ombuds.services.dispatch import DispatchConfig, drain
    buyer, seller = market.buyer(), market.seller()
    order = market.order(buyer, seller)  # paid and shipped at 09:00 on 2 March
    market.advance("3d")  # nothing is dispatched meanwhile (no worker runs in these tests)
    market.open_dispute(buyer, order)  # 09:00 on 5 March
    app = client.app
    client.portal.call(drain, app.state.ombuds, DispatchConfig.from_settings(app.state.settings))
    page = client.get("/mailbox").text
    assert "2026-03-02 09:00" in page and "2026-03-05 09:00" in page


def test_the_mailbox_speaks_the_readers_language(client, market):
    buyer = market.buyer(language="ru")
    market.order(buyer, market.seller())
    from ombuds.services.dispatch import DispatchConfig, drain
    client.portal.call(drain, client.app.state.ombuds, DispatchConfig.from_settings(client.app.state.settings))
    signed_in(client, buyer, "ru")
    page = client.get("/mailbox").text
    assert "Почтовый ящик" in page and 'translate="no"' in page
    first = re.search(r'href="(/mailbox/\d+)"', page).group(1)
    assert "Кому" in client.get(first).text
