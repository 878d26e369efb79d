"""The forecast on the record: Xianghubao (相互宝) from April 2019, against what happened by 2021.

The forecast is started from Xianghubao's figures of early 2019 and run, with the default
behaviour (:class:`~mutualaid.health.forecast.Behaviour`, the same every pool's forecast uses),
to the end of 2021; the record says the share per member rose to about 7 CNY a period while the
members fell from about 101 million to about 75 million during 2021 (the project's domain notes).

The inputs, each with its source (docs/honest-cost.md has the full account):

* **members**: 50 million in April 2019, "in less than six months since its launch in October
  2018" (KrASIA, 2019); 100 million by 22 November 2019 (Ant Financial's press release, Business
  Wire, 26 November 2019), so about 3.5 million joining each half-month period in 2019;
* **age mix**: not published in a source we could read; taken as Alipay's young users: 10% under
  18, 30% 18-29, 30% 30-39, 20% 40-49, 10% 50-59 (an assumption);
* **how long they had been members**: joined evenly from October 2018, so in April 2019 about 40%
  were still in the 90-day waiting period;
* **benefits**: 300,000 CNY under 40, 100,000 from 40 to 59; fee 8%; two periods a month;
* **incidence**: the CI1 (2006-2010) table by age (the critical-illness society's default),
  scaled so that the first period costs what Xianghubao's did then;
* **per-period cost in early 2019**: 0.70 CNY a member, derived from the published record (about
  10,000 people aided by 22 November 2019; 186,000 people and 27 billion CNY by January 2022, so
  about 145,000 CNY a case): a few hundred cases a period among 50 million members.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .forecast import DURATIONS, GROUP_YEARS, Behaviour, Forecast, ForecastInputs, run_forecast
from .incidence import IncidenceTable

__all__ = ["XIANGHUBAO_2019", "Backtest", "XianghubaoStart", "backtest", "xianghubao_inputs"]

#: Periods from the first half of April 2019 to the second half of December 2021.
PERIODS = 66
#: Index of the first period of 2021 (January, first half).
FIRST_OF_2021 = 42


@dataclass(frozen=True, slots=True)
class XianghubaoStart:
    """Xianghubao as it stood in April 2019 (see the module's sources)."""

    members: float = 50e6
    joins_per_period: float = 3.5e6
    share: float = 0.70
    age_mix: tuple[tuple[int, int, float], ...] = (
        (0, 17, 0.10),
        (18, 29, 0.30),
        (30, 39, 0.30),
        (40, 49, 0.20),
        (50, 59, 0.10),
    )
    waiting_share: float = 0.4
    fee_rate: float = 0.08
    periods_per_year: int = 24


XIANGHUBAO_2019 = XianghubaoStart()


def _benefit(age: int) -> float:
    return 300_000.0 if age < 40 else 100_000.0 if age < 60 else 0.0


def xianghubao_inputs(
    table: IncidenceTable, start: XianghubaoStart = XIANGHUBAO_2019, behaviour: Behaviour | None = None
) -> ForecastInputs:
    """The forecast's inputs for Xianghubao in April 2019, from ``table`` (the CI1 table by age)."""
    import numpy as np

    groups = 20
    event = table.events[0]
    ages = np.zeros(groups)
    for low, high, share in start.age_mix:
        for age in range(low, high + 1):
            ages[age // GROUP_YEARS] += share / (high - low + 1)
    rates = np.array([[float(sum(event.rate_at(a) for a in range(g * 5, g * 5 + 5))) / 5] for g in range(groups)])
    benefits = np.array([[sum(_benefit(a) for a in range(g * 5, g * 5 + 5)) / 5] for g in range(groups)])
    members = np.zeros((groups, DURATIONS))
    members[:, 0] = ages * start.members * start.waiting_share
    members[:, 1] = ages * start.members * (1 - start.waiting_share)
    behaviour = behaviour or Behaviour()
    # the first period's expected cost per member on the table as published, to scale it to the record
    mult = np.array(behaviour.multipliers)
    mix = np.array([behaviour.healthy_share, 1 - behaviour.healthy_share])
    selection = np.array([0.0, *behaviour.selection])
    lam = (members * selection[None, :]).sum(axis=1) * float((mix * mult).sum()) * rates[:, 0] / start.periods_per_year
    modelled = float((lam * benefits[:, 0]).sum()) * (1 + start.fee_rate) / start.members
    scale = start.share / modelled
    return ForecastInputs(
        periods_per_year=start.periods_per_year,
        members=members,
        rates=rates * scale,
        benefits=benefits,
        covered_waiting=[False],
        joins=start.joins_per_period,
        join_ages=ages,
        waiting_years=90 / 365.25,
        fee_multiplier=1 + start.fee_rate,
        reserve=Decimal(0),
        start_share=start.share,
    )


@dataclass(frozen=True)
class Backtest:
    """The forecast from April 2019 and the figures of 2021 it gives (medians)."""

    forecast: Forecast
    start_share: float
    share_start_2021: float
    share_end_2021: float
    members_start_2021: float
    members_end_2021: float
    peak_members: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "start_share": round(self.start_share, 2),
            "share_start_2021": round(self.share_start_2021, 2),
            "share_end_2021": round(self.share_end_2021, 2),
            "members_start_2021": round(self.members_start_2021),
            "members_end_2021": round(self.members_end_2021),
            "peak_members": round(self.peak_members),
        }


def backtest(table: IncidenceTable, *, paths: int = 1_000, seed: int = 2019) -> Backtest:
    """Run the forecast from Xianghubao's April 2019 to December 2021."""
    forecast = run_forecast(xianghubao_inputs(table), PERIODS, paths, seed)
    share, members = forecast.share[1], forecast.members[1]
    late = slice(PERIODS - 6, PERIODS)  # the last quarter of 2021, as the record's "late 2021"
    return Backtest(
        forecast=forecast,
        start_share=float(share[:2].mean()),
        share_start_2021=float(share[FIRST_OF_2021 : FIRST_OF_2021 + 6].mean()),
        share_end_2021=float(share[late].mean()),
        members_start_2021=float(members[FIRST_OF_2021]),
        members_end_2021=float(members[-1]),
        peak_members=float(members.max()),
    )
