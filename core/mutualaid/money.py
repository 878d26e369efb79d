"""Money: exact amounts, and every rounding and apportionment the core performs.

Amounts are :class:`decimal.Decimal` in code and integers of minor units (fen, cents) in the
database. A float is refused everywhere: ``Money(0.1, "CNY")`` is a ``TypeError``.

All rounding lives here, named for what it does:

* :func:`round_rate` -- a rate applied to an amount (the management fee), half up to the minor unit;
* :func:`split_round_up` -- one equal share per member, rounded up; the excess is the surplus;
* :func:`split_exact` -- shares that differ by at most one minor unit and sum exactly to the need.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "CURRENCY_EXPONENTS",
    "ExactSplit",
    "Money",
    "RoundUpSplit",
    "currency_exponent",
    "format_minor",
    "format_percent",
    "from_minor",
    "round_rate",
    "split_exact",
    "split_round_up",
    "to_decimal",
    "to_minor",
]

#: Minor-unit exponents (ISO 4217) of the currencies a pool may use.
CURRENCY_EXPONENTS: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "TWD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "MYR": 2,
    "IDR": 2,
    "INR": 2,
    "JPY": 0,
    "KRW": 0,
}


def currency_exponent(currency: str) -> int:
    """Return the number of minor-unit digits of ``currency``; unknown codes are a ``ValueError``."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        known = ", ".join(sorted(CURRENCY_EXPONENTS))
        raise ValueError(f"unknown currency {currency!r}; use one of {known}") from None


def to_decimal(value: object) -> Decimal:
    """Convert an int, str or Decimal to a finite Decimal. A float or bool is a ``TypeError``."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"money must not be a {type(value).__name__} ({value!r}); use a str, int or Decimal")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace(",", "").replace("_", ""))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not an amount") from None
    else:
        raise TypeError(f"cannot make an amount from {type(value).__name__} {value!r}")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    return result


def to_minor(amount: object, currency: str) -> int:
    """Convert an amount in major units to integer minor units; sub-minor precision is a ``ValueError``."""
    exp = currency_exponent(currency)
    value = to_decimal(amount)
    scaled = value.scaleb(exp)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} {currency} has more than {exp} decimal places")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    """Convert integer minor units to a Decimal in major units, quantized to the currency."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"minor units must be an int, not {type(minor).__name__}")
    exp = currency_exponent(currency)
    return Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))


def format_minor(minor: int, currency: str, *, symbol: bool = False) -> str:
    """Format minor units for people: ``format_minor(30000000, "CNY") == "300,000.00"``."""
    text = f"{from_minor(minor, currency):,}"
    if symbol:
        return f"{text} {currency}"
    return text


def format_percent(rate: Decimal) -> str:
    """A rate as a percentage without trailing zeros: ``Decimal("0.08")`` -> ``"8"``, ``0.085`` -> ``"8.5"``."""
    value = (to_decimal(rate) * 100).normalize()
    return f"{value:f}"


def _check_int(value: object, what: str) -> None:
    # Decimal(1.5) and divmod(10.0, 3) work silently: refuse floats (and bools) explicitly.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not a {type(value).__name__}")


def round_rate(amount_minor: int, rate: Decimal) -> int:
    """Apply ``rate`` to an amount in minor units, rounding half up to the minor unit."""
    _check_int(amount_minor, "an amount of minor units")
    if isinstance(rate, bool) or not isinstance(rate, Decimal | int):
        raise TypeError(f"a rate must be a Decimal, not a {type(rate).__name__}")
    return int((Decimal(amount_minor) * rate).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class RoundUpSplit:
    """``members`` shares of ``share`` each; ``surplus`` is what that collects beyond the need."""

    share: int
    members: int
    surplus: int

    @property
    def total(self) -> int:
        return self.share * self.members


@dataclass(frozen=True, slots=True)
class ExactSplit:
    """``members`` shares of ``base``, of which ``extra`` members pay ``base + 1``; sums exactly."""

    base: int
    extra: int
    members: int

    @property
    def total(self) -> int:
        return self.base * self.members + self.extra


def _check_split_args(need: int, members: int) -> None:
    _check_int(need, "an amount of minor units")
    _check_int(members, "a number of members")
    if need < 0:
        raise ValueError(f"the amount to share must not be negative (got {need})")
    if members <= 0:
        raise ValueError(f"there must be at least one member to share among (got {members})")


def split_round_up(need: int, members: int) -> RoundUpSplit:
    """Share ``need`` minor units equally, each share rounded up (the Xianghubao rule)."""
    _check_split_args(need, members)
    share = int((Decimal(need) / Decimal(members)).to_integral_value(rounding=ROUND_CEILING))
    return RoundUpSplit(share=share, members=members, surplus=share * members - need)


def split_exact(need: int, members: int) -> ExactSplit:
    """Share ``need`` minor units exactly: shares differ by at most one minor unit."""
    _check_split_args(need, members)
    base, extra = divmod(need, members)
    return ExactSplit(base=base, extra=extra, members=members)


@dataclass(frozen=True, slots=True, init=False)
class Money:
    """An exact amount of one currency. Built from str, int or Decimal; a float is a ``TypeError``."""

    amount: Decimal
    currency: str

    def __init__(self, amount: object, currency: str) -> None:
        exp = currency_exponent(currency)
        value = to_decimal(amount)
        quantum = Decimal(1).scaleb(-exp)
        if value.quantize(quantum) != value:
            raise ValueError(f"{value} {currency} has more than {exp} decimal places")
        object.__setattr__(self, "amount", value.quantize(quantum))
        object.__setattr__(self, "currency", currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        return cls(from_minor(minor, currency), currency)

    @property
    def minor(self) -> int:
        return to_minor(self.amount, self.currency)

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def __str__(self) -> str:
        return f"{self.amount:,} {self.currency}"
