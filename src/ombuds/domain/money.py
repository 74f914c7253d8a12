"""Money in integer minor units of an ISO 4217 currency (never floats)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from babel.numbers import format_currency, get_currency_precision, list_currencies

from ombuds.domain.errors import DomainError


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: str, field: str = "currency") -> str:
    if code not in _known_currencies():
        raise DomainError("unknown_currency", f"'{code}' is not an ISO 4217 currency code.", field)
    return code


@cache
def precision(currency: str) -> int:
    """Digits after the decimal point (2 for USD, 0 for JPY), from CLDR via Babel."""
    return get_currency_precision(currency)


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount must be an int of minor units")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def as_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-precision(self.currency))

    def format(self, locale: str = "en") -> str:
        return format_currency(self.as_decimal(), self.currency, locale=locale)

    def __str__(self) -> str:
        return self.format()
