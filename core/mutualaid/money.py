"""Money: exact amounts, and every rounding and apportionment the core performs.

Amounts are :class:`decimal.Decimal` in code and integers of minor units (fen, cents) in the
database. A float is refused everywhere: ``Money(0.1, "CNY")`` is a ``TypeError``.

All rounding lives here, named for what it does:

* :func:`round_half_up`, :func:`round_down`, :func:`round_up` -- an amount to the minor unit of its
  currency (half up for a figure shown or decided, down for a benefit, up for a share);
* :func:`round_rate` -- a rate applied to an amount (the management fee), half up to the minor unit;
* :func:`multiply_down` -- an amount times a fraction or rate, rounded down (a benefit's 1/3, 20%);
* :func:`split_round_up` -- one equal share per member, rounded up; the excess is the surplus;
* :func:`split_exact` -- shares that differ by at most one minor unit and sum exactly to the need;
* :func:`split_weighted` -- shares in proportion to whole-number weights, exact or rounded up;
* :func:`apportion` -- an amount split in proportion to parts, largest remainder first;
* :func:`largest_aid_within` -- the most aid a budget funds once a rate of it is taken as a fee.

Cohort plugins use these too (they are in the public API), so every rounding rule of a pool is
in this one module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

__all__ = [
    "CURRENCY_EXPONENTS",
    "ExactSplit",
    "Money",
    "RoundUpSplit",
    "WeightedSplit",
    "apportion",
    "currency_exponent",
    "format_minor",
    "format_percent",
    "from_minor",
    "is_exact",
    "largest_aid_within",
    "multiply_down",
    "round_down",
    "round_half_up",
    "round_rate",
    "round_up",
    "split_exact",
    "split_round_up",
    "split_weighted",
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


#: An amount written with commas between its groups of three digits: ``1,000`` or ``-12,345.60``.
_GROUPED = re.compile(r"[-+]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")


def to_decimal(value: object) -> Decimal:
    """Convert an int, str, Decimal or :class:`Money` to a finite Decimal. A float or bool is a
    ``TypeError``."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"money must not be a {type(value).__name__} ({value!r}); use a str, int or Decimal")
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if "," in text and not _GROUPED.fullmatch(text):
            raise ValueError(f"{value!r} is not an amount; a comma may only separate groups of three digits (1,000.50)")
        try:
            result = Decimal(text.replace(",", "").replace("_", ""))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not an amount") from None
    else:
        raise TypeError(f"cannot make an amount from {type(value).__name__} {value!r}")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    return result


#: The largest amount mutualaid records, in minor units: 10^15 (ten trillion yuan), far above any
#: pool's yearly total and far below what the database's 64-bit integers hold, so that sums of
#: millions of such amounts still fit.
MAX_MINOR = 10**15


def to_minor(amount: object, currency: str) -> int:
    """Convert an amount in major units (or a :class:`Money` of ``currency``) to integer minor
    units; sub-minor precision, Money of another currency, or an amount beyond :data:`MAX_MINOR`
    is a ``ValueError``."""
    if isinstance(amount, Money) and amount.currency != currency:
        raise ValueError(f"{amount} is not an amount in {currency}")
    exp = currency_exponent(currency)
    value = to_decimal(amount)
    if value.adjusted() > 15:  # before any arithmetic: 1e40 would exceed Decimal's precision
        raise ValueError(
            f"{value} {currency} is beyond the largest amount recorded ({format_minor(MAX_MINOR, currency)})"
        )
    scaled = value.scaleb(exp)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} {currency} has more than {exp} decimal places")
    minor = int(scaled)
    if abs(minor) > MAX_MINOR:
        raise ValueError(
            f"{value} {currency} is beyond the largest amount recorded ({format_minor(MAX_MINOR, currency)})"
        )
    return minor


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


@dataclass(frozen=True, slots=True)
class WeightedSplit:
    """A need shared in proportion to weights: members of weight ``weights[k]`` (``counts[k]`` of
    them) pay ``shares[k]``; with exact rounding ``extra`` members pay one minor unit more."""

    weights: tuple[int, ...]
    counts: tuple[int, ...]
    shares: tuple[int, ...]
    extra: int
    need: int

    @property
    def total(self) -> int:
        return sum(c * s for c, s in zip(self.counts, self.shares, strict=True)) + self.extra

    @property
    def surplus(self) -> int:
        return self.total - self.need

    @property
    def members(self) -> int:
        return sum(self.counts)

    @property
    def total_weight(self) -> int:
        return sum(c * w for c, w in zip(self.counts, self.weights, strict=True))


def split_weighted(need: int, weights: tuple[int, ...], counts: tuple[int, ...], *, exact: bool) -> WeightedSplit:
    """Share ``need`` minor units in proportion to integer weights.

    A member of weight ``w`` owes ``need * w / W`` exactly (``W`` the sum of all members' weights).
    Exact: everyone pays that rounded down, and the ``extra`` minor units left (fewer than the number
    of members) go one each to ``extra`` members, so each member is within one minor unit of their
    exact part and the shares sum exactly to ``need``. Round-up: everyone pays it rounded up, and the
    excess is the surplus. With equal weights this is :func:`split_exact` / :func:`split_round_up`.
    """
    _check_int(need, "an amount of minor units")
    if len(weights) != len(counts) or not weights:
        raise ValueError("weights and counts must be non-empty and of the same length")
    for w in weights:
        _check_int(w, "a weight")
        if w <= 0:
            raise ValueError(f"weights must be positive (got {w})")
    for c in counts:
        _check_int(c, "a number of members")
        if c < 0:
            raise ValueError(f"member counts cannot be negative (got {c})")
    if need < 0:
        raise ValueError(f"the amount to share must not be negative (got {need})")
    total_weight = sum(c * w for c, w in zip(counts, weights, strict=True))
    if total_weight == 0:
        raise ValueError("there must be at least one member to share among")
    if exact:
        shares = tuple(need * w // total_weight for w in weights)
        extra = need - sum(c * s for c, s in zip(counts, shares, strict=True))
        return WeightedSplit(tuple(weights), tuple(counts), shares, extra, need)
    shares = tuple(-(-need * w // total_weight) for w in weights)
    return WeightedSplit(tuple(weights), tuple(counts), shares, 0, need)


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


def round_down(amount: object, currency: str) -> Decimal:
    """``amount`` rounded down to the minor unit of ``currency`` (``1/3`` of 100.00 CNY is 33.33).

    The rounding of every benefit a model computes: the pool never pays more than its rule.
    """
    return to_decimal(amount).quantize(_quantum(currency), rounding=ROUND_FLOOR)


def round_up(amount: object, currency: str) -> Decimal:
    """``amount`` rounded up to the minor unit of ``currency`` (``100.001`` CNY is 100.01)."""
    return to_decimal(amount).quantize(_quantum(currency), rounding=ROUND_CEILING)


def round_half_up(amount: object, currency: str) -> Decimal:
    """``amount`` rounded half up to the minor unit of ``currency`` (``0.005`` CNY is 0.01): a
    figure a cohort derives and states (a disability grade's percentage of a benefit, say)."""
    return to_decimal(amount).quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def is_exact(amount: object, currency: str) -> bool:
    """Whether ``amount`` has no more decimals than ``currency`` allows (``10.005`` CNY has not)."""
    value = to_decimal(amount)
    # From the digits, not by quantizing: 1e40 is exact, but quantizing it exceeds Decimal's precision.
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # not finite: to_decimal refuses those already
        return False
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return exponent + trailing_zeros >= -currency_exponent(currency) or not any(digits)


def multiply_down(amount: Decimal, factor: Decimal | Fraction, currency: str) -> Decimal:
    """``amount * factor``, rounded down to the minor unit (exact for a fraction such as 1/3)."""
    if isinstance(factor, Fraction):
        exp = currency_exponent(currency)
        minor = int(round_down(amount, currency).scaleb(exp))
        return Decimal(minor * factor.numerator // factor.denominator).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))
    return round_down(amount * factor, currency)


def apportion(total: int, parts: list[int] | tuple[int, ...]) -> list[int]:
    """Split ``total`` minor units in proportion to ``parts`` exactly (largest remainder; ties go
    to the earlier part). Used to fund claims in proportion when benefits are prorated."""
    _check_int(total, "an amount of minor units")
    whole = sum(parts)
    if total < 0 or any(p < 0 for p in parts):
        raise ValueError("amounts to apportion cannot be negative")
    if whole == 0:
        if total:
            raise ValueError("cannot apportion an amount over parts that are all zero")
        return [0 for _ in parts]
    shares = [total * p // whole for p in parts]
    left = total - sum(shares)
    order = sorted(range(len(parts)), key=lambda i: (-(total * parts[i] % whole), i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def largest_aid_within(budget: int, rate: Decimal) -> int:
    """The largest aid amount ``a`` with ``a + round_rate(a, rate) <= budget`` (0 if none): how much
    aid a budget funds when the fee is a rate of the aid."""
    _check_int(budget, "an amount of minor units")
    if budget <= 0:
        return 0
    aid = int((Decimal(budget) / (1 + rate)).to_integral_value(rounding=ROUND_CEILING))
    while aid > 0 and aid + round_rate(aid, rate) > budget:
        aid -= 1
    return aid


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
        """The amount of ``minor`` minor units (``Money.from_minor(1050, "CNY")`` is 10.50 CNY)."""
        return cls(from_minor(minor, currency), currency)

    @property
    def minor(self) -> int:
        """The amount in integer minor units, as the database stores it."""
        return to_minor(self.amount, self.currency)

    def format(self, *, symbol: bool = False) -> str:
        """For people: ``300,000.00`` (``300,000.00 CNY`` with ``symbol``)."""
        return format_minor(self.minor, self.currency, symbol=symbol)

    def __bool__(self) -> bool:
        return bool(self.amount)

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
