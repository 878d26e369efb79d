"""Benefit models that pay costs back: above a deductible, less a co-pay, up to a cap; and Meituan's
fixed part of a shared maximum, then costs up to what is left of it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from ..money import multiply_down, round_down
from .base import Amount, BenefitInputs, BenefitResult, PositiveAmount, Rate, _Benefit, _percent, format_amount


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
