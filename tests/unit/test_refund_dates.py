"""R20: refunds land within their payment method's window, in business days of the buyer's
country, public holidays excluded."""

import asyncio
from datetime import UTC, date, datetime

from ombuds.adapters.payments import RefundRequest, SimulatedProvider, settlement_time
from ombuds.domain.business_days import add_business_days, refund_window
from ombuds.domain.policy import DEFAULT_POLICY


def _window(method: str, issued: date, country: str) -> tuple[date, date]:
    w = DEFAULT_POLICY.refund_windows[method]
    return refund_window(issued, w.earliest, w.latest, country)


def test_R20_visa_refund_before_the_russian_new_year_holidays_skips_them():
    # Friday 25 December 2026. Russia rests from 31 December to 10 January (the calendar of the
    # `holidays` package: 31 Dec is a transferred day off, 1–8 Jan holidays, then a weekend):
    # business days 1–3 are 28, 29, 30 December; days 4–15 run from Monday 11 January to
    # Tuesday 26 January 2027.
    assert _window("visa", date(2026, 12, 25), "RU") == (date(2026, 12, 30), date(2027, 1, 26))


def test_R20_the_same_visa_refund_for_a_german_buyer_counts_german_holidays():
    # Germany: 25–26 December and 1 January are holidays, 31 December is not.
    assert _window("visa", date(2026, 12, 25), "DE") == (date(2026, 12, 30), date(2027, 1, 18))


def test_R20_bank_transfer_takes_7_to_10_business_days():
    # Monday 16 November 2026 in the US: Thanksgiving (26 November) does not count.
    assert _window("bank_transfer", date(2026, 11, 16), "US") == (date(2026, 11, 25), date(2026, 12, 1))


def test_R20_alipay_balance_lands_the_same_day():
    assert _window("alipay_balance", date(2026, 12, 25), "RU") == (date(2026, 12, 25), date(2026, 12, 25))


def test_business_days_skip_weekends():
    assert add_business_days(date(2026, 3, 6), 1, "GB") == date(2026, 3, 9)  # Friday → Monday


def _request(key: str, issued: datetime) -> RefundRequest:
    earliest, latest = _window("visa", issued.date(), "RU")
    return RefundRequest(key, 1850, "USD", "visa", issued, earliest, latest, "RU")


def test_R20_the_simulated_provider_settles_on_a_business_day_inside_the_window():
    issued = datetime(2026, 12, 25, 10, tzinfo=UTC)
    for n in range(50):
        request = _request(f"refund-{n}", issued)
        settles = settlement_time(request)
        assert request.expected_earliest <= settles.date() <= request.expected_latest
        assert settles.weekday() < 5 and settles.date() not in (date(2026, 12, 31), date(2027, 1, 5))


def test_the_simulated_provider_is_idempotent_on_its_key():
    provider = SimulatedProvider()
    issued = datetime(2026, 3, 2, 9, tzinfo=UTC)
    first = asyncio.run(provider.create_refund(_request("refund-abc", issued)))
    again = asyncio.run(provider.create_refund(_request("refund-abc", issued)))
    assert first == again and len(provider.book) == 1
