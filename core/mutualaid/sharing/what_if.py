"""A period worked out from its inputs alone, with no database (``share plan``): to reproduce a
published period (aid amount, members sharing, surplus carried in) or to see what one would cost.

Pure: the pool's sharing settings come in validated (the API reads a pool file when one is
given); the figures are those a run would produce with equal shares (no weights, no year's cap:
those depend on each member).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pydantic

from ..config import SharingConfig, format_validation_error
from ..errors import ValidationError
from ..money import to_minor
from ..vocabulary import FeePolicy, ShortfallPolicy
from .plan import SharingPlan, fund, plan_sharing, uniform_cap
from .result import SharingResult

__all__ = ["plan_period"]


def _settings(sharing: SharingConfig, fee_rate: str | Decimal | None, rounding: str | None) -> SharingConfig:
    """The pool's sharing settings with the overrides given, validated as a pool file's are."""
    updates: dict[str, Any] = {}
    if fee_rate is not None:
        updates["management_fee_rate"] = Decimal(str(fee_rate))
        updates["management_fee"] = FeePolicy.RATE
    if rounding is not None:
        updates["rounding"] = rounding
    if not updates:
        return sharing
    try:
        return SharingConfig.model_validate({**sharing.model_dump(), **updates})
    except pydantic.ValidationError as exc:
        raise ValidationError(format_validation_error(exc, ("sharing",))) from None


def _amounts(currency: str, fee_rate: str | Decimal | None, **given: str | Decimal) -> dict[str, int]:
    """The amounts given, in minor units (``--aid``, ``--surplus-in``), and a fee rate that is a number.

    :raises ValidationError: listing every problem.
    """
    problems = []
    if fee_rate is not None:
        try:
            Decimal(str(fee_rate))
        except ArithmeticError:
            problems.append(f"--fee-rate: {fee_rate!r} is not a number such as 0.08")
    amounts: dict[str, int] = {}
    for key, value in given.items():
        name = "--" + key.replace("_", "-")
        try:
            amounts[name] = to_minor(value, currency)
        except (ValueError, ArithmeticError) as exc:
            problems.append(f"{name}: {exc}")
        else:
            if amounts[name] < 0:
                problems.append(f"{name}: must not be negative ({value} given)")
    if problems:
        raise ValidationError(problems)
    return amounts


def _capped(plan: SharingPlan, cap: int | None) -> tuple[int, int]:
    """What members are charged under a cap that is the same for everyone, and how many it caps."""
    if cap is None or plan.largest_charge <= cap:
        return plan.charged, 0
    share = min(plan.share, cap)
    extra = plan.extra if plan.share + 1 <= cap else 0
    # With a share equal to the cap only the members paying an extra minor unit pay less.
    return share * plan.members + extra, plan.members if plan.share > cap else plan.extra


def plan_period(
    sharing: SharingConfig,
    currency: str,
    *,
    aid: str | Decimal,
    members: int,
    claims: int = 1,
    surplus_in: str | Decimal = "0",
    fee_rate: str | Decimal | None = None,
    rounding: str | None = None,
) -> SharingResult:
    """A period's figures from its inputs: ``fee_rate`` and ``rounding`` override ``sharing``'s.

    :raises ValidationError: listing every bad input (an amount that is not exact or negative, a
        fee rate that is not a number or not allowed, an unknown rounding).
    """
    amounts = _amounts(currency, fee_rate, aid=aid, surplus_in=surplus_in)
    sharing = _settings(sharing, fee_rate, rounding)
    plan = plan_sharing(
        aid=amounts["--aid"],
        fee_rate=sharing.management_fee_rate,
        fee_policy=sharing.management_fee,
        fee_per_member=to_minor(sharing.management_fee_per_member, currency),
        surplus_in=amounts["--surplus-in"],
        members=members,
        rounding=sharing.rounding,
    )
    cap = uniform_cap(sharing.caps, currency, claims)
    charged, capped = _capped(plan, cap)
    policy = sharing.caps.shortfall if sharing.caps.any else ShortfallPolicy.NONE
    funding = fund(
        plan,
        charged,
        policy=policy if policy != ShortfallPolicy.NONE else ShortfallPolicy.SPONSOR,
        fee_policy=sharing.management_fee,
        fee_rate=sharing.management_fee_rate,
    )
    return SharingResult(
        run_id=0,
        pool_key="(plan)",
        period="(plan)",
        notice_date=date.min,
        deduction_date=date.min,
        currency=currency,
        rounding=sharing.rounding,
        fee_rate=sharing.management_fee_rate,
        members=plan.members,
        claims=claims,
        aid_minor=plan.aid,
        fee_minor=funding.fee,
        surplus_in_minor=plan.surplus_in,
        surplus_out_minor=funding.surplus_out,
        need_minor=plan.need,
        share_minor=plan.share,
        extra_count=plan.extra,
        charged_minor=funding.charged,
        created_at=datetime.now(UTC),
        fee_policy=sharing.management_fee,
        aid_funded_minor=funding.aid_funded,
        sponsor_minor=funding.sponsor,
        carried_out_minor=funding.carried_out,
        shortfall_minor=funding.shortfall,
        shortfall_policy=policy,
        capped_count=capped,
        charge_rows=plan.members,
        max_charge_minor=min(plan.largest_charge, cap) if cap is not None else plan.largest_charge,
    )
