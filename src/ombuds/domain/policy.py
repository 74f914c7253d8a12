"""The operator's policy: every number of the rules (DESIGN.md §2), with its default.

A policy is validated once (from TOML or built in) and then read-only. Durations are
whole days or hours so that a TOML file reads like the rule it configures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ombuds.domain.disputes import Reason
from ombuds.domain.evidence_guidance import DEFAULT_GUIDANCE, Proof

REASONS = tuple(r.value for r in Reason)  # R7, as the policy's per-reason tables name them

Days = Annotated[int, Field(ge=0, le=3650)]


class PostagePayer(StrEnum):
    buyer = "buyer"
    at_fault = "at_fault"


class RefundWindow(BaseModel):
    """Business days in which a refund to this payment method lands (R20)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    earliest: Days
    latest: Days

    @model_validator(mode="after")
    def _ordered(self) -> RefundWindow:
        if self.latest < self.earliest:
            raise ValueError("latest must not be before earliest")
        return self


class PostageEstimate(BaseModel):
    """Lower bound of return postage to a seller's country (R11), in minor units."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    amount: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)


def _default_refund_windows() -> dict[str, RefundWindow]:
    card = RefundWindow(earliest=3, latest=15)
    slow = RefundWindow(earliest=7, latest=10)
    return {
        "visa": card, "mastercard": card, "maestro": card,
        "webmoney": slow, "bank_transfer": slow, "western_union": slow, "qiwi": slow,
        "alipay_balance": RefundWindow(earliest=0, latest=0),
    }


class Policy(BaseModel):
    """Every rule's number. Field names carry the rule id in their description."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    protection_days: Days = Field(60, description="R2: protection period from shipping")
    max_protection_extension_days: Days = Field(60, description="R3: total extension a seller may grant")
    dispute_window_after_completion_days: Days = Field(15, description="R6: disputes after completion")
    not_received_wait_days: Days = Field(10, description="R26: no 'not received' dispute before this")
    seller_response_days: Days = Field(5, description="R12: seller's deadline to respond")
    negotiation_days: Days = Field(7, description="R14: negotiation before escalation")
    manual_escalation: bool = Field(False, description="R14: parties may escalate by hand")
    arbitration_review_target_days: Days = Field(15, description="R15: target for a verdict")
    arbitration_limit_days: Days = Field(60, description="R15: limit for a verdict")
    verdict_reply_days: Days = Field(5, description="R16: window to reply to a verdict")
    appeals: int = Field(1, ge=0, le=5, description="R16: disagreements that send a verdict back")
    return_ship_days: Days = Field(10, description="R18: buyer ships the return within")
    return_confirm_after_delivery_days: Days = Field(15, description="R18: seller confirms after delivery")
    return_confirm_after_shipping_days: Days = Field(30, description="R18: seller confirms after shipping")
    allowed_languages: tuple[str, ...] = Field(("en",), min_length=1, description="R9")
    evidence_photo_max_bytes: int = Field(10 * 1024 * 1024, gt=0, description="R10")
    evidence_video_max_bytes: int = Field(200 * 1024 * 1024, gt=0, description="R10")
    evidence_max_files_per_side: int = Field(20, gt=0, description="R10")
    return_postage_estimates: dict[str, PostageEstimate] = Field(
        default_factory=lambda: {"CN": PostageEstimate(amount=2000, currency="USD")},
        description="R11: by seller's country (ISO 3166 alpha-2)",
    )
    refund_windows: dict[str, RefundWindow] = Field(
        default_factory=_default_refund_windows, description="R20: by payment method")
    rating_window_days: Days = Field(90, description="R21")
    seller_flag_lost_ratio: float = Field(0.05, ge=0, le=1, description="R21: flag above this share lost")
    reminder_lead_hours: int = Field(24, ge=0, le=24 * 30, description="R28")
    return_postage_payer: PostagePayer = Field(PostagePayer.buyer, description="R30")
    commission_bps: int = Field(0, ge=0, le=10_000, description="§4: commission in basis points")
    in_platform_balance_offered: bool = Field(True, description="R31")
    complaint_answer_days: Days = Field(15, description="R24")
    sign_in_link_minutes: int = Field(15, ge=1, le=24 * 60,
                                      description="R43: a sign-in link the marketplace asks for lives this long")
    sign_in_links_in_emails: bool = Field(
        False, description="R43: Ombuds' own e-mails carry a sign-in link instead of a plain one")
    email_sign_in_link_hours: int = Field(
        24, ge=1, le=24 * 14, description="R43: a sign-in link in an e-mail lives this long")
    evidence_guidance: dict[str, tuple[Proof, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_GUIDANCE),
        description="R37: by dispute reason, the evidence that helps (shown on the dispute form; "
                    "the arbitrator sees which of it each side supplied)")

    @field_validator("evidence_guidance")
    @classmethod
    def _known_reasons(cls, value: dict[str, tuple[Proof, ...]]) -> dict[str, tuple[Proof, ...]]:
        unknown = sorted(set(value) - set(REASONS))
        if unknown:
            raise ValueError(f"unknown dispute reason(s) {', '.join(unknown)}; the reasons are "
                             + ", ".join(REASONS))
        return {reason: tuple(dict.fromkeys(proofs)) for reason, proofs in value.items()}  # no repeats

    @model_validator(mode="after")
    def _coherent(self) -> Policy:
        problems = incoherences(self.model_dump())
        if problems:
            raise ValueError("; ".join(problem for _, problem in problems))
        return self

    # Durations as timedeltas, so the rules never multiply days by hand.
    def days(self, name: str) -> timedelta:
        return timedelta(days=getattr(self, name))

    @property
    def reminder_lead(self) -> timedelta:
        return timedelta(hours=self.reminder_lead_hours)


# (later, earlier): the first may not be shorter than the second.
ORDERED_PAIRS = (
    ("arbitration_limit_days", "arbitration_review_target_days"),
    ("return_confirm_after_shipping_days", "return_confirm_after_delivery_days"),
)


def incoherences(values: dict) -> list[tuple[str, str]]:
    """Settings that are each valid but contradict each other."""
    found = []
    for later, earlier in ORDERED_PAIRS:
        a, b = values.get(later), values.get(earlier)
        if isinstance(a, int) and isinstance(b, int) and a < b:
            found.append((later, f"{later} must be at least {earlier} (got {a} < {b})"))
    return found


DEFAULT_POLICY = Policy()


class PolicyProblem(BaseModel):
    where: str
    problem: str


def policy_from_mapping(data: dict) -> Policy:
    """Build a policy from parsed TOML; raises ``InvalidPolicy`` listing every problem."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = [PolicyProblem(where=".".join(str(p) for p in err["loc"]) or "(policy)",
                                  problem=_explain(err))
                    for err in exc.errors() if err["type"] != "value_error" or err["loc"]]
        # Field errors stop pydantic before the cross-field checks; run those too, so every
        # problem of the file is explained at once.
        merged = {**DEFAULT_POLICY.model_dump(), **data}
        problems += [PolicyProblem(where=where, problem=problem) for where, problem in incoherences(merged)]
        raise InvalidPolicy(problems) from None


def _explain(err: Mapping[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown setting; check its spelling against the documented policy fields"
    msg = err["msg"]
    if "input" in err and err["type"] != "missing":
        return f"{msg} (got {err['input']!r})"
    return msg


class InvalidPolicy(ValueError):
    def __init__(self, problems: list[PolicyProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.where}: {p.problem}" for p in problems))
