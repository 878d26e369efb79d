"""Benefit models: what a claim is worth, written as a table of a pool file and evaluated exactly.

A cohort lets its pools choose how benefits are computed by putting a :data:`BenefitModel` field
in its settings; the pool file then says, for example::

    [settings.benefit]                  # Meituan Hubao
    kind = "fixed-plus-reimbursement"
    maximum = 350000
    fixed_rate = "0.20"                 # 70,000 paid as a lump sum with the first claim

The models, chosen by ``kind``:

==============================  ==========================================================================
``fixed``                       a fixed lump sum (:class:`FixedBenefit`)
``age-band``                    a lump sum by age at the event (:class:`AgeBandBenefit`, Xianghubao)
``reimbursement``               costs above a deductible, less a co-pay, up to a cap (:class:`ReimbursementBenefit`)
``fixed-plus-reimbursement``    a fixed part of a shared maximum with the first claim, then costs up to what
                                is left of it (:class:`FixedPlusReimbursementBenefit`, Meituan Hubao)
``tenure-ramp``                 another model's benefit, growing with years of membership: 1/3, 2/3, then
                                all of it (:class:`TenureRampBenefit`, the proposed Kangai rule)
==============================  ==========================================================================

Each model's :meth:`evaluate` takes the :class:`BenefitInputs` of a claim (the member's age at the
event, the self-paid costs, what the member was already paid ...) and returns a
:class:`BenefitResult`: the amount, the cap that applied and the reasons, in words an operator
reads; :meth:`BenefitResult.decision` turns it into a :class:`~mutualaid.BenefitDecision`.

Rounding: every amount a model derives from a rate or a fraction (a co-pay, Meituan's 20%, a
ramp's 1/3) is rounded **down** to the minor unit of the pool's currency (:func:`round_down`), so
that the pool never pays more than its rule says; the fen that is not paid stays with the pool.
Amounts written in the settings are used as written (rounded down too, should one have more
decimals than the currency, e.g. ``"10.50"`` in a JPY pool).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)

from .cohort import BenefitDecision, ClaimFacts, age_on
from .money import currency_exponent, format_minor, multiply_down, round_down, to_decimal, to_minor

__all__ = [
    "BENEFIT_KINDS",
    "AgeBand",
    "Amount",
    "AgeBandBenefit",
    "BenefitInputs",
    "BenefitModel",
    "BenefitResult",
    "FixedBenefit",
    "FixedPlusReimbursementBenefit",
    "PositiveAmount",
    "Rate",
    "ReimbursementBenefit",
    "TenureRampBenefit",
    "format_amount",
    "parse_benefit",
    "round_down",
]

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


# -- the models ----------------------------------------------------------------------------------


class FixedBenefit(_Benefit):
    """A fixed lump sum for every covered event (``kind = "fixed"``)."""

    kind: Literal["fixed"] = "fixed"
    amount: PositiveAmount = Field(description="The lump sum, in major units of the pool's currency.")

    def evaluate(self, inputs: BenefitInputs) -> BenefitResult:
        amount = round_down(self.amount, inputs.currency)
        return BenefitResult(amount, amount, (f"the fixed benefit of {format_amount(amount, inputs.currency)}",))

    def describe(self, locale: str = "en", currency: str | None = None) -> str:
        money = format_amount(self.amount, currency, locale)
        return f"一次性给付 {money}" if locale == "zh-CN" else f"a lump sum of {money}"


class AgeBand(BaseModel):
    """One band of :class:`AgeBandBenefit`: the ages it covers (both included) and its lump sum."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_age: int = Field(0, ge=0, le=150, description="Youngest age at the event, in whole years (included).")
    max_age: int | None = Field(
        None, ge=0, le=150, description="Oldest age at the event, in whole years (included); none: no upper limit."
    )
    amount: PositiveAmount = Field(description="The lump sum for an event at these ages.")

    @model_validator(mode="after")
    def _order(self) -> AgeBand:
        if self.max_age is not None and self.max_age < self.min_age:
            raise ValueError(f"max_age {self.max_age} is below min_age {self.min_age}")
        return self

    def covers(self, age: int) -> bool:
        return self.min_age <= age and (self.max_age is None or age <= self.max_age)

    def ages(self, locale: str = "en") -> str:
        if self.max_age is None:
            return f"{self.min_age} 周岁及以上" if locale == "zh-CN" else f"ages {self.min_age} and over"
        if locale == "zh-CN":
            return f"{self.min_age} 至 {self.max_age} 周岁"
        return f"ages {self.min_age} to {self.max_age}"


class AgeBandBenefit(_Benefit):
    """A lump sum by the member's age at the event (``kind = "age-band"``), as Xianghubao paid:
    300,000 under 40 and 100,000 from 40 to 59. The bands follow each other without gaps or
    overlaps; an age outside every band is not covered."""

    kind: Literal["age-band"] = "age-band"
    bands: tuple[AgeBand, ...] = Field(
        min_length=1,
        description="The age bands, youngest first, each a table {min_age, max_age, amount}; a band starts "
        "the year after the previous one ends.",
    )

    @model_validator(mode="after")
    def _contiguous(self) -> AgeBandBenefit:
        for number, (before, after) in enumerate(zip(self.bands, self.bands[1:], strict=False), start=2):
            if before.max_age is None:
                raise ValueError(f"band {number - 1} has no max_age, so no band can follow it")
            if after.min_age != before.max_age + 1:
                raise ValueError(
                    f"band {number} starts at age {after.min_age} but band {number - 1} ends at age "
                    f"{before.max_age}; bands must follow each other without a gap or an overlap "
                    f"(band {number} should start at {before.max_age + 1})"
                )
        return self

    def band_for(self, age: int) -> AgeBand | None:
        """The band covering ``age``, or ``None``."""
        for band in self.bands:
            if band.covers(age):
                return band
        return None

    def evaluate(self, inputs: BenefitInputs) -> BenefitResult:
        if inputs.age is None:
            raise ValueError("an age-band benefit needs the member's age at the event")
        band = self.band_for(inputs.age)
        if band is None:
            return BenefitResult(
                Decimal(0),
                Decimal(0),
                (
                    f"age {inputs.age} at the event on {inputs.event_date} is in none of the pool's age bands "
                    f"({self._ranges()}), so no benefit is paid",
                ),
            )
        amount = round_down(band.amount, inputs.currency)
        return BenefitResult(
            amount,
            amount,
            (
                f"age {inputs.age} at the event on {inputs.event_date}: the benefit for {band.ages()} is "
                f"{format_amount(amount, inputs.currency)}",
            ),
        )

    def _ranges(self) -> str:
        return ", ".join(band.ages() for band in self.bands)

    def describe(self, locale: str = "en", currency: str | None = None) -> str:
        first, last = self.bands[0], self.bands[-1]
        if locale == "zh-CN":
            parts = "，".join(
                f"{band.ages('zh-CN')} {format_amount(band.amount, currency, locale)}" for band in self.bands
            )
            limits = []
            if first.min_age > 0:
                limits.append(f"未满 {first.min_age} 周岁")
            if last.max_age is not None:
                limits.append(f"{last.max_age + 1} 周岁及以上")
            tail = f"（{'或'.join(limits)}不予给付）" if limits else ""
            return f"按事件发生时的年龄一次性给付：{parts}{tail}"
        parts = ", ".join(f"{format_amount(band.amount, currency)} for {band.ages()}" for band in self.bands)
        limits = []
        if first.min_age > 0:
            limits.append(f"under {first.min_age}")
        if last.max_age is not None:
            limits.append(f"from age {last.max_age + 1}")
        tail = f" (no benefit {' or '.join(limits)})" if limits else ""
        return f"a lump sum by age at the event: {parts}{tail}"


def _reimbursable(costs: Decimal, deductible: Decimal, copay_rate: Decimal, currency: str) -> tuple[Decimal, list[str]]:
    """The part of ``costs`` a pool reimburses before any cap, and how it was found."""
    fmt = lambda a: format_amount(a, currency)  # noqa: E731
    deductible = round_down(deductible, currency)
    costs = round_down(costs, currency)
    above = costs - deductible
    if above <= 0:
        if deductible:
            return Decimal(0), [f"self-paid costs of {fmt(costs)} do not exceed the deductible of {fmt(deductible)}"]
        return Decimal(0), ["the self-paid costs are 0"]
    if deductible:
        found = f"self-paid costs of {fmt(costs)} less the deductible of {fmt(deductible)}: {fmt(above)}"
    else:
        found = f"self-paid costs of {fmt(costs)}"
    if copay_rate:
        covered = multiply_down(above, 1 - copay_rate, currency)
        found += f"; less the member's co-pay of {_percent(copay_rate)}: {fmt(covered)}"
    else:
        covered = above
    return covered, [found]


class ReimbursementBenefit(_Benefit):
    """Self-paid costs above a deductible, less a co-pay, up to a cap per claim
    (``kind = "reimbursement"``); optionally with a maximum per member over all claims.

    ``benefit = min(cap, round_down((costs - deductible) * (1 - copay_rate)))``, and, with
    ``member_maximum``, at most what is left of it after the member's earlier benefits.
    """

    kind: Literal["reimbursement"] = "reimbursement"
    deductible: Amount = Field(
        Decimal(0), description="Costs up to this amount are the member's own; only costs above it are reimbursed."
    )
    copay_rate: Rate = Field(
        Decimal(0),
        description='Share of the costs above the deductible the member bears, from 0 to 1 ("0.2" or "20%").',
    )
    cap: PositiveAmount = Field(description="The most one claim is paid.")
    member_maximum: PositiveAmount | None = Field(
        None,
        description="The most one member is paid over all claims (earlier benefits count against it); none: no "
        "limit beyond the cap per claim.",
    )

    @model_validator(mode="after")
    def _maximum(self) -> ReimbursementBenefit:
        if self.member_maximum is not None and self.member_maximum < self.cap:
            raise ValueError(
                f"cap ({self.cap:,}) is above member_maximum ({self.member_maximum:,}), so no claim could be paid "
                "its full cap; lower cap or raise member_maximum"
            )
        return self

    @property
    def uses_costs(self) -> bool:
        return True

    def evaluate(self, inputs: BenefitInputs) -> BenefitResult:
        cur = inputs.currency
        fmt = lambda a: format_amount(a, cur)  # noqa: E731
        limit = round_down(self.cap, cur)
        limited_by = f"the cap of {fmt(limit)} per claim"
        reasons: list[str] = []
        if self.member_maximum is not None:
            maximum = round_down(self.member_maximum, cur)
            left = max(maximum - inputs.prior_total, Decimal(0))
            if left < limit:
                limit = left
                limited_by = f"what is left of the maximum per member, {fmt(left)}"
                reasons.append(
                    f"the member was already paid {fmt(inputs.prior_total)} of the maximum of {fmt(maximum)} per "
                    f"member, so at most {fmt(left)} is left"
                )
        if inputs.costs is None:
            return BenefitResult(
                Decimal(0), limit, (*reasons, "no self-paid costs were given, so nothing can be reimbursed")
            )
        covered, found = _reimbursable(inputs.costs, self.deductible, self.copay_rate, cur)
        reasons.extend(found)
        amount = min(covered, limit)
        if covered > limit:
            reasons.append(f"reimbursed up to {limited_by}: {fmt(amount)}")
        elif amount:
            reasons.append(f"reimbursed: {fmt(amount)} (within {limited_by})")
        else:
            reasons.append("so nothing is reimbursed")
        return BenefitResult(amount, limit, tuple(reasons))

    def describe(self, locale: str = "en", currency: str | None = None) -> str:
        m = lambda a: format_amount(a, currency, locale)  # noqa: E731
        if locale == "zh-CN":
            text = (
                f"自付医疗费用超过免赔额 {m(self.deductible)}的部分予以报销"
                if self.deductible
                else "自付医疗费用予以报销"
            )
            if self.copay_rate:
                text += f"（成员自担 {_percent(self.copay_rate)}）"
            text += f"，每次申请最多 {m(self.cap)}"
            if self.member_maximum is not None:
                text += f"，每位成员累计最多 {m(self.member_maximum)}"
            return text
        text = (
            f"self-paid costs above a deductible of {m(self.deductible)} are reimbursed"
            if self.deductible
            else "self-paid costs are reimbursed"
        )
        if self.copay_rate:
            text += f", less a co-pay of {_percent(self.copay_rate)} that the member bears"
        text += f", up to {m(self.cap)} per claim"
        if self.member_maximum is not None:
            text += f" and {m(self.member_maximum)} per member over all claims"
        return text


class FixedPlusReimbursementBenefit(_Benefit):
    """A shared maximum per member, part of it paid as a lump sum (``kind = "fixed-plus-reimbursement"``).

    As Meituan Hubao paid: up to 350,000 in all; 20% of it (70,000) as a fixed lump sum with the
    member's first paid claim, the rest reimbursed against bills, so that every later claim is
    capped at the maximum minus what the member was already paid. The fixed part is due when the
    member has been paid nothing yet (``prior_total`` is 0).
    """

    kind: Literal["fixed-plus-reimbursement"] = "fixed-plus-reimbursement"
    maximum: PositiveAmount = Field(description="The most one member is paid in all, fixed part included.")
    fixed_rate: Rate = Field(
        Decimal("0.2"),
        description='Share of the maximum paid as a lump sum with the first claim, from 0 to 1 ("0.2" or "20%").',
    )
    deductible: Amount = Field(Decimal(0), description="Costs up to this amount, per claim, are not reimbursed.")
    copay_rate: Rate = Field(Decimal(0), description="Share of the costs above the deductible the member bears.")

    @property
    def uses_costs(self) -> bool:
        return True

    def fixed_part(self, currency: str) -> Decimal:
        """The lump sum: ``maximum * fixed_rate``, rounded down to the minor unit."""
        return multiply_down(round_down(self.maximum, currency), self.fixed_rate, currency)

    def evaluate(self, inputs: BenefitInputs) -> BenefitResult:
        cur = inputs.currency
        fmt = lambda a: format_amount(a, cur)  # noqa: E731
        maximum = round_down(self.maximum, cur)
        left = max(maximum - inputs.prior_total, Decimal(0))
        if left == 0:
            return BenefitResult(
                Decimal(0),
                Decimal(0),
                (f"the member was already paid {fmt(inputs.prior_total)}, the maximum of {fmt(maximum)}",),
            )
        reasons: list[str] = []
        fixed = Decimal(0)
        if inputs.prior_total == 0:
            fixed = self.fixed_part(cur)
            if fixed:
                reasons.append(
                    f"the fixed part, {_percent(self.fixed_rate)} of the maximum of {fmt(maximum)}, paid with the "
                    f"first claim: {fmt(fixed)}"
                )
        else:
            reasons.append(
                f"the member was already paid {fmt(inputs.prior_total)} of the maximum of {fmt(maximum)} (the fixed "
                f"part included), so at most {fmt(left)} is left"
            )
        reimbursed = Decimal(0)
        if inputs.costs is None:
            reasons.append("no self-paid costs were given, so nothing is reimbursed")
        else:
            reimbursed, found = _reimbursable(inputs.costs, self.deductible, self.copay_rate, cur)
            reasons.extend(found)
        total = fixed + reimbursed
        if total > left:
            reasons.append(f"paid up to what is left of the maximum: {fmt(left)}")
            total = left
        elif total:
            reasons.append(f"benefit: {fmt(total)}")
        return BenefitResult(total, left, tuple(reasons))

    def describe(self, locale: str = "en", currency: str | None = None) -> str:
        m = lambda a: format_amount(a, currency, locale)  # noqa: E731
        fixed = self.maximum * self.fixed_rate
        if locale == "zh-CN":
            text = (
                f"每位成员累计最多 {m(self.maximum)}：其中 {_percent(self.fixed_rate)}（{m(fixed)}）在首次申请时一次性给付，"
                "其余按票据报销自付医疗费用"
            )
            if self.deductible:
                text += f"（每次免赔额 {m(self.deductible)}）"
            if self.copay_rate:
                text += f"，成员自担 {_percent(self.copay_rate)}"
            return text + f"，直至 {m(self.maximum)}用完"
        text = (
            f"up to {m(self.maximum)} per member in all: {_percent(self.fixed_rate)} of it ({m(fixed)}) is paid as a "
            "lump sum with the first claim, and self-paid costs"
        )
        if self.deductible:
            text += f" above a deductible of {m(self.deductible)} per claim"
        text += " are reimbursed"
        if self.copay_rate:
            text += f", less a co-pay of {_percent(self.copay_rate)}"
        return text + f", until the {m(self.maximum)} is used up"


def _discriminate(value: Any) -> str | None:
    kind = value.get("kind") if isinstance(value, Mapping) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) else None


_RAMPABLE_KINDS = ", ".join(f'"{k}"' for k in BENEFIT_KINDS if k != "tenure-ramp")
_ALL_KINDS = ", ".join(f'"{k}"' for k in BENEFIT_KINDS)

#: A benefit model a :class:`TenureRampBenefit` can ramp (any but a ramp).
RampableBenefit = Annotated[
    Annotated[FixedBenefit, Tag("fixed")]
    | Annotated[AgeBandBenefit, Tag("age-band")]
    | Annotated[ReimbursementBenefit, Tag("reimbursement")]
    | Annotated[FixedPlusReimbursementBenefit, Tag("fixed-plus-reimbursement")],
    Discriminator(
        _discriminate,
        custom_error_type="benefit_kind",
        custom_error_message=f"must be a table whose kind is one of {_RAMPABLE_KINDS} (a ramp cannot ramp a ramp)",
    ),
]


class TenureRampBenefit(_Benefit):
    """Another model's benefit, growing with years of membership (``kind = "tenure-ramp"``).

    The proposed Kangai rule: 1/3 of the full benefit in the first year after the observation
    period, 2/3 in the second, all of it from the third (``steps = ["1/3", "2/3", "1"]``; the last
    step applies to every later year). Year 1 is the 12 months from the first day after the
    waiting (observation) period, or from the joining day with ``counted_from = "joining"``.
    Each step's amount, and its cap, is rounded down to the minor unit.
    """

    kind: Literal["tenure-ramp"] = "tenure-ramp"
    benefit: RampableBenefit = Field(description="The full benefit, a table with its own kind.")
    steps: tuple[str, ...] = Field(
        ("1/3", "2/3", "1"),
        description='Fraction of the full benefit in year 1, 2, ... of membership, e.g. ["1/3", "2/3", "1"]; '
        "each above 0 and at most 1, never decreasing; the last applies to every later year.",
    )
    counted_from: Literal["end-of-waiting", "joining"] = Field(
        "end-of-waiting",
        description='Where year 1 starts: "end-of-waiting" (the day after the waiting or observation period) '
        'or "joining" (the joining day).',
    )

    @field_validator("steps", mode="before")
    @classmethod
    def _steps(cls, steps: Any) -> Any:
        if isinstance(steps, str):
            steps = [part for part in steps.split(",") if part.strip()]
        if not isinstance(steps, list | tuple):
            raise ValueError(f'must be a list of fractions such as ["1/3", "2/3", "1"], not {steps!r}')
        if not steps:
            raise ValueError('must list at least one fraction, e.g. ["1/3", "2/3", "1"]')
        fractions = [_fraction(step) for step in steps]
        for year in range(1, len(fractions)):
            if fractions[year] < fractions[year - 1]:
                raise ValueError(
                    f"must never decrease: year {year + 1} ({fractions[year]}) is below year {year} "
                    f"({fractions[year - 1]})"
                )
        return tuple(str(f) for f in fractions)

    @property
    def fractions(self) -> tuple[Fraction, ...]:
        return tuple(Fraction(step) for step in self.steps)

    @property
    def uses_costs(self) -> bool:
        return self.benefit.uses_costs

    def starts_on(self, inputs: BenefitInputs) -> date:
        """The first day of year 1 for the member of ``inputs``."""
        if self.counted_from == "joining":
            if inputs.joined_on is None:
                raise ValueError("a tenure ramp counted from joining needs the member's joining day")
            return inputs.joined_on
        if inputs.waiting_until is None:
            raise ValueError("a tenure ramp counted from the end of the waiting period needs its last day")
        return inputs.waiting_until + timedelta(days=1)

    def year_on(self, start: date, on: date) -> int:
        """The year of membership ``on`` falls in (1 for the 12 months from ``start``)."""
        return age_on(start, on) + 1

    def fraction_in(self, year: int) -> Fraction:
        """The fraction of the full benefit paid in ``year`` (1, 2, ...)."""
        if year < 1:
            raise ValueError(f"year {year} is not a year of membership (they count from 1)")
        fractions = self.fractions
        return fractions[min(year, len(fractions)) - 1]

    def evaluate(self, inputs: BenefitInputs) -> BenefitResult:
        cur = inputs.currency
        start = self.starts_on(inputs)
        where = "the end of the waiting period" if self.counted_from == "end-of-waiting" else "joining"
        if inputs.event_date < start:
            return BenefitResult(
                Decimal(0),
                Decimal(0),
                (f"the event on {inputs.event_date} is before membership years count from {start} ({where})",),
            )
        full = self.benefit.evaluate(inputs)
        year = self.year_on(start, inputs.event_date)
        fraction = self.fraction_in(year)
        if fraction == 1:
            note = f"year {year} of membership (counted from {start}): the full benefit"
            return BenefitResult(full.amount, full.cap, (*full.reasons, note))
        amount = multiply_down(full.amount, fraction, cur)
        cap = multiply_down(full.cap, fraction, cur)
        note = (
            f"year {year} of membership (counted from {start}): {fraction} of the full benefit of "
            f"{format_amount(full.amount, cur)} is {format_amount(amount, cur)} (rounded down to the minor unit)"
        )
        return BenefitResult(amount, cap, (*full.reasons, note))

    def describe(self, locale: str = "en", currency: str | None = None) -> str:
        inner = self.benefit.describe(locale, currency)
        fractions = self.fractions
        last = len(fractions)
        if locale == "zh-CN":
            start = "观察期（等待期）结束后" if self.counted_from == "end-of-waiting" else "加入后"
            steps = [f"第 {n} 年给付 {f}" for n, f in enumerate(fractions[:-1], start=1)]
            steps.append(f"第 {last} 年起全额给付" if fractions[-1] == 1 else f"第 {last} 年起给付 {fractions[-1]}")
            return f"{inner}；互助权益随会龄增长：{start}{'，'.join(steps)}（金额向下取整到分）"
        start = "the end of the observation (waiting) period" if self.counted_from == "end-of-waiting" else "joining"
        steps = [f"{f} of it in year {n}" for n, f in enumerate(fractions[:-1], start=1)]
        steps.append(
            f"the full benefit from year {last}" if fractions[-1] == 1 else f"{fractions[-1]} of it from year {last}"
        )
        listed = steps[0] if len(steps) == 1 else ", ".join(steps[:-1]) + " and " + steps[-1]
        return (
            f"{inner}; rights grow with membership: {listed}, years counted from {start} "
            "(amounts rounded down to the minor unit)"
        )


#: Any benefit model, chosen by its ``kind`` (a pydantic discriminated union): use it as the type
#: of a settings field, e.g. ``benefit: BenefitModel = Field(default=...)``.
BenefitModel = Annotated[
    Annotated[FixedBenefit, Tag("fixed")]
    | Annotated[AgeBandBenefit, Tag("age-band")]
    | Annotated[ReimbursementBenefit, Tag("reimbursement")]
    | Annotated[FixedPlusReimbursementBenefit, Tag("fixed-plus-reimbursement")]
    | Annotated[TenureRampBenefit, Tag("tenure-ramp")],
    Discriminator(
        _discriminate,
        custom_error_type="benefit_kind",
        custom_error_message=f"must be a table whose kind is one of {_ALL_KINDS}",
    ),
]

_ADAPTER: TypeAdapter[Any] = TypeAdapter(BenefitModel)


def parse_benefit(
    data: Mapping[str, Any],
) -> FixedBenefit | AgeBandBenefit | ReimbursementBenefit | FixedPlusReimbursementBenefit | TenureRampBenefit:
    """Validate a benefit table (``{"kind": "fixed", "amount": 300000}``) into its model.

    :raises pydantic.ValidationError: naming every problem.
    """
    result: FixedBenefit | AgeBandBenefit | ReimbursementBenefit | FixedPlusReimbursementBenefit | TenureRampBenefit = (
        _ADAPTER.validate_python(data)
    )
    return result
