"""What every benefit model shares: the amounts, rates and fractions a pool file gives it, how
it formats them, what it is given (:class:`BenefitInputs`) and what it answers
(:class:`BenefitResult`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from ..cohort import BenefitDecision, ClaimFacts
from ..money import currency_exponent, format_minor, round_down, to_decimal, to_minor

#: The ``kind`` of each benefit model, as written in a pool file.
BENEFIT_KINDS = ("fixed", "age-band", "reimbursement", "fixed-plus-reimbursement", "tenure-ramp")

_MAX_AMOUNT = Decimal("1000000000")


# -- amounts, rates and fractions as they arrive from a pool file --------------------------------


def _amount(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be an amount such as 300000, not {value!r}")
    if isinstance(value, float):
        raise ValueError(
            f'must be an integer or a string such as "300000.00", not {value!r} (floats cannot hold amounts exactly)'
        )
    if isinstance(value, str | int | Decimal):
        try:
            return to_decimal(value)
        except (TypeError, ValueError):
            raise ValueError(f'must be an amount such as 300000 or "300000.00", not {value!r}') from None
    return value


def _check_amount(value: Decimal, *, positive: bool) -> Decimal:
    if positive and value <= 0:
        raise ValueError(f"must be above 0 ({value} given)")
    if value < 0:
        raise ValueError(f"must not be negative ({value} given)")
    if value > _MAX_AMOUNT:
        raise ValueError(f"must be at most {_MAX_AMOUNT:,} ({value:,} given)")
    if value != value.quantize(Decimal("0.01"), rounding=ROUND_FLOOR):
        raise ValueError(f"must have at most two decimal places ({value} given)")
    return value


def _nonnegative_amount(value: Any) -> Any:
    value = _amount(value)
    return _check_amount(value, positive=False) if isinstance(value, Decimal) else value


def _positive_amount(value: Any) -> Any:
    value = _amount(value)
    return _check_amount(value, positive=True) if isinstance(value, Decimal) else value


def _rate(value: Any) -> Any:
    """A fraction from 0 to 1: ``0.2``, ``"0.20"`` or ``"20%"``."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f'must be a fraction such as "0.2" or a percentage such as "20%", not {value!r}')
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            value = Decimal(value.strip()[:-1].strip()) / 100
        except InvalidOperation:
            raise ValueError(f'must be a percentage such as "20%", not {value!r}') from None
    elif isinstance(value, str | int | Decimal):
        try:
            value = to_decimal(value)
        except (TypeError, ValueError):
            raise ValueError(f'must be a fraction such as "0.2" or a percentage such as "20%", not {value!r}') from None
    else:
        return value
    if not Decimal(0) <= value <= Decimal(1):
        hint = f' (for {value}% write "{value}%" or {value / 100})' if Decimal(1) < value <= Decimal(100) else ""
        raise ValueError(f"must be a fraction from 0 to 1 ({value} given){hint}")
    return value


def _fraction(value: Any) -> Fraction:
    """A fraction of a benefit: ``"1/3"``, ``1``, ``"0.5"`` or ``"50%"``."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f'a step must be a fraction such as "1/3", "0.5" or 1, not {value!r}')
    try:
        if isinstance(value, str) and value.strip().endswith("%"):
            result = Fraction(value.strip()[:-1].strip()) / 100
        elif isinstance(value, str | int | Decimal):
            result = Fraction(value.strip() if isinstance(value, str) else value)
        else:
            raise ValueError
    except (ValueError, ZeroDivisionError):
        raise ValueError(f'a step must be a fraction such as "1/3", "0.5" or 1, not {value!r}') from None
    if not Fraction(0) < result <= Fraction(1):
        raise ValueError(f"a step must be above 0 and at most 1 (the full benefit), not {value!r}")
    return result


#: An amount of money in major units, at least 0 (an int, a string or a Decimal; never a float).
Amount = Annotated[Decimal, BeforeValidator(_nonnegative_amount)]
#: An amount of money above 0.
PositiveAmount = Annotated[Decimal, BeforeValidator(_positive_amount)]
#: A fraction from 0 to 1, also written as a percentage (``"20%"``).
Rate = Annotated[Decimal, BeforeValidator(_rate)]


# -- rounding and formatting ---------------------------------------------------------------------


def format_amount(amount: Decimal | int | str, currency: str | None, locale: str = "en") -> str:
    """An amount as members read it: ``300,000.00 CNY``; ``300,000.00 元`` in Chinese; without a
    currency (not known), ``300,000.00``. Rounded down to the minor unit."""
    if currency is None:
        return f"{round_down(amount, 'CNY'):,}"
    text = format_minor(to_minor(round_down(amount, currency), currency), currency)
    if locale == "zh-CN" and currency == "CNY":
        return f"{text} 元"
    return f"{text} {currency}"


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


# -- what a model is given and what it answers ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenefitInputs:
    """What a benefit model knows of a claim.

    :param currency: the pool's currency (amounts are rounded down to its minor unit).
    :param event_date: the day of the event (the diagnosis).
    :param age: the member's age in whole years on ``event_date`` (for :class:`AgeBandBenefit`).
    :param costs: the self-paid costs the claim asks to have reimbursed, or ``None`` if none were given.
    :param prior_total: what the member was already paid that counts against a shared maximum.
    :param joined_on: the day the member joined (for :class:`TenureRampBenefit`).
    :param waiting_until: the last day of the member's waiting (observation) period.
    """

    currency: str
    event_date: date
    age: int | None = None
    costs: Decimal | None = None
    prior_total: Decimal = Decimal(0)
    joined_on: date | None = None
    waiting_until: date | None = None

    def __post_init__(self) -> None:
        currency_exponent(self.currency)
        if self.costs is not None:
            costs = to_decimal(self.costs)
            if costs < 0:
                raise ValueError(f"costs cannot be negative ({costs} given)")
            object.__setattr__(self, "costs", costs)
        prior = to_decimal(self.prior_total)
        if prior < 0:
            raise ValueError(f"what a member was already paid cannot be negative ({prior} given)")
        object.__setattr__(self, "prior_total", prior)

    @classmethod
    def from_claim(
        cls, claim: ClaimFacts, *, costs: Decimal | None = None, prior_total: Decimal | None = None
    ) -> BenefitInputs:
        """The inputs of ``claim``: the member's age at the event, dates, and (unless given)
        everything the member was already paid in the pool as ``prior_total``."""
        member = claim.member
        return cls(
            currency=claim.currency,
            event_date=claim.event_date,
            age=member.age_on(claim.event_date),
            costs=costs,
            prior_total=claim.prior_total if prior_total is None else prior_total,
            joined_on=member.joined_on,
            waiting_until=member.waiting_until,
        )


@dataclass(frozen=True, slots=True)
class BenefitResult:
    """What a benefit model computed for a claim: the amount (never above ``cap``) and why."""

    amount: Decimal
    cap: Decimal
    reasons: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        object.__setattr__(self, "cap", to_decimal(self.cap))
        object.__setattr__(self, "reasons", tuple(self.reasons))
        if self.amount < 0 or self.cap < 0:
            raise ValueError("a benefit and its cap cannot be negative")
        if self.amount > self.cap:
            raise ValueError(f"benefit {self.amount} is above its cap {self.cap}")
        if not self.reasons:
            raise ValueError("a benefit result must give at least one reason")

    @property
    def payable(self) -> bool:
        return self.amount > 0

    def decision(self, reasons: Sequence[str] = (), *, ends_membership: bool = False) -> BenefitDecision:
        """A :class:`~mutualaid.BenefitDecision` paying the amount (or, when it is 0, refusing the
        claim), with ``reasons`` before the model's own."""
        every = (*reasons, *self.reasons)
        if self.payable:
            return BenefitDecision.pay(self.amount, cap=self.cap, reasons=every, ends_membership=ends_membership)
        return BenefitDecision.deny(every, cap=self.cap, ends_membership=ends_membership)


class _Benefit(BaseModel, ABC):
    """What every benefit model does: evaluate a claim's inputs, and describe itself in words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    def uses_costs(self) -> bool:
        """Whether the model reimburses costs (a claim should then give them)."""
        return False

    @abstractmethod
    def evaluate(self, inputs: BenefitInputs) -> BenefitResult:
        """The benefit for a claim with ``inputs``: never above its cap, exact to the minor unit."""

    @abstractmethod
    def describe(self, locale: str = "en", currency: str | None = None) -> str:
        """The model in words, as part of a sentence, in ``locale`` (``"zh-CN"`` or ``"en"``)."""
