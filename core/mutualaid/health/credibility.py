"""Credibility: the cohort's prior incidence blended with the pool's own claim history.

For each event kind and age band, with ``n`` member-years of exposure in the pool, ``c`` claims
approved for events in that band, and the prior annual rate ``p``::

    observed = c / n
    k        = 1 / (cv² · p)             member-years: how much experience weighs as much as the prior
    Z        = n / (n + k)               the credibility of the pool's own experience, 0 to 1
    blended  = Z · observed + (1 − Z) · p   = (c + 1/cv²) / (n + k)

This is Bühlmann's credibility for a Poisson count whose true rate is uncertain around the prior
with a coefficient of variation ``cv`` (the exact Bayesian answer for a gamma prior): with the
default ``cv = 0.5`` (the prior may be off by half either way), a band's experience counts for
half once it has ``1 / cv² = 4`` claims expected under the prior; a young pool leans on the
published rates, a large old one on what actually happened in it.

A band whose prior is 0 has no ``k``: its blended rate is the observed one when it has exposure.
The arithmetic is exact (fractions); rates are given as :class:`~decimal.Decimal` rounded to 12
decimal places.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

from .incidence import EventIncidence, IncidenceBand, IncidenceTable

__all__ = ["DEFAULT_CV", "BandCredibility", "Experience", "blend", "blend_rate"]

#: The prior's coefficient of variation: how far the published rates may be from the pool's own.
DEFAULT_CV = Decimal("0.5")

_PLACES = Decimal("1e-12")


@dataclass(frozen=True, slots=True)
class Experience:
    """A pool's own experience in one age band of one event kind."""

    exposure: Decimal  # member-years
    claims: int


@dataclass(frozen=True, slots=True)
class BandCredibility:
    """How one band's rate was blended."""

    event_kind: str
    ages: str
    prior: Decimal
    exposure: Decimal
    claims: int
    observed: Decimal | None
    k: Decimal | None
    z: Decimal
    blended: Decimal


def _decimal(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(_PLACES)


def blend_rate(
    prior: Decimal, exposure: Decimal, claims: int, cv: Decimal = DEFAULT_CV
) -> tuple[Decimal, Decimal, Decimal | None]:
    """``(blended, Z, k)`` for one band (see the module's formulas); exact, rounded to 12 places."""
    if exposure < 0 or claims < 0:
        raise ValueError("exposure and claims cannot be negative")
    if cv <= 0:
        raise ValueError("the prior's coefficient of variation must be above 0")
    p, n, c = Fraction(prior), Fraction(exposure), Fraction(claims)
    if p == 0:
        if n == 0:
            return Decimal(0), Decimal(0), None
        return _decimal(c / n), Decimal(1), None
    k = 1 / (Fraction(cv) ** 2 * p)
    z = n / (n + k)
    observed = c / n if n else Fraction(0)
    blended = z * observed + (1 - z) * p
    return _decimal(blended), _decimal(z), _decimal(k)


def blend(
    table: IncidenceTable,
    experience: Mapping[tuple[str, str], Experience],
    cv: Decimal = DEFAULT_CV,
) -> tuple[IncidenceTable, list[BandCredibility]]:
    """The table with every band's rate blended with ``experience`` (by ``(event kind, band.ages)``;
    a band without experience keeps its prior), and how each band was blended."""
    details: list[BandCredibility] = []
    events: list[EventIncidence] = []
    for event in table.events:
        bands: list[IncidenceBand] = []
        for band in event.bands:
            seen = experience.get((event.event_kind, band.ages), Experience(Decimal(0), 0))
            blended, z, k = blend_rate(band.rate, seen.exposure, seen.claims, cv)
            observed = _decimal(Fraction(seen.claims) / Fraction(seen.exposure)) if seen.exposure else None
            details.append(
                BandCredibility(
                    event.event_kind, band.ages, band.rate, seen.exposure, seen.claims, observed, k, z, blended
                )
            )
            bands.append(IncidenceBand(band.min_age, band.max_age, blended))
        events.append(replace(event, bands=tuple(bands)))
    return replace(table, events=tuple(events)), details
