"""Benefit models that pay a lump sum: a fixed amount, or an amount by age at the event."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..money import round_down
from .base import BenefitInputs, BenefitResult, PositiveAmount, _Benefit, format_amount


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
