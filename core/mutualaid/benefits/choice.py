"""Choosing a benefit model by its ``kind``: the tenure ramp over another model, and the union of
every model a cohort's settings field takes (:data:`BenefitModel`, :func:`parse_benefit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, TypeAdapter, field_validator

from ..cohort import age_on
from ..money import multiply_down
from .base import BENEFIT_KINDS, BenefitInputs, BenefitResult, _Benefit, _fraction, format_amount
from .lump_sums import AgeBandBenefit, FixedBenefit
from .reimbursement import FixedPlusReimbursementBenefit, ReimbursementBenefit


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
