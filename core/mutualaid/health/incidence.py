"""Incidence: how often each kind of event happens to a member, by age, before any claim is seen.

A cohort plugin supplies its prior rates through the ``register_incidence`` hook, as an
:class:`IncidenceTable`: for each event kind, age bands with an **annual probability per member**
(``rate = "0.00796"``: 796 members in 100,000 of that age have the event in a year), the benefit
model that says what such an event pays at each age (one of :mod:`mutualaid.benefits`), and where
the figures come from. The core blends the priors with the pool's own claims
(:mod:`~mutualaid.health.credibility`) and prices a year of cover from them
(:mod:`~mutualaid.health.quote`).

Rates are exact :class:`~decimal.Decimal` values, as written in a plugin or a pool file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ..benefits import BenefitInputs
from ..money import to_decimal

__all__ = ["EventIncidence", "IncidenceBand", "IncidenceTable", "expected_benefit", "table_problems"]

#: The oldest age a band may reach when it gives no ``max_age``.
OLDEST = 120


@dataclass(frozen=True, slots=True)
class IncidenceBand:
    """One age band of an event's incidence: ages ``min_age`` to ``max_age`` (both included;
    ``None``: no upper limit) and the annual probability per member, from 0 to 1."""

    min_age: int
    max_age: int | None
    rate: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", to_decimal(self.rate))
        if self.min_age < 0 or (self.max_age is not None and self.max_age < self.min_age):
            raise ValueError(f"an incidence band runs from an age to a later one, not {self.min_age}-{self.max_age}")
        if not Decimal(0) <= self.rate <= Decimal(1):
            raise ValueError(f"an incidence rate is an annual probability from 0 to 1, not {self.rate}")

    def covers(self, age: int) -> bool:
        return self.min_age <= age and (self.max_age is None or age <= self.max_age)

    @property
    def ages(self) -> str:
        return f"{self.min_age}+" if self.max_age is None else f"{self.min_age}-{self.max_age}"


@dataclass(frozen=True, slots=True)
class EventIncidence:
    """The prior incidence of one kind of event, and what the event pays.

    :param event_kind: the key of one of the cohort's event kinds.
    :param bands: age bands youngest first, each starting the year after the one before ends.
    :param benefit: the benefit model paying the event (anything with ``evaluate(BenefitInputs)``,
        such as a :class:`~mutualaid.FixedBenefit` or the pool's own ``settings.benefit``).
    :param benefit_share: the share of that benefit an event pays on average (a disability paid by
        grade pays, on average, less than grade 1); 1 for a lump sum.
    :param costs: the typical self-paid costs of one event, for a benefit that reimburses costs.
    :param source: where the rates come from, in words (shown with every quote).
    :param covered_in_waiting: whether the event is covered in the waiting period (an accident);
        the forecast counts no such events of members still waiting otherwise.
    """

    event_kind: str
    bands: tuple[IncidenceBand, ...]
    benefit: Any
    benefit_share: Decimal = Decimal(1)
    costs: Decimal | None = None
    source: str = ""
    covered_in_waiting: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "bands", tuple(self.bands))
        object.__setattr__(self, "benefit_share", to_decimal(self.benefit_share))
        if self.costs is not None:
            object.__setattr__(self, "costs", to_decimal(self.costs))
        problems = _band_problems(self.bands)
        if not Decimal(0) < self.benefit_share <= Decimal(1):
            problems.append(f"benefit_share must be above 0 and at most 1, not {self.benefit_share}")
        if not callable(getattr(self.benefit, "evaluate", None)):
            problems.append(f"benefit must be a benefit model with an evaluate() method, not {self.benefit!r}")
        if problems:
            raise ValueError(f"incidence of {self.event_kind!r}: " + "; ".join(problems))

    def rate_at(self, age: int) -> Decimal:
        """The annual probability at ``age`` (0 outside every band)."""
        for band in self.bands:
            if band.covers(age):
                return band.rate
        return Decimal(0)

    def band_at(self, age: int) -> IncidenceBand | None:
        for band in self.bands:
            if band.covers(age):
                return band
        return None


def _band_problems(bands: Sequence[IncidenceBand]) -> list[str]:
    if not bands:
        return ["at least one age band is required"]
    problems = []
    for number, (before, after) in enumerate(zip(bands, bands[1:], strict=False), start=2):
        if before.max_age is None:
            problems.append(f"band {number - 1} has no max_age, so no band can follow it")
        elif after.min_age != before.max_age + 1:
            problems.append(
                f"band {number} starts at age {after.min_age} but band {number - 1} ends at {before.max_age}; "
                f"bands follow each other without a gap or an overlap (band {number} should start at "
                f"{before.max_age + 1})"
            )
    return problems


@dataclass(frozen=True, slots=True)
class IncidenceTable:
    """A cohort's prior incidence: one :class:`EventIncidence` per event kind it prices."""

    events: tuple[EventIncidence, ...]
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "events", tuple(self.events))
        object.__setattr__(self, "notes", tuple(self.notes))
        keys = [e.event_kind for e in self.events]
        if not keys:
            raise ValueError("an incidence table needs at least one event kind")
        if len(set(keys)) != len(keys):
            raise ValueError(f"an incidence table gives each event kind once (given: {', '.join(keys)})")

    def event(self, kind: str) -> EventIncidence | None:
        for event in self.events:
            if event.event_kind == kind:
                return event
        return None

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(e.event_kind for e in self.events)


def table_problems(table: object, event_kinds: Iterable[str]) -> list[str]:
    """What is wrong with what a plugin supplied for a cohort with ``event_kinds``: not a table,
    or an event kind the cohort does not have."""
    if not isinstance(table, IncidenceTable):
        return [f"supplied {table!r}, which is not a mutualaid IncidenceTable"]
    known = set(event_kinds)
    return [
        f"gives the incidence of {e.event_kind!r}, which is not one of the cohort's event kinds "
        f"({', '.join(sorted(known))})"
        for e in table.events
        if e.event_kind not in known
    ]


#: The day benefits are evaluated on: any day works, a benefit by age reads only the age.
_ON = date(2000, 1, 1)


def expected_benefit(event: EventIncidence, age: int, currency: str) -> Decimal:
    """What one event of ``event``'s kind pays on average at ``age``: its benefit model's amount
    for a member of long standing (a tenure ramp at its last step), with the event's typical
    costs, times its ``benefit_share``."""
    long_ago = date(_ON.year - 50, 1, 1)
    inputs = BenefitInputs(
        currency=currency, event_date=_ON, age=age, costs=event.costs, joined_on=long_ago, waiting_until=long_ago
    )
    amount: Decimal = event.benefit.evaluate(inputs).amount
    return amount * event.benefit_share
