"""Prior incidence of the truckers cohort's events, by age: the defaults its pools are quoted on.

Kayou Didai published no claim statistics, so these are documented estimates, not a measured
table (the README gives the reasoning); the core blends them with each pool's own claims, so a
pool's quotes move to its own experience as it grows.

* **Accidental death**: 50 per 100,000 drivers a year at every age. US truck drivers' fatal work
  injuries were 26.8 per 100,000 full-time workers in 2019 (US Bureau of Labor Statistics, Census
  of Fatal Occupational Injuries); WHO's Global status report on road safety 2018 estimates China's
  road traffic death rate at 18.2 per 100,000 people against 12.4 in the United States, which puts
  a Chinese driver's at about 39 at work; accidents off work round it up to 50.
* **Accidental disability**: twice the rate of accidental death (China's road accidents injure
  about four people for each one they kill, National Bureau of Statistics, and we count half of
  the injured as disabled on the 10-grade table), paying on average 30% of the disability benefit
  (most disabilities are of the lighter grades, 7 to 10, which pay 10% to 40%). An assumption.
* **Death from illness**: about 1 per 1,000 men a year at 30, rising with age as mortality does
  (roughly doubling every eight years); an assumption of the order of Chinese men's mortality
  from illness, to be replaced by the pool's own figures.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mutualaid import EventIncidence, FixedBenefit, IncidenceBand, IncidenceTable

from .catalog import ACCIDENTAL_DEATH, ACCIDENTAL_DISABILITY, ILLNESS_DEATH

__all__ = ["ACCIDENT_SOURCE", "ILLNESS_SOURCE", "incidence_table"]

ACCIDENT_SOURCE = (
    "estimate: US BLS Census of Fatal Occupational Injuries 2019 (truck drivers, 26.8 per 100,000) scaled by "
    "WHO Global status report on road safety 2018 (China 18.2 vs US 12.4 road deaths per 100,000), off-work "
    "accidents added"
)
DISABILITY_SOURCE = "assumption: twice the accidental death rate, 30% of the benefit on average"
ILLNESS_SOURCE = "assumption: of the order of Chinese men's mortality from illness by age"

_ILLNESS: tuple[tuple[int, int | None, str], ...] = (
    (0, 29, "0.0006"),
    (30, 39, "0.0010"),
    (40, 49, "0.0024"),
    (50, 59, "0.0058"),
    (60, None, "0.0130"),
)


def incidence_table(settings: Any) -> IncidenceTable:
    """The default priors of a truckers pool with ``settings`` (its benefits, its priors)."""
    death = FixedBenefit(amount=settings.accidental_death_benefit)
    disability = FixedBenefit(amount=settings.disability_base_benefit)
    illness = FixedBenefit(amount=settings.illness_death_benefit)
    every_age = (IncidenceBand(0, None, Decimal("0.0005")),)
    return IncidenceTable(
        (
            EventIncidence(ACCIDENTAL_DEATH, every_age, death, source=ACCIDENT_SOURCE, covered_in_waiting=True),
            EventIncidence(
                ACCIDENTAL_DISABILITY,
                (IncidenceBand(0, None, Decimal("0.0010")),),
                disability,
                benefit_share=Decimal("0.3"),
                source=DISABILITY_SOURCE,
                covered_in_waiting=True,
            ),
            EventIncidence(
                ILLNESS_DEATH,
                tuple(IncidenceBand(a, b, Decimal(r)) for a, b, r in _ILLNESS),
                illness,
                source=ILLNESS_SOURCE,
            ),
        ),
        source=f"{ACCIDENT_SOURCE}; {DISABILITY_SOURCE}; {ILLNESS_SOURCE}",
    )
