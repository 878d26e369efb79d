"""An applicant's expected yearly cost before joining, with a range: what "join for 0 CNY" hid.

For an applicant aged ``a``, each event kind ``k`` of the (blended) incidence gives an annual
probability ``q_k(a)`` and an average benefit ``B_k(a)`` (the cohort's benefit model at that age).
The **expected yearly cost** of the applicant's cover is what funding their own risk costs::

    expected = Σ_k q_k(a) · B_k(a) · (1 + fee rate)  +  flat fee · periods a year

(no fee term with ``management_fee = "none"``). It is the honest price of the cover at that age:
Xianghubao's 300,000 at 30 costs about 250 CNY a year, at 51 (had it still paid 300,000) about
2,600 -- see docs/honest-cost.md for the inputs.

**The range** is the 10th and 90th percentile of what a member pays in a year in a pool of the
pool's size ``N`` whose members carry that risk: each period the cases of each kind are a Poisson
count (mean ``N · q_k(a) / periods``), each costs every member ``B_k(a) · (1 + fee rate) / N``,
and the pool's caps apply (per case, per period, per year). A small pool's range is wide (most
years nothing, a bad year a great deal), a large pool's narrow. With caps the expected cost is the
simulation's mean (the caps cut the expensive years), otherwise the exact formula above.

The simulation is seeded and uses common random numbers: the same uniform draws at every age, the
counts taken by the Poisson inverse distribution function, so a higher risk never gives a lower
figure by chance. Figures are estimates computed in floating point and rounded half up to the
minor unit; no charge is ever derived from them.

``pool_average`` is what this pool's members cost on average now (its live members' ages, the
applicant included): with equal shares that -- not the applicant's own risk -- is what they would
pay, and the difference shows who subsidises whom.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..money import round_half_up
from .incidence import IncidenceTable, expected_benefit

__all__ = ["QUOTE_SIMULATIONS", "EventCost", "FeeTerms", "Quote", "quote", "yearly_cost_table"]

#: Years simulated for a quote's range.
QUOTE_SIMULATIONS = 20_000


@dataclass(frozen=True, slots=True)
class FeeTerms:
    """The pool's fee and caps, as the quote applies them."""

    policy: str = "rate"  # "rate", "flat" or "none"
    rate: Decimal = Decimal(0)
    per_member: Decimal = Decimal(0)
    periods_per_year: int = 12
    per_case: Decimal | None = None
    per_period: Decimal | None = None
    per_year: Decimal | None = None

    @property
    def multiplier(self) -> Decimal:
        return 1 + self.rate if self.policy == "rate" else Decimal(1)

    @property
    def flat_yearly(self) -> Decimal:
        return self.per_member * self.periods_per_year if self.policy == "flat" else Decimal(0)

    @property
    def capped(self) -> bool:
        return any(v is not None for v in (self.per_case, self.per_period, self.per_year))

    @classmethod
    def of(cls, config: Any) -> FeeTerms:
        """The terms of a :class:`~mutualaid.PoolConfig`."""
        sharing = config.sharing
        caps = sharing.caps
        return cls(
            policy=str(sharing.management_fee.value),
            rate=sharing.management_fee_rate,
            per_member=sharing.management_fee_per_member,
            periods_per_year=12 * len(sharing.notice_days or (7,)),
            per_case=caps.per_case,
            per_period=caps.per_period,
            per_year=caps.per_year,
        )


@dataclass(frozen=True, slots=True)
class EventCost:
    """One event kind's part of a quote."""

    event_kind: str
    rate: Decimal
    benefit: Decimal
    yearly: Decimal  # rate × benefit × (1 + fee rate), rounded to the minor unit


@dataclass(frozen=True, slots=True)
class Quote:
    """An applicant's expected yearly cost and its 10th-90th percentile range."""

    age: int
    currency: str
    expected: Decimal
    low: Decimal
    high: Decimal
    pool_size: int
    events: tuple[EventCost, ...]
    fee_yearly: Decimal
    pool_average: Decimal | None
    simulations: int
    seed: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "age": self.age,
            "currency": self.currency,
            "expected": str(self.expected),
            "p10": str(self.low),
            "p90": str(self.high),
            "pool_size": self.pool_size,
            "events": [
                {"event_kind": e.event_kind, "rate": str(e.rate), "benefit": str(e.benefit), "yearly": str(e.yearly)}
                for e in self.events
            ],
            "flat_fee_yearly": str(self.fee_yearly),
            "pool_average": None if self.pool_average is None else str(self.pool_average),
            "simulations": self.simulations,
            "seed": self.seed,
        }


def _money(value: float | Decimal, currency: str) -> Decimal:
    return round_half_up(value if isinstance(value, Decimal) else Decimal(repr(float(value))), currency)


def _poisson_counts(uniforms: Any, mean: float) -> Any:
    """Poisson counts of ``mean`` by the inverse distribution function of ``uniforms`` (monotone in
    ``mean`` for the same draws), over the support that holds all but a negligible tail."""
    import numpy as np

    if mean <= 0:
        return np.zeros(uniforms.shape, dtype=np.int64)
    spread = 12.0 * mean**0.5 + 30.0
    low = max(0, int(mean - spread))
    ks = np.arange(low, int(mean + spread) + 1, dtype=np.float64)
    log_factorial = np.cumsum(np.log(np.maximum(np.arange(0, int(mean + spread) + 1, dtype=np.float64), 1.0)))
    log_pmf = -mean + ks * np.log(mean) - log_factorial[low:]
    cdf = np.cumsum(np.exp(log_pmf))
    counts = np.searchsorted(cdf, uniforms, side="right") + low
    return np.minimum(counts, int(ks[-1]))


def _uniforms(seed: int, simulations: int, periods: int, kinds: int) -> Any:
    import numpy as np

    return np.random.default_rng(seed).random((simulations, periods, kinds))


def quote(
    table: IncidenceTable,
    age: int,
    currency: str,
    terms: FeeTerms,
    pool_size: int,
    *,
    ages: Mapping[int, int] | None = None,
    weight_at: Callable[[int], int] | None = None,
    simulations: int = QUOTE_SIMULATIONS,
    seed: int = 2019,
    uniforms: Any = None,
) -> Quote:
    """The quote for an applicant aged ``age`` in a pool of ``pool_size`` members sharing.

    :param ages: the pool's live members by age (for ``pool_average``); the applicant is added.
    :param weight_at: the pool's sharing weight by age, when its shares are weighted.
    :param uniforms: the draws to use (shape ``(simulations, periods a year, event kinds)``), so
        that many ages are quoted on the same draws; default: drawn from ``seed``.
    """
    import numpy as np

    if age < 0:
        raise ValueError(f"an age cannot be negative ({age} given)")
    size = max(int(pool_size), 1)
    periods = terms.periods_per_year
    multiplier = terms.multiplier
    events = []
    for event in table.events:
        rate = event.rate_at(age)
        benefit = expected_benefit(event, age, currency)
        events.append(
            EventCost(event.event_kind, rate, _money(benefit, currency), _money(rate * benefit * multiplier, currency))
        )
    exact = sum((e.rate * e.benefit * multiplier for e in events), Decimal(0)) + terms.flat_yearly

    if uniforms is None:
        uniforms = _uniforms(seed, simulations, periods, len(events))
    per_period = np.zeros(uniforms.shape[:2])
    cases = np.zeros(uniforms.shape[:2], dtype=np.int64)
    for index, e in enumerate(events):
        each = float(e.benefit * multiplier) / size
        if terms.per_case is not None:
            each = min(each, float(terms.per_case))
        counts = _poisson_counts(uniforms[:, :, index], float(e.rate) * size / periods)
        per_period += counts * each
        cases += counts
    per_period += float(terms.per_member) if terms.policy == "flat" else 0.0
    if terms.per_period is not None:
        per_period = np.minimum(per_period, float(terms.per_period))
    if terms.per_case is not None:
        # the cap per case bounds the whole share of a period with cases, as a sharing run does
        per_period = np.where(cases > 0, np.minimum(per_period, float(terms.per_case) * cases), per_period)
    yearly = per_period.sum(axis=1)
    if terms.per_year is not None:
        yearly = np.minimum(yearly, float(terms.per_year))
    low, high = np.percentile(yearly, [10, 90])
    expected = _money(float(yearly.mean()), currency) if terms.capped else _money(exact, currency)

    average = None
    if ages is not None:
        average = _pool_average(table, dict(ages), age, currency, terms, weight_at)
    return Quote(
        age=age,
        currency=currency,
        expected=expected,
        low=_money(float(low), currency),
        high=_money(float(high), currency),
        pool_size=size,
        events=tuple(events),
        fee_yearly=terms.flat_yearly,
        pool_average=average,
        simulations=int(uniforms.shape[0]),
        seed=seed,
    )


def _pool_average(
    table: IncidenceTable,
    ages: dict[int, int],
    age: int,
    currency: str,
    terms: FeeTerms,
    weight_at: Callable[[int], int] | None,
) -> Decimal:
    """The pool's expected yearly cost per member (per unit of weight, times the applicant's)."""
    ages[age] = ages.get(age, 0) + 1
    total = Decimal(0)
    for member_age, count in ages.items():
        for event in table.events:
            total += count * event.rate_at(member_age) * expected_benefit(event, member_age, currency)
    total *= terms.multiplier
    if weight_at is None:
        per_member = total / sum(ages.values())
    else:
        weights = sum(count * weight_at(a) for a, count in ages.items())
        per_member = total * weight_at(age) / weights
    result = per_member + terms.flat_yearly
    if terms.per_year is not None:
        result = min(result, terms.per_year)
    return _money(result, currency)


def yearly_cost_table(
    table: IncidenceTable,
    ages: range,
    currency: str,
    terms: FeeTerms,
    pool_size: int,
    *,
    simulations: int = 2_000,
    seed: int = 2019,
) -> list[Quote]:
    """A quote for each age of ``ages`` on the same draws (the site's calculator, the welcome notice)."""
    uniforms = _uniforms(seed, simulations, terms.periods_per_year, len(table.events))
    return [quote(table, a, currency, terms, pool_size, uniforms=uniforms, seed=seed) for a in ages]
