"""The pool's health ahead: a vectorised, seeded Monte Carlo of the next periods, with fan bands
and the warnings of a cost spiral.

State, per simulated path: the members by 5-year age group, by how long they have been members
(in the waiting period; year 1, year 2, year 3 on) and by health (a healthier and a less healthy
class, whose incidence averages the pool's). Each period, on every path at once (numpy arrays of
``paths x groups x durations x classes``):

1. **claims**: a Poisson count per age group and event kind, of mean members x annual rate x
   (the class's multiplier) x (the duration's selection factor: 0 in the waiting period for an
   event not covered in it, then members who just passed a health declaration claim less for a
   few years) / periods a year; the aid is the counts times each group's benefit;
2. **the share** per member: (aid x (1 + fee rate) + flat fee x members) / members, capped per
   period and per case as the pool's caps say;
3. **leaving** rises with the share: a member's probability of leaving in a period is
   ``exit_base + exit_sensitivity x (share a year / the member's own yearly risk cost)``, so the
   healthy and the young, whose own risk is cheap, leave first (adverse selection);
4. **joining** falls as the share rises above what it was when the pool's recent joining was
   seen, the healthy deterred first: ``joins x class mix x exp(-(rise a year / the joiner's own
   yearly risk cost) / join_sensitivity)``;
5. members move on by one period: through the waiting period and the years of membership, and
   up the age groups.

Members flow as expected values given each path's shares; the randomness is the claims', and
through the shares it moves the joining and leaving too. The result gives the 10th, 50th and 90th
percentile of the share and of the members for each period, and the warnings:

* **spiral**: the median share rose while the median members fell for ``spiral_periods``
  periods running (or the pool's own last periods did);
* **run-off**: the pool's reserve is below its run-off cost (benefits approved and not yet shared,
  plus the expected aid of ``runoff_periods`` periods of events not yet claimed, fee included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["DURATIONS", "Behaviour", "Forecast", "ForecastInputs", "run_forecast", "spiral_runs"]

#: Membership durations the state tracks: waiting period, year 1, year 2, year 3 and later.
DURATIONS = 4
#: Width of an age group, in years.
GROUP_YEARS = 5


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How members respond, and the forecast's other assumptions (see docs/honest-cost.md)."""

    exit_base: float = 0.001
    exit_sensitivity: float = 0.008
    exit_max: float = 0.25
    join_sensitivity: float = 2.5
    healthy_share: float = 0.8
    healthy_multiplier: float = 0.3
    selection: tuple[float, float, float] = (0.25, 0.6, 1.0)
    runoff_periods: int = 2
    spiral_periods: int = 3

    @property
    def multipliers(self) -> tuple[float, float]:
        """Incidence multipliers of the healthier and the less healthy class (averaging 1)."""
        h, m = self.healthy_share, self.healthy_multiplier
        return m, (1 - h * m) / (1 - h)


@dataclass(frozen=True)
class ForecastInputs:
    """Where the pool stands, and what its rules say.

    :param members: members by age group (rows, ``GROUP_YEARS`` wide from 0) and duration (columns).
    :param rates: annual incidence by age group and event kind (the blended, ultimate rates).
    :param benefits: the average benefit of an event by age group and event kind.
    :param covered_waiting: per event kind, whether it is covered in the waiting period.
    :param joins: members joining per period lately; ``join_ages``: their spread over the groups.
    :param start_share: the share per member the recent joining was seen at (default: the last
        period's in ``history``, else the first simulated period's): joining falls as the share
        rises above it.
    """

    periods_per_year: int
    members: Any
    rates: Any
    benefits: Any
    covered_waiting: Any
    joins: float
    join_ages: Any
    waiting_years: float = 0.25
    fee_multiplier: float = 1.0
    flat_fee: float = 0.0
    per_period_cap: float | None = None
    per_case_cap: float | None = None
    reserve: Decimal = Decimal(0)
    pending: Decimal = Decimal(0)
    history: tuple[tuple[str, float, int], ...] = field(default_factory=tuple)
    start_share: float | None = None


@dataclass(frozen=True)
class Forecast:
    """Fan bands per period (10th, 50th, 90th percentile) and the warnings."""

    periods: int
    paths: int
    seed: int
    share: Any  # (3, periods): p10, p50, p90 of the share per member
    members: Any  # (3, periods)
    aid: Any  # (3, periods)
    spiral_probability: float
    runoff_cost: float
    reserve: float
    warnings: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        rows = []
        for t in range(self.periods):
            rows.append(
                {
                    "period": t + 1,
                    "share": [round(float(v), 2) for v in self.share[:, t]],
                    "members": [int(round(float(v))) for v in self.members[:, t]],
                    "aid": [round(float(v), 2) for v in self.aid[:, t]],
                }
            )
        return {
            "periods": self.periods,
            "paths": self.paths,
            "seed": self.seed,
            "bands": ["p10", "p50", "p90"],
            "forecast": rows,
            "spiral_probability": round(self.spiral_probability, 4),
            "runoff_cost": round(self.runoff_cost, 2),
            "reserve": round(self.reserve, 2),
            "warnings": list(self.warnings),
        }


def spiral_runs(shares: Any, members: Any, length: int) -> Any:
    """Per path (rows), whether the share rose and the members fell in each of ``length``
    periods running somewhere in the series (columns are periods)."""
    import numpy as np

    shares, members = np.asarray(shares, dtype=float), np.asarray(members, dtype=float)
    step = (np.diff(shares, axis=-1) > 0) & (np.diff(members, axis=-1) < 0)
    run = np.zeros(step.shape[:-1], dtype=np.int64)
    found = np.zeros(step.shape[:-1], dtype=bool)
    for t in range(step.shape[-1]):
        run = np.where(step[..., t], run + 1, 0)
        found |= run >= length
    return found


def run_forecast(
    inputs: ForecastInputs, periods: int = 36, paths: int = 10_000, seed: int = 0, behaviour: Behaviour | None = None
) -> Forecast:
    """Simulate ``paths`` futures of ``periods`` periods from ``inputs``."""
    import numpy as np

    if periods < 1 or paths < 1:
        raise ValueError("a forecast needs at least one period and one path")
    b = behaviour or Behaviour()
    rng = np.random.default_rng(seed)
    P = inputs.periods_per_year
    rates = np.asarray(inputs.rates, dtype=float)
    benefits = np.asarray(inputs.benefits, dtype=float)
    groups, kinds = rates.shape
    mult = np.array(b.multipliers)
    mix = np.array([b.healthy_share, 1 - b.healthy_share])
    selection = np.ones((DURATIONS, kinds))
    selection[0] = np.where(np.asarray(inputs.covered_waiting, dtype=bool), b.selection[0], 0.0)
    selection[1:] = np.asarray(b.selection)[:, None]
    # the yearly cost of each class's own risk by age group (ultimate), and of a typical joiner
    own = (rates * benefits).sum(axis=1)[:, None] * mult[None, :] * inputs.fee_multiplier + inputs.flat_fee * P
    own = np.maximum(own, 1e-9)
    join_ages = np.asarray(inputs.join_ages, dtype=float)
    join_ages = join_ages / join_ages.sum() if join_ages.sum() else np.full(groups, 1.0 / groups)
    joiner_own = (join_ages[:, None] * own).sum(axis=0)  # (classes,)

    start = np.asarray(inputs.members, dtype=float)  # (groups, durations)
    state = np.broadcast_to(start[:, :, None] * mix[None, None, :], (paths, groups, DURATIONS, 2)).copy()
    leave_waiting = min(1.0, 1.0 / max(inputs.waiting_years * P, 1e-9))
    leave_year1 = min(1.0, 1.0 / max((1 - inputs.waiting_years) * P, 1.0))
    move = np.array([leave_waiting, leave_year1, 1.0 / P, 0.0])
    age_up = 1.0 / (GROUP_YEARS * P)

    shares = np.empty((paths, periods))
    counts_n = np.empty((paths, periods))
    aids = np.empty((paths, periods))
    # expected claims per member-period by group and duration and class, for each kind
    weight = selection[None, :, None, :] * mult[None, None, :, None] * rates[:, None, None, :] / P
    flat_weight = np.ascontiguousarray(weight.reshape(groups, DURATIONS * 2, kinds))
    reference = inputs.start_share
    if reference is None and inputs.history:
        reference = inputs.history[-1][1]
    for t in range(periods):
        # per age group, members by (duration, class) times their claims: one batched product
        lam = np.matmul(state.reshape(paths, groups, -1).transpose(1, 0, 2), flat_weight).transpose(1, 0, 2)
        cases = rng.poisson(lam)
        aid = (cases * benefits[None]).sum(axis=(1, 2))
        n = state.reshape(paths, -1).sum(axis=1)
        safe = np.maximum(n, 1.0)
        share = (aid * inputs.fee_multiplier + inputs.flat_fee * n) / safe
        if inputs.per_period_cap is not None:
            share = np.minimum(share, inputs.per_period_cap)
        if inputs.per_case_cap is not None:
            total = cases.sum(axis=(1, 2))
            share = np.where(total > 0, np.minimum(share, inputs.per_case_cap * total), share)
        shares[:, t], counts_n[:, t], aids[:, t] = share, n, aid

        ratio = share[:, None, None] * P / own[None]  # (paths, groups, classes)
        leave = np.clip(b.exit_base + b.exit_sensitivity * ratio, 0.0, b.exit_max)
        state *= 1.0 - leave[:, :, None, :]
        if reference is None:
            reference = float(share.mean())
        joiner_ratio = (share[:, None] - reference) * P / joiner_own[None]  # (paths, classes)
        joins = inputs.joins * mix[None, :] * np.exp(-np.maximum(joiner_ratio, 0.0) / b.join_sensitivity)
        # one period on: through the durations, then up the age groups
        moving = state * move[None, None, :, None]
        state -= moving
        state[:, :, 1:, :] += moving[:, :, :-1, :]
        ageing = state[:, :-1] * age_up
        state[:, :-1] -= ageing
        state[:, 1:] += ageing
        state[:, :, 0, :] += join_ages[None, :, None] * joins[:, None, :]

    bands = np.array([10, 50, 90])
    share_bands = np.percentile(shares, bands, axis=0)
    member_bands = np.percentile(counts_n, bands, axis=0)
    aid_bands = np.percentile(aids, bands, axis=0)
    spiral = spiral_runs(shares, counts_n, b.spiral_periods)
    expected_aid = float(aids[:, : b.runoff_periods].mean(axis=0).sum())
    runoff = (float(inputs.pending) + expected_aid) * inputs.fee_multiplier
    warnings = _warnings(inputs, b, share_bands[1], member_bands[1], float(spiral.mean()), runoff)
    return Forecast(
        periods=periods,
        paths=paths,
        seed=seed,
        share=share_bands,
        members=member_bands,
        aid=aid_bands,
        spiral_probability=float(spiral.mean()),
        runoff_cost=runoff,
        reserve=float(inputs.reserve),
        warnings=tuple(warnings),
    )


def _warnings(
    inputs: ForecastInputs, b: Behaviour, share: Any, members: Any, probability: float, runoff: float
) -> list[str]:
    import numpy as np

    found = []
    history = inputs.history
    if len(history) > b.spiral_periods:
        past_share = np.array([s for _, s, _ in history])
        past_members = np.array([m for _, _, m in history])
        if spiral_runs(
            past_share[-(b.spiral_periods + 1) :], past_members[-(b.spiral_periods + 1) :], b.spiral_periods
        ):
            found.append(
                f"spiral under way: in the last {b.spiral_periods} periods shared (to {history[-1][0]}) the share "
                "per member rose every period while the members fell"
            )
    ahead = spiral_runs(share[None, :], members[None, :], b.spiral_periods)
    if bool(ahead[0]):
        step = (np.diff(share) > 0) & (np.diff(members) < 0)
        run, first = 0, None
        for t, rising in enumerate(step):
            run = run + 1 if rising else 0
            if run >= b.spiral_periods:
                first = t + 2 - b.spiral_periods
                break
        found.append(
            f"spiral ahead: on the median path the share rises while the members fall for {b.spiral_periods} "
            f"periods running from period {first} of the forecast ({probability:.0%} of paths show such a run)"
        )
    if float(inputs.reserve) < runoff:
        found.append(
            f"reserve below the run-off cost: the pool holds {float(inputs.reserve):,.2f} but closing now would owe "
            f"about {runoff:,.2f} (benefits approved and not yet shared, and {b.runoff_periods} periods of events "
            "not yet claimed, fee included)"
        )
    return found
