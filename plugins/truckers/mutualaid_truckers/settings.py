"""The ``[settings]`` table of a truckers pool file, validated by :class:`TruckersSettings`.

Kayou Didai's real joining rules, disability schedule, caps and exclusions were not found in public
sources; every default here is a reasonable, configurable choice, not a copy of that scheme. The
disability table follows the 10 grades of the industry standard JR/T 0083-2013.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .catalog import CIRCUMSTANCES, DEFAULT_EXCLUSIONS, LICENCE_CLASSES

__all__ = ["DEFAULT_DISABILITY_GRADE_PERCENT", "DISABILITY_GRADES", "TruckersSettings"]

#: Number of grades in the disability table (JR/T 0083-2013: grade 1 is the most severe).
DISABILITY_GRADES = 10

#: JR/T 0083-2013: grade g pays (110 - 10 g) % of the disability benefit.
DEFAULT_DISABILITY_GRADE_PERCENT: tuple[int, ...] = tuple(110 - 10 * g for g in range(1, DISABILITY_GRADES + 1))

_MONEY = ("accidental_death_benefit", "disability_base_benefit", "illness_death_benefit", "combined_cap")


def _money(default: str, description: str, *, positive: bool = False) -> Any:
    return Field(
        Decimal(default),
        gt=Decimal(0) if positive else None,
        ge=None if positive else Decimal(0),
        le=Decimal("100000000"),
        decimal_places=2,
        description=description,
    )


class TruckersSettings(BaseModel):
    """Settings of a truckers pool. Amounts are in major units of the pool's currency (CNY, yuan),
    written as integers or strings (``300000`` or ``"300000.00"``), never as floats."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_age: int = Field(
        18,
        ge=18,
        le=100,
        description="Youngest age, in whole years on the joining day, at which a driver may join (inclusive).",
    )
    max_age: int = Field(
        60,
        ge=18,
        le=100,
        description="Oldest age, in whole years on the joining day, at which a driver may join (inclusive). "
        "Members who grow older stay covered.",
    )
    accepted_licence_classes: tuple[str, ...] = Field(
        ("A1", "A2", "B1", "B2"),
        description="Classes of Chinese driving licence (准驾车型) an applicant may hold, e.g. "
        '["A1", "A2", "B1", "B2"] for large buses, tractor-trailers, medium buses and large trucks. '
        "At least one. The licence must still be valid on the first day of cover.",
    )
    require_driving_proof: bool = Field(
        True,
        description="Whether an applicant must give a reference to proof of active driving at joining "
        "(a waybill number, ETC record, logbook or employer reference), in the member attribute driving_proof.",
    )
    accidental_death_benefit: Decimal = _money(
        "300000",
        "Benefit paid on a member's accidental death, in major units of the pool's currency.",
    )
    disability_base_benefit: Decimal = _money(
        "300000",
        "Benefit for accidental disability of grade 1 (the most severe); other grades pay the "
        "percentage of it given by disability_grade_percent.",
    )
    disability_grade_percent: tuple[int, ...] = Field(
        DEFAULT_DISABILITY_GRADE_PERCENT,
        description="Percent of disability_base_benefit paid for each disability grade, grade 1 first: "
        "10 whole numbers from 0 to 100, never increasing from one grade to the next. Default: the "
        '10 grades of JR/T 0083-2013 (100, 90, 80, ... 10). A table {"1" = 100, ..., "10" = 10} '
        "is accepted too.",
    )
    illness_death_benefit: Decimal = _money(
        "300000",
        "Benefit paid on a member's death from illness after the illness waiting period.",
    )
    illness_waiting_days: int = Field(
        90,
        ge=0,
        le=730,
        description="Days of the illness waiting period, counted from the day after joining with the last "
        "day included; a death from illness on or before its last day is not covered. Accidents are "
        "covered from the day after joining.",
    )
    combined_cap: Decimal = _money(
        "300000",
        "The most one member can receive in total over all claims; a later benefit is reduced "
        "by what was already paid. Must be at least each single benefit.",
        positive=True,
    )
    exclusions: tuple[str, ...] = Field(
        DEFAULT_EXCLUSIONS,
        description="Circumstances in which no benefit is paid. Known circumstances: "
        + ", ".join(CIRCUMSTANCES)
        + ". May be empty.",
    )
    licence_must_be_valid_on_event_date: bool = Field(
        True,
        description="Whether an accident after the member's driving licence expired counts as "
        "unlicensed_driving (and so is not covered when unlicensed_driving is excluded).",
    )

    @field_validator(*_MONEY, mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"must be an amount such as 300000, not {value!r}")
        if isinstance(value, float):
            raise ValueError(
                f'must be an integer or a string such as "300000.00", not {value!r} '
                "(floats cannot hold amounts exactly)"
            )
        return value

    @field_validator("accepted_licence_classes", mode="before")
    @classmethod
    def _classes(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if not isinstance(value, list | tuple):
            return value
        classes: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f'licence classes must be strings such as "B2", not {item!r}')
            cls_ = item.strip().upper()
            if cls_ not in LICENCE_CLASSES:
                raise ValueError(
                    f"{item!r} is not a Chinese driving licence class; use some of {', '.join(LICENCE_CLASSES)}"
                )
            if cls_ not in classes:
                classes.append(cls_)
        if not classes:
            raise ValueError('at least one licence class must be accepted, e.g. ["A2", "B2"]')
        return tuple(classes)

    @field_validator("exclusions", mode="before")
    @classmethod
    def _exclusions(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            return value
        keys: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f'exclusions must be strings such as "drunk_driving", not {item!r}')
            key = item.strip().lower()
            if key not in CIRCUMSTANCES:
                raise ValueError(f"unknown exclusion {item!r}; known circumstances: {', '.join(CIRCUMSTANCES)}")
            if key not in keys:
                keys.append(key)
        return tuple(keys)

    @field_validator("disability_grade_percent", mode="before")
    @classmethod
    def _grade_table(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            by_grade: dict[int, Any] = {}
            for grade, percent in value.items():
                try:
                    number = int(str(grade).strip())
                except ValueError:
                    raise ValueError(f"grade {grade!r} is not a number from 1 to {DISABILITY_GRADES}") from None
                by_grade[number] = percent
            expected = set(range(1, DISABILITY_GRADES + 1))
            if set(by_grade) != expected:
                missing = sorted(expected - set(by_grade))
                extra = sorted(set(by_grade) - expected)
                parts = []
                if missing:
                    parts.append(f"missing grades {', '.join(map(str, missing))}")
                if extra:
                    parts.append(f"unknown grades {', '.join(map(str, extra))}")
                raise ValueError(f"needs exactly the grades 1 to {DISABILITY_GRADES}: " + "; ".join(parts))
            return tuple(by_grade[g] for g in sorted(by_grade))
        return value

    @field_validator("disability_grade_percent")
    @classmethod
    def _grade_table_values(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if len(value) != DISABILITY_GRADES:
            raise ValueError(
                f"needs {DISABILITY_GRADES} percentages (grades 1 to {DISABILITY_GRADES}), got {len(value)}"
            )
        for grade, percent in enumerate(value, start=1):
            if not 0 <= percent <= 100:
                raise ValueError(f"grade {grade}: {percent}% is not a percentage from 0 to 100")
        for grade in range(2, DISABILITY_GRADES + 1):
            if value[grade - 1] > value[grade - 2]:
                raise ValueError(
                    f"grade {grade} ({value[grade - 1]}%) would pay more than the more severe grade "
                    f"{grade - 1} ({value[grade - 2]}%); percentages must not increase from grade 1 to grade 10"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TruckersSettings:
        problems = []
        if self.min_age > self.max_age:
            problems.append(f"min_age {self.min_age} is above max_age {self.max_age}")
        top_disability = self.disability_benefit(1)
        for name, amount in (
            ("accidental_death_benefit", self.accidental_death_benefit),
            ("illness_death_benefit", self.illness_death_benefit),
            ("disability_base_benefit at grade 1", top_disability),
        ):
            if amount > self.combined_cap:
                problems.append(
                    f"{name} ({amount:,}) is above combined_cap ({self.combined_cap:,}), so it could never be "
                    "paid in full; lower it or raise combined_cap"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def disability_percent(self, grade: int) -> int:
        """The percent of the disability benefit paid for ``grade`` (1 to 10)."""
        if not 1 <= grade <= DISABILITY_GRADES:
            raise ValueError(f"disability grade {grade} is not a grade from 1 to {DISABILITY_GRADES}")
        return self.disability_grade_percent[grade - 1]

    def disability_benefit(self, grade: int) -> Decimal:
        """The benefit for ``grade`` before the combined cap, exact (rounding is the rules' job)."""
        return self.disability_base_benefit * self.disability_percent(grade) / 100
