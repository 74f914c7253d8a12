"""The policy's built-in numbers are DESIGN.md §2's, a bad policy is refused with every
problem named, and money never mixes currencies or uses floats (§4)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ombuds.domain.errors import DomainError
from ombuds.domain.money import Money, check_currency, precision
from ombuds.domain.policy import (
    DEFAULT_POLICY,
    InvalidPolicy,
    Policy,
    PostagePayer,
    RefundWindow,
    policy_from_mapping,
)


def problems_of(mapping: dict) -> dict[str, str]:
    with pytest.raises(InvalidPolicy) as refused:
        policy_from_mapping(mapping)
    return {p.where: p.problem for p in refused.value.problems}


# Defaults: DESIGN.md §2, rule by rule ---------------------------------------------------

def test_R2_protection_runs_60_days_from_shipping():
    assert DEFAULT_POLICY.protection_days == 60
    assert DEFAULT_POLICY.days("protection_days") == timedelta(days=60)


def test_R3_seller_may_extend_protection_by_up_to_60_days_in_total():
    assert DEFAULT_POLICY.max_protection_extension_days == 60


def test_R6_disputes_may_be_opened_15_days_after_completion():
    assert DEFAULT_POLICY.dispute_window_after_completion_days == 15


def test_R9_only_english_is_allowed_by_default():
    assert DEFAULT_POLICY.allowed_languages == ("en",)


def test_R10_evidence_limits_are_10_mb_photos_200_mb_videos_20_files_a_side():
    assert DEFAULT_POLICY.evidence_photo_max_bytes == 10 * 1024 * 1024
    assert DEFAULT_POLICY.evidence_video_max_bytes == 200 * 1024 * 1024
    assert DEFAULT_POLICY.evidence_max_files_per_side == 20


def test_R11_return_postage_to_china_is_at_least_20_usd():
    estimate = DEFAULT_POLICY.return_postage_estimates["CN"]
    assert Money(estimate.amount, estimate.currency) == Money(2000, "USD")


def test_R12_seller_has_5_days_to_respond():
    assert DEFAULT_POLICY.seller_response_days == 5


def test_R14_negotiation_lasts_7_days_and_manual_escalation_is_off():
    assert DEFAULT_POLICY.negotiation_days == 7
    assert DEFAULT_POLICY.manual_escalation is False


def test_R15_arbitration_targets_15_days_within_a_60_day_limit():
    assert DEFAULT_POLICY.arbitration_review_target_days == 15
    assert DEFAULT_POLICY.arbitration_limit_days == 60


def test_R16_parties_reply_to_a_verdict_within_5_days_with_one_appeal():
    assert DEFAULT_POLICY.verdict_reply_days == 5
    assert DEFAULT_POLICY.appeals == 1


def test_R18_return_ships_in_10_days_and_is_confirmed_15_after_delivery_30_after_shipping():
    assert DEFAULT_POLICY.return_ship_days == 10
    assert DEFAULT_POLICY.return_confirm_after_delivery_days == 15
    assert DEFAULT_POLICY.return_confirm_after_shipping_days == 30


@pytest.mark.parametrize("method, earliest, latest", [
    ("visa", 3, 15), ("mastercard", 3, 15), ("maestro", 3, 15),
    ("webmoney", 7, 10), ("bank_transfer", 7, 10), ("western_union", 7, 10), ("qiwi", 7, 10),
    ("alipay_balance", 0, 0),
])
def test_R20_refunds_land_within_the_payment_methods_window(method, earliest, latest):
    assert DEFAULT_POLICY.refund_windows[method] == RefundWindow(earliest=earliest, latest=latest)


def test_R20_only_the_documented_payment_methods_have_windows():
    assert set(DEFAULT_POLICY.refund_windows) == {
        "visa", "mastercard", "maestro", "webmoney", "bank_transfer", "western_union", "qiwi",
        "alipay_balance"}


def test_R21_sellers_are_flagged_above_5_percent_lost_in_90_days():
    assert DEFAULT_POLICY.seller_flag_lost_ratio == 0.05
    assert DEFAULT_POLICY.rating_window_days == 90


def test_R24_complaints_are_answered_within_15_days():
    assert DEFAULT_POLICY.complaint_answer_days == 15


def test_R26_not_received_disputes_open_10_days_after_shipping():
    assert DEFAULT_POLICY.not_received_wait_days == 10


def test_R28_reminders_go_out_24_hours_before_a_deadline():
    assert DEFAULT_POLICY.reminder_lead_hours == 24
    assert DEFAULT_POLICY.reminder_lead == timedelta(hours=24)


def test_R30_the_buyer_pays_return_postage_by_default():
    assert DEFAULT_POLICY.return_postage_payer is PostagePayer.buyer


def test_R31_an_in_platform_balance_is_offered():
    assert DEFAULT_POLICY.in_platform_balance_offered is True


def test_commission_defaults_to_zero():  # §4
    assert DEFAULT_POLICY.commission_bps == 0


def test_an_empty_mapping_is_the_built_in_policy():
    assert policy_from_mapping({}) == DEFAULT_POLICY == Policy()


def test_a_policy_cannot_be_changed_once_validated():
    with pytest.raises(ValidationError, match="frozen"):
        DEFAULT_POLICY.protection_days = 1  # type: ignore[misc]


# policy_from_mapping: every problem named ------------------------------------------------

def test_an_unknown_setting_is_refused_by_name():
    problems = problems_of({"protection_dayz": 30})
    assert list(problems) == ["protection_dayz"]
    assert "unknown setting" in problems["protection_dayz"]


def test_every_unknown_setting_is_listed():
    assert set(problems_of({"foo": 1, "bar": 2, "protection_days": 30})) == {"foo", "bar"}


@pytest.mark.parametrize("field", [
    "protection_days", "seller_response_days", "negotiation_days", "return_ship_days",
    "dispute_window_after_completion_days", "verdict_reply_days",
])
def test_negative_days_are_refused(field):
    problems = problems_of({field: -1})
    assert list(problems) == [field]
    assert "-1" in problems[field]


def test_every_negative_duration_is_listed_together():
    problems = problems_of({"protection_days": -1, "seller_response_days": -5, "negotiation_days": -7})
    assert set(problems) == {"protection_days", "seller_response_days", "negotiation_days"}


def test_R15_a_review_limit_before_the_review_target_is_refused():
    problems = problems_of({"arbitration_review_target_days": 20, "arbitration_limit_days": 10})
    assert list(problems) == ["arbitration_limit_days"]  # the field at fault
    (problem,) = problems.values()
    assert "must be at least" in problem and "arbitration_review_target_days" in problem


def test_R15_a_review_limit_equal_to_the_target_is_allowed():
    policy = policy_from_mapping({"arbitration_review_target_days": 20, "arbitration_limit_days": 20})
    assert policy.arbitration_limit_days == 20


def test_R18_confirming_after_shipping_sooner_than_after_delivery_is_refused():
    problems = problems_of({"return_confirm_after_delivery_days": 20, "return_confirm_after_shipping_days": 10})
    assert len(problems) == 1
    (problem,) = problems.values()
    assert "must be at least" in problem and "return_confirm_after_delivery_days" in problem


def test_R20_a_refund_window_ending_before_it_starts_is_refused():
    problems = problems_of({"refund_windows": {"visa": {"earliest": 10, "latest": 3}}})
    assert any(where.startswith("refund_windows.visa") for where in problems)


def test_the_error_message_names_every_problem():
    with pytest.raises(InvalidPolicy) as refused:
        policy_from_mapping({"foo": 1, "protection_days": -1})
    assert "foo" in str(refused.value) and "protection_days" in str(refused.value)


def test_invalid_policy_lists_every_problem_at_once_even_an_incoherent_limit():
    """An operator fixing a TOML file wants all its problems in one go, including the
    cross-field one (R15 limit < target) next to a typo and a negative number."""
    problems = problems_of({"foo": 1, "protection_days": -1,
                            "arbitration_review_target_days": 20, "arbitration_limit_days": 10})
    assert "foo" in problems and "protection_days" in problems
    assert any("arbitration_limit_days" in where + problem for where, problem in problems.items()), problems
    assert len(problems) == 3


# Money (§4) ---------------------------------------------------------------------------------

@pytest.mark.parametrize("currency, digits", [("USD", 2), ("EUR", 2), ("RUB", 2), ("JPY", 0), ("KWD", 3)])
def test_precision_comes_from_babel(currency, digits):
    assert precision(currency) == digits


def test_minor_units_become_decimals_by_the_currencys_precision():
    assert Money(1850, "USD").as_decimal() == Decimal("18.50")
    assert Money(1850, "JPY").as_decimal() == Decimal(1850)
    assert Money(1234, "KWD").as_decimal() == Decimal("1.234")


def test_money_adds_and_subtracts_within_one_currency():
    assert Money(1850, "USD") + Money(150, "USD") == Money(2000, "USD")
    assert Money(1850, "USD") - Money(1850, "USD") == Money(0, "USD")


@pytest.mark.parametrize("op", ["add", "sub"])
def test_money_refuses_to_mix_currencies(op):
    usd, eur = Money(100, "USD"), Money(100, "EUR")
    with pytest.raises(ValueError, match="cannot mix USD and EUR"):
        usd + eur if op == "add" else usd - eur


@pytest.mark.parametrize("amount", [18.5, 1.0, "1850", True, None])
def test_money_is_integer_minor_units_never_floats(amount):
    with pytest.raises(TypeError):
        Money(amount, "USD")  # type: ignore[arg-type]


def test_money_is_immutable():
    with pytest.raises(FrozenInstanceError):
        Money(1, "USD").amount = 2  # type: ignore[misc]


@pytest.mark.parametrize("money, locale, shown", [
    (Money(1850, "USD"), "en", "$18.50"),
    (Money(5, "USD"), "en", "$0.05"),
    (Money(500, "JPY"), "en", "¥500"),
    (Money(1850, "USD"), "ru", "18,50\xa0$"),
    (Money(1850, "EUR"), "de", "18,50\xa0€"),
])
def test_money_is_formatted_for_the_readers_locale(money, locale, shown):
    assert money.format(locale) == shown


def test_money_prints_in_english_by_default():
    assert str(Money(2000, "USD")) == "$20.00"


def test_unknown_currency_codes_are_refused_with_the_field_at_fault():
    assert check_currency("USD") == "USD"
    with pytest.raises(DomainError) as refused:
        check_currency("XYZ", field="currency")
    assert refused.value.code == "unknown_currency" and refused.value.field == "currency"
