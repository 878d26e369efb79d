"""What a period owes and how it is split: pure arithmetic on a handful of integers, used alike
by a sharing run (``share run``) and by a what-if worked out from inputs alone (``share plan``).

    cost          = aid amount + management fee + deficit carried in
    need          = cost - surplus carried in                          (never below 0)
    charged       = need + surplus out - shortfall

and the run's ledger entry proves, to the minor unit::

    charged + surplus in + sponsor + deficit out = aid funded + fee + deficit in + surplus out

Policies, each a pool setting (``[sharing]``):

- rounding ``round-up``: everyone pays their part rounded up to the minor unit, the excess is
  carried to the next period as surplus (Xianghubao). ``exact``: parts are rounded down and the
  minor units left over go one each to that many members, in rotation (see :mod:`.sharers`).
- management fee: a rate of the aid amount, a flat amount per member sharing, or none.
- weights: equal shares, or the cohort's weights by age band (apportioned exactly).
- caps per member: per claim funded, per period and per calendar year. When a cap binds, the
  shortfall is paid by the sponsor, carried to the next period, or the period's benefits are
  prorated (:func:`fund`) -- always recorded in the run and in the ledger.

No database, no I/O: every rounding comes from :mod:`mutualaid.money`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..config import CapsConfig
from ..errors import ValidationError
from ..money import largest_aid_within, round_rate, split_weighted, to_minor
from ..vocabulary import FeePolicy, Rounding, ShortfallPolicy

__all__ = ["Funding", "SharingPlan", "fund", "plan_sharing", "uniform_cap"]


@dataclass(frozen=True, slots=True)
class SharingPlan:
    """What one period owes and how it is split, before caps; all amounts in minor units.

    ``weights``/``counts``/``shares`` describe the classes of members (one class of weight 1
    without weights); with exact rounding ``extra`` members pay one minor unit more.
    """

    aid: int
    fee: int
    surplus_in: int
    carried_in: int
    need: int
    left_over: int
    rounding: str
    weights: tuple[int, ...] = (1,)
    counts: tuple[int, ...] = (0,)
    shares: tuple[int, ...] = (0,)
    extra: int = 0

    @property
    def members(self) -> int:
        return sum(self.counts)

    @property
    def share(self) -> int:
        """The share of the lightest class (everyone's share without weights)."""
        return self.shares[0]

    @property
    def charged(self) -> int:
        return sum(c * s for c, s in zip(self.counts, self.shares, strict=True)) + self.extra

    @property
    def surplus_out(self) -> int:
        return self.charged - self.need + self.left_over

    @property
    def total_weight(self) -> int:
        return sum(c * w for c, w in zip(self.counts, self.weights, strict=True))

    @property
    def largest_charge(self) -> int:
        """The most any one member is asked for (before caps)."""
        populated = [s for s, c in zip(self.shares, self.counts, strict=True) if c]
        if not populated:
            return 0
        return max(populated) + (1 if self.extra else 0)

    def reconciles(self) -> bool:
        """``charged == aid + fee + carried in - surplus in + surplus out``, to the minor unit."""
        return self.charged == self.aid + self.fee + self.carried_in - self.surplus_in + self.surplus_out


def _fee(aid: int, members: int, config_fee: str, rate: Decimal, per_member: int) -> int:
    if config_fee == FeePolicy.RATE:
        return round_rate(aid, rate)
    if config_fee == FeePolicy.FLAT:
        return per_member * members if (aid or members) else 0
    return 0


def plan_sharing(
    *,
    aid: int,
    fee_rate: Decimal,
    surplus_in: int,
    members: int | None = None,
    rounding: str,
    weights: tuple[int, ...] = (1,),
    counts: tuple[int, ...] | None = None,
    fee_policy: FeePolicy | str = FeePolicy.RATE,
    fee_per_member: int = 0,
    carried_in: int = 0,
) -> SharingPlan:
    """Plan a period: the fee, the need, each class's share, the surplus carried out.

    Give ``members`` for equal shares, or ``weights`` and ``counts`` (members per weight) for
    weighted shares. A surplus larger than the period's cost pays all of it and the rest is
    carried on. With a need but no members it is a :class:`ValidationError`.
    """
    if counts is None:
        counts = (members or 0,)
        weights = (1,)
    if aid < 0 or surplus_in < 0 or carried_in < 0 or any(c < 0 for c in counts):
        raise ValueError("aid, surplus, deficit and member counts cannot be negative")
    if rounding not in (Rounding.ROUND_UP, Rounding.EXACT):
        raise ValueError(f"unknown rounding policy {rounding!r}")
    total_members = sum(counts)
    fee = _fee(aid, total_members, fee_policy, fee_rate, fee_per_member) if aid or fee_policy == FeePolicy.FLAT else 0
    if fee_policy == FeePolicy.FLAT and total_members == 0:
        fee = 0
    cost = aid + fee + carried_in
    need = max(cost - surplus_in, 0)
    left_over = max(surplus_in - cost, 0)
    if need == 0:
        return SharingPlan(
            aid,
            fee,
            surplus_in,
            carried_in,
            0,
            left_over,
            rounding,
            weights=weights,
            counts=counts,
            shares=tuple(0 for _ in counts),
        )
    if total_members == 0:
        raise ValidationError(
            [
                "no member shares this period, so its cost of "
                f"{need} minor units cannot be shared; check the pool's members and the period"
            ]
        )
    split = split_weighted(need, tuple(weights), tuple(counts), exact=rounding == Rounding.EXACT)
    return SharingPlan(
        aid,
        fee,
        surplus_in,
        carried_in,
        need,
        left_over,
        rounding,
        weights=tuple(weights),
        counts=tuple(counts),
        shares=split.shares,
        extra=split.extra,
    )


@dataclass(frozen=True, slots=True)
class Funding:
    """What a period funds once its charges are written (caps may have bound): what members were
    charged, the aid and fee it pays for, the surplus and deficit it carries out, what the sponsor
    pays and the shortfall the caps made."""

    charged: int
    aid_funded: int
    fee: int
    surplus_out: int
    sponsor: int
    carried_out: int
    shortfall: int

    def balances(self, plan: SharingPlan) -> bool:
        return (
            self.charged + plan.surplus_in + self.sponsor + self.carried_out
            == self.aid_funded + self.fee + plan.carried_in + self.surplus_out
        )


def fund(plan: SharingPlan, charged: int, *, policy: str, fee_policy: str, fee_rate: Decimal) -> Funding:
    """Who bears what caps kept members from paying (``plan.need + surplus - charged``).

    ``sponsor``: the sponsor pays it. ``carry``: it is owed by the next period. ``prorate``: the
    period funds less aid (and, with a fee rate, a fee on the aid actually funded); a fee or a
    deficit that still cannot be met is carried.
    """
    delta = charged - plan.need
    if delta >= 0:
        return Funding(charged, plan.aid, plan.fee, delta + plan.left_over, 0, 0, 0)
    shortfall = -delta
    if policy == ShortfallPolicy.SPONSOR:
        return Funding(charged, plan.aid, plan.fee, 0, shortfall, 0, shortfall)
    if policy == ShortfallPolicy.CARRY:
        return Funding(charged, plan.aid, plan.fee, 0, 0, shortfall, shortfall)
    if policy != ShortfallPolicy.PRORATE:
        raise ValueError(f"unknown shortfall policy {policy!r}")
    # What this period can fund: what members paid plus the surplus carried in, less the deficit.
    budget = charged + plan.surplus_in - plan.carried_in
    if fee_policy == FeePolicy.RATE:
        aid = min(largest_aid_within(budget, fee_rate), plan.aid)
        fee = round_rate(aid, fee_rate)
    else:
        fee = min(plan.fee, max(budget, 0))
        aid = min(max(budget - fee, 0), plan.aid)
    left = budget - aid - fee  # a minor unit the rounding of the fee could not use, or a deficit
    if left >= 0:
        return Funding(charged, aid, fee, left, 0, 0, shortfall)
    return Funding(charged, aid, fee, 0, 0, -left, shortfall)


def uniform_cap(caps: CapsConfig, currency: str, claims: int) -> int | None:
    """The most any member pays this period under the caps that are the same for everyone (per
    period, and per claim times the claims funded), in minor units; ``None`` without such caps."""
    bounds = []
    if caps.per_period is not None:
        bounds.append(to_minor(caps.per_period, currency))
    if caps.per_case is not None and claims:
        bounds.append(to_minor(caps.per_case, currency) * claims)
    return min(bounds) if bounds else None
