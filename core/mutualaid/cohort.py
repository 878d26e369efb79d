"""Cohorts: what a plugin registers, and the facts and decisions its rules exchange with the core.

A :class:`Cohort` describes the kind of people a pool is for. Its :class:`CohortRules` object makes
every decision that is special to them -- who may join, how long illness is not covered after
joining, what a claim is worth -- and the core does the rest (members, claims, sharing, notices).
Nothing here knows about any particular cohort: event kinds, member attributes and claim details
are declared by the cohort as pydantic models and validated by the core.

The rules object is stateless; each call receives the pool's validated settings.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from .money import to_decimal

__all__ = [
    "Applicant",
    "BenefitDecision",
    "ClaimFacts",
    "Cohort",
    "CohortRules",
    "EventKind",
    "MemberFacts",
    "NoFields",
    "PriorBenefit",
    "EarlierMembership",
    "SharingWeights",
    "age_on",
    "covered_from",
    "waiting_until",
]

_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")

SettingsT = TypeVar("SettingsT", bound=BaseModel)


class NoFields(BaseModel):
    """The model of a cohort that asks for no member attributes or claim details."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def age_on(birth_date: date, on: date) -> int:
    """Age in whole years on ``on`` (a person born on 29 February ages on 1 March in other years)."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def covered_from(joined_on: date) -> date:
    """First day of cover: cover starts at 00:00 the day after joining."""
    return joined_on + timedelta(days=1)


def waiting_until(joined_on: date, waiting_days: int) -> date:
    """Last day of a waiting period of ``waiting_days`` days, counted from 00:00 the day after
    joining with the last day included (joined 1 Jan, 90 days: waiting until 1 Apr in a non-leap
    year, covered from 2 Apr). With 0 days it is the joining day itself: covered from the next day."""
    if waiting_days < 0:
        raise ValueError("a waiting period cannot be negative")
    return joined_on + timedelta(days=waiting_days)


@dataclass(frozen=True, slots=True)
class EventKind:
    """A kind of covered event a cohort's members may claim for (e.g. an accidental death)."""

    key: str
    title: str
    local_titles: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise ValueError(f"event kind key {self.key!r} must be lower-case letters, digits, '_' or '-'")

    def title_for(self, locale: str) -> str:
        return self.local_titles.get(locale, self.title)


@dataclass(frozen=True, slots=True)
class Applicant:
    """A person asking to join a pool, with the cohort's own attributes already validated."""

    id_number: str
    name: str
    birth_date: date
    joined_on: date
    attributes: BaseModel

    @property
    def age(self) -> int:
        """Age on the joining day."""
        return age_on(self.birth_date, self.joined_on)


@dataclass(frozen=True, slots=True)
class EarlierMembership:
    """An earlier, ended membership of the same person in the same pool."""

    member_id: int
    joined_on: date
    ended_on: date | None
    status: str


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What the core knows of a member when one of their claims is decided.

    ``frozen_spans`` are the ``(first day, last day or None while still frozen)`` spans in which
    the member's rights were suspended (a prepaid balance that could not cover a share);
    ``earlier_memberships`` are the person's earlier memberships of the same pool (found by the
    keyed hash of the ID number). ``id_number`` is masked (``110*************34``): ID numbers are
    stored encrypted and rules decide on the birth date, the attributes and the history instead.
    """

    member_id: int
    id_number: str
    name: str
    birth_date: date
    joined_on: date
    waiting_until: date
    status: str
    attributes: BaseModel
    frozen_spans: tuple[tuple[date, date | None], ...] = ()
    earlier_memberships: tuple[EarlierMembership, ...] = ()

    def age_on(self, on: date) -> int:
        return age_on(self.birth_date, on)

    def was_frozen_on(self, day: date) -> bool:
        """Whether the member's rights were suspended on ``day``."""
        return any(start <= day and (end is None or day <= end) for start, end in self.frozen_spans)

    def in_waiting_period(self, on: date) -> bool:
        return on <= self.waiting_until

    def tenure_years(self, on: date) -> int:
        """Completed years of membership on ``on``."""
        return age_on(self.joined_on, on)


@dataclass(frozen=True, slots=True)
class PriorBenefit:
    """A benefit already approved for the same member (for combined caps and deductions)."""

    claim_id: int
    event_kind: str
    event_date: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """A claim as the cohort's rules see it when deciding the benefit."""

    claim_id: int
    event_kind: str
    event_date: date
    filed_on: date
    details: BaseModel
    description: str
    member: MemberFacts
    prior_benefits: tuple[PriorBenefit, ...]
    currency: str

    @property
    def prior_total(self) -> Decimal:
        return sum((p.amount for p in self.prior_benefits), Decimal(0))


@dataclass(frozen=True, slots=True)
class BenefitDecision:
    """The cohort's answer to a claim: payable or not, how much, the cap, and why.

    ``amount`` never exceeds ``cap`` (checked here). ``ends_membership`` is true when the event
    ends the membership (a death), so the member stops sharing from the next period.
    ``refund_contributions`` is true for a denial that gives the member back what they have paid
    into the pool (e.g. illness diagnosed in the waiting period); the core records the refund in
    the ledger when the claim is rejected. ``ends_as`` is how an ended membership is recorded:
    ``"deceased"`` (a death) or ``"exited"`` (e.g. Xianghubao ended the membership of a member
    diagnosed in the waiting period).
    """

    payable: bool
    amount: Decimal
    cap: Decimal
    reasons: tuple[str, ...]
    ends_membership: bool = False
    refund_contributions: bool = False
    ends_as: str = "deceased"

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        object.__setattr__(self, "cap", to_decimal(self.cap))
        object.__setattr__(self, "reasons", tuple(self.reasons))
        if not self.reasons:
            raise ValueError("a benefit decision must give at least one reason")
        if self.amount < 0 or self.cap < 0:
            raise ValueError("a benefit and its cap cannot be negative")
        if self.amount > self.cap:
            raise ValueError(f"benefit {self.amount} is above its cap {self.cap}")
        if not self.payable and self.amount != 0:
            raise ValueError("a claim that is not payable must have a benefit of 0")
        if self.payable and self.refund_contributions:
            raise ValueError("only a denial can refund the member's contributions")
        if self.ends_as not in ("deceased", "exited"):
            raise ValueError(f"a membership ends as 'deceased' or 'exited', not {self.ends_as!r}")

    @classmethod
    def pay(
        cls,
        amount: Decimal | int | str,
        *,
        cap: Decimal | int | str,
        reasons: Sequence[str],
        ends_membership: bool = False,
    ) -> BenefitDecision:
        """A payable decision of ``amount`` (at most ``cap``)."""
        return cls(True, to_decimal(amount), to_decimal(cap), tuple(reasons), ends_membership)

    @classmethod
    def deny(
        cls,
        reasons: Sequence[str],
        *,
        cap: Decimal | int | str = 0,
        ends_membership: bool = False,
        refund_contributions: bool = False,
        ends_as: str = "deceased",
    ) -> BenefitDecision:
        """A decision that the claim cannot be paid, with every reason. ``ends_membership`` is true
        when the event ends the membership even though nothing is paid (a death that is excluded,
        or with ``ends_as="exited"`` an illness in the waiting period); ``refund_contributions``
        when the member is to get back what they paid."""
        return cls(False, Decimal(0), to_decimal(cap), tuple(reasons), ends_membership, refund_contributions, ends_as)


@dataclass(frozen=True, slots=True)
class SharingWeights:
    """How many shares a member pays, by age on the period's notice day.

    ``bands`` are ``(from_age, weight)`` pairs in increasing age order, the first from age 0:
    ``((0, 1), (40, 2), (50, 4))`` makes members aged 40-49 pay twice and members 50 and over four
    times the share of members under 40. Weights are whole numbers, so shares stay exact.
    """

    bands: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        bands = tuple((int(a), int(w)) for a, w in self.bands)
        object.__setattr__(self, "bands", bands)
        if not bands or bands[0][0] != 0:
            raise ValueError("sharing weights need a first band from age 0")
        ages = [a for a, _ in bands]
        if ages != sorted(set(ages)):
            raise ValueError("sharing weight bands must be in increasing order of age, without repeats")
        if any(w <= 0 for _, w in bands):
            raise ValueError("sharing weights must be whole numbers above 0")

    def weight_at(self, age: int) -> int:
        weight = self.bands[0][1]
        for from_age, band_weight in self.bands:
            if age >= from_age:
                weight = band_weight
        return weight


class CohortRules(ABC, Generic[SettingsT]):
    """The decisions that make a cohort. Subclass it; every method receives the pool's settings.

    Only :meth:`eligibility_problems` and :meth:`decide_benefit` are required.
    """

    @abstractmethod
    def eligibility_problems(self, applicant: Applicant, settings: SettingsT) -> list[str]:
        """Every reason ``applicant`` may not join (empty when eligible), as whole sentences."""

    def waiting_period_days(self, applicant: Applicant, settings: SettingsT) -> int:
        """Days after joining during which illness is not covered (see :func:`waiting_until`)."""
        return 0

    @abstractmethod
    def decide_benefit(self, claim: ClaimFacts, settings: SettingsT) -> BenefitDecision:
        """Decide what ``claim`` is worth, never above its cap, with the reasons."""

    def sharing_weights(self, settings: SettingsT) -> SharingWeights | None:
        """Weights by age for pools that set ``[sharing] weights = "cohort"``; ``None`` (the
        default) when the cohort has none, and such a pool is refused."""
        return None

    def describe_rules(self, settings: SettingsT, locale: str, currency: str | None = None) -> list[str]:
        """The pool's rules in plain words for notices, one sentence per item, in ``locale``
        (``"zh-CN"`` or ``"en"``). ``currency`` is the pool's currency; an implementation may leave
        the parameter out, and the core then calls it without."""
        return []


@dataclass(frozen=True, slots=True)
class Cohort:
    """What a plugin registers: a cohort key, titles, its models, rules and templates.

    :param key: unique cohort key used in pool files (``cohort = "truckers"``).
    :param title: English title; ``local_titles`` maps other locales to titles.
    :param settings_model: pydantic model of the ``[settings]`` table of a pool file.
    :param rules: the :class:`CohortRules` object that decides eligibility and benefits.
    :param event_kinds: the kinds of events members may claim for.
    :param member_model: pydantic model of the attributes asked of an applicant at joining.
    :param claim_model: pydantic model of the details given when filing a claim.
    :param templates: directory of notice templates overriding the core's
        (``<locale>/<kind>.txt.j2``), or ``None``.
    """

    key: str
    title: str
    settings_model: type[BaseModel]
    rules: CohortRules[Any]
    event_kinds: tuple[EventKind, ...]
    member_model: type[BaseModel] = NoFields
    claim_model: type[BaseModel] = NoFields
    templates: Path | None = None
    description: str = ""
    local_titles: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.key, str) or not _KEY.match(self.key):
            problems.append(f"key {self.key!r} must be lower-case letters, digits, '_' or '-'")
        for name in ("settings_model", "member_model", "claim_model"):
            model = getattr(self, name)
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                problems.append(f"{name} must be a pydantic BaseModel subclass, not {model!r}")
        if not isinstance(self.rules, CohortRules):
            problems.append("rules must be an instance of a mutualaid.CohortRules subclass")
        object.__setattr__(self, "event_kinds", tuple(self.event_kinds))
        if not self.event_kinds:
            problems.append("at least one event kind is required")
        keys = [k.key for k in self.event_kinds if isinstance(k, EventKind)]
        if len(keys) != len(self.event_kinds):
            problems.append("event_kinds must be EventKind objects")
        elif len(set(keys)) != len(keys):
            problems.append("event kind keys must be unique")
        if self.templates is not None:
            object.__setattr__(self, "templates", Path(self.templates))
            if not Path(self.templates).is_dir():
                problems.append(f"templates directory {self.templates} does not exist")
        if problems:
            raise ValueError(f"invalid cohort {self.key!r}: " + "; ".join(problems))

    def title_for(self, locale: str) -> str:
        return self.local_titles.get(locale, self.title)

    def event_kind(self, key: str) -> EventKind | None:
        for kind in self.event_kinds:
            if kind.key == key:
                return kind
        return None

    def default_settings(self) -> BaseModel:
        return self.settings_model()
