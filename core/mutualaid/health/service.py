"""A pool's incidence, quotes and forecast, put together from its plugins, its history (the
database) and the pure calculations. Services take a session and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Member
from ..money import from_minor
from ..plugins import Plugins
from ..pools import PoolRecord
from ..vocabulary import Weighting
from . import history
from .credibility import DEFAULT_CV, BandCredibility, blend
from .forecast import DURATIONS, GROUP_YEARS, Behaviour, Forecast, ForecastInputs, run_forecast
from .incidence import IncidenceTable, expected_benefit
from .priors import prior_table
from .quote import FeeTerms, Quote, quote, yearly_cost_table

__all__ = [
    "AGE_GROUPS",
    "PoolIncidence",
    "cost_by_age",
    "forecast_inputs",
    "pool_forecast",
    "pool_incidence",
    "pool_quote",
]

#: Age groups of the forecast: 0-4, 5-9, ... 95 and over.
AGE_GROUPS = 20


@dataclass(frozen=True, slots=True)
class PoolIncidence:
    """A pool's prior incidence, the same blended with its claims, and how each band was blended."""

    prior: IncidenceTable
    blended: IncidenceTable
    bands: tuple[BandCredibility, ...]
    cv: Decimal


def pool_incidence(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    today: date,
    cv: Decimal = DEFAULT_CV,
    groups: history.MemberGroups | None = None,
) -> PoolIncidence:
    """The pool's incidence: its cohort's priors blended with its own claims up to ``today``
    (``groups``: the pool's :func:`~.history.member_groups`, when already read)."""
    prior = prior_table(plugins, pool.definition)
    seen = history.experience(session, pool.id, prior, today, groups)
    blended, bands = blend(prior, seen, cv)
    return PoolIncidence(prior, blended, tuple(bands), cv)


def _weights(pool: PoolRecord) -> Any:
    if pool.config.sharing.weights != Weighting.COHORT:
        return None
    weights = pool.cohort.rules.sharing_weights(pool.settings)
    return None if weights is None else weights.weight_at


def pool_quote(
    session: Session, plugins: Plugins, pool: PoolRecord, birth_date: date, today: date, *, seed: int = 2019
) -> tuple[Quote, PoolIncidence]:
    """An applicant born on ``birth_date``: their expected yearly cost in this pool, as of ``today``."""
    from ..cohort import age_on

    groups = history.member_groups(session, pool.id, today)
    incidence = pool_incidence(session, plugins, pool, today, groups=groups)
    ages = history.ages_of(groups.live(), today)
    size = sum(ages.values()) + 1
    result = quote(
        incidence.blended,
        age_on(birth_date, today),
        pool.currency,
        FeeTerms.of(pool.config),
        size,
        ages=ages,
        weight_at=_weights(pool),
        seed=seed,
    )
    return result, incidence


def cost_by_age(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    today: date,
    ages: range = range(0, 101),
    *,
    incidence: PoolIncidence | None = None,
    size: int | None = None,
) -> list[Quote]:
    """A quote for every age of ``ages`` in this pool, on the same draws (a calculator's table);
    ``incidence`` and ``size`` (live members) when already known."""
    incidence = incidence or pool_incidence(session, plugins, pool, today)
    if size is None:
        size = sum(history.live_ages(session, pool.id, today).values())
    return yearly_cost_table(incidence.blended, ages, pool.currency, FeeTerms.of(pool.config), size + 1)


def _waiting_years(session: Session, pool_id: int) -> float:
    row = session.execute(
        select(Member.joined_on, Member.waiting_until)
        .where(Member.pool_id == pool_id)
        .order_by(Member.id.desc())
        .limit(1)
    ).first()
    return 0.25 if row is None else max((row.waiting_until - row.joined_on).days, 0) / 365.25


def forecast_inputs(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    today: date,
    *,
    incidence: PoolIncidence | None = None,
    groups: history.LiveGroups | None = None,
) -> ForecastInputs:
    """Where the pool stands today, as the forecast starts from it; ``incidence`` and the live
    member ``groups`` (:meth:`~.history.MemberGroups.live`) when already read."""
    import numpy as np

    terms = FeeTerms.of(pool.config)
    if incidence is None or groups is None:
        scanned = history.member_groups(session, pool.id, today)
        incidence = incidence or pool_incidence(session, plugins, pool, today, groups=scanned)
        groups = scanned.live() if groups is None else groups
    table = incidence.blended
    waiting = _waiting_years(session, pool.id)
    members = np.array(history.durations_of(groups, today, GROUP_YEARS, AGE_GROUPS, waiting)).reshape(
        AGE_GROUPS, DURATIONS
    )
    rates = np.zeros((AGE_GROUPS, len(table.events)))
    benefits = np.zeros((AGE_GROUPS, len(table.events)))
    for k, event in enumerate(table.events):
        for g in range(AGE_GROUPS):
            ages = range(g * GROUP_YEARS, (g + 1) * GROUP_YEARS)
            rates[g, k] = float(sum(event.rate_at(a) for a in ages)) / len(ages)
            benefits[g, k] = float(sum(expected_benefit(event, a, pool.currency) for a in ages)) / len(ages)
    joined, join_ages = history.recent_joins(session, pool.id, today - timedelta(days=365), today)
    spread = np.zeros(AGE_GROUPS)
    for age, count in join_ages.items():
        spread[min(age // GROUP_YEARS, AGE_GROUPS - 1)] += count
    if not spread.sum():
        spread = members.sum(axis=1)
    periods = history.shared_periods(session, pool.id)
    reserve = from_minor(periods[-1].surplus_out_minor, pool.currency) if periods else Decimal(0)
    return ForecastInputs(
        periods_per_year=terms.periods_per_year,
        members=members,
        rates=rates,
        benefits=benefits,
        covered_waiting=[e.covered_in_waiting for e in table.events],
        joins=joined / terms.periods_per_year,
        join_ages=spread,
        waiting_years=waiting,
        fee_multiplier=float(terms.multiplier),
        flat_fee=float(terms.per_member) if terms.policy == "flat" else 0.0,
        per_period_cap=None if terms.per_period is None else float(terms.per_period),
        per_case_cap=None if terms.per_case is None else float(terms.per_case),
        reserve=reserve,
        pending=from_minor(history.pending_aid(session, pool.id), pool.currency),
        history=tuple((p.period, float(from_minor(p.share_minor, pool.currency)), p.members) for p in periods),
    )


def pool_forecast(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    today: date,
    *,
    periods: int = 36,
    paths: int = 10_000,
    seed: int = 0,
    behaviour: Behaviour | None = None,
    incidence: PoolIncidence | None = None,
    groups: history.LiveGroups | None = None,
) -> Forecast:
    """The pool's forecast from today."""
    inputs = forecast_inputs(session, plugins, pool, today, incidence=incidence, groups=groups)
    return run_forecast(inputs, periods, paths, seed, behaviour)
