"""What a person gives at joining (member attributes) and with a claim (claim details).

Values arrive as text from the command line (``--attr declared_yes=smoker,chronic_condition``) or
CSV columns; list fields take comma-separated values. These models check that values are well
formed; whether they are acceptable for a pool (a question key the pool asks, a diagnosis of the
society's disease) depends on its settings and is decided by the rules.

The answers to the health declaration are member attributes, so the core keeps them with the
membership (and with every claim, as they were when it was filed): a claim is reviewed against
what the member declared.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mutualaid import Amount

from .icd10 import normalize_code

__all__ = [
    "CriticalIllnessClaim",
    "HealthDeclaration",
    "HealthyMemberAttributes",
    "PatientClaim",
    "PatientMemberAttributes",
]

_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _keys(value: Any, what: str) -> Any:
    """A list of lower-case keys from a list or a comma-separated string, without repeats."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        return value
    keys: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"{what} must be keys such as 'smoker', not {item!r}")
        key = item.strip().lower()
        if not key:
            continue
        if not _KEY.fullmatch(key):
            raise ValueError(f"{item!r} is not a key; {what} are lower-case letters, digits and '_', e.g. 'smoker'")
        if key not in keys:
            keys.append(key)
    return keys


class HealthDeclaration(BaseModel):
    """The answers to a society's health declaration, given at joining."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    declared_yes: list[str] = Field(
        default_factory=list,
        description="Keys of the health questions the applicant answered yes, comma-separated (empty: every "
        "answer was no). 'mutualaid pool show POOL' and the welcome notice list the pool's questions.",
    )
    declaration_confirmed: bool = Field(
        False,
        description="true when the applicant answered every question of the health declaration and confirms "
        "the answers; required to join a society that asks questions.",
    )

    @field_validator("declared_yes", mode="before")
    @classmethod
    def _declared(cls, value: Any) -> Any:
        return _keys(value, "health question keys")


class HealthyMemberAttributes(HealthDeclaration):
    """What a healthy applicant gives to join a critical-illness society: the health declaration."""


class PatientMemberAttributes(HealthDeclaration):
    """What a patient gives to join a patients' society: the confirmed diagnosis, and the health declaration."""

    diagnosis_code: str = Field(
        description="ICD-10 code of the applicant's confirmed diagnosis of the society's disease, e.g. C50.9 or B18.1."
    )
    diagnosed_on: date = Field(description="Day the diagnosis was confirmed, as YYYY-MM-DD (on or before joining).")
    diagnosis_hospital: str = Field(
        "", max_length=200, description="Hospital that confirmed the diagnosis (kept for the review of claims)."
    )

    @field_validator("diagnosis_code")
    @classmethod
    def _code(cls, value: str) -> str:
        return normalize_code(value)


class _ClaimDetails(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    self_paid_costs: Amount | None = Field(
        None,
        description="Self-paid medical costs of the event, in major units of the pool's currency (e.g. 45000 or "
        "45000.50); needed when the pool's benefit reimburses costs.",
    )
    hereditary_or_congenital: bool = Field(
        False, description="true when the investigation found the condition hereditary or congenital."
    )
    pre_existing_conditions: list[str] = Field(
        default_factory=list,
        description="Keys of the pool's health questions the investigation found were true before joining, "
        "comma-separated. One the member did not declare is non-disclosure: the claim is refused.",
    )

    @field_validator("pre_existing_conditions", mode="before")
    @classmethod
    def _conditions(cls, value: Any) -> Any:
        return _keys(value, "health question keys")


class CriticalIllnessClaim(_ClaimDetails):
    """What a claim to a critical-illness society gives besides the diagnosis date."""

    illness: str = Field(
        description="Key of the diagnosed critical illness, e.g. malignant_tumour ('mutualaid cohorts show "
        "critical-illness' and the welcome notice list the covered ones)."
    )
    diagnosis_code: str | None = Field(
        None, description="ICD-10 code of the diagnosis, if known (kept with the claim)."
    )
    caused_by_accident: bool = Field(
        False,
        description="true when an accident caused the illness (covered from the day after joining, inside the "
        "waiting period, when the pool says so).",
    )

    @field_validator("illness")
    @classmethod
    def _illness(cls, value: str) -> str:
        key = value.strip().lower()
        if not _KEY.fullmatch(key):
            raise ValueError(f"{value!r} is not an illness key; write one such as malignant_tumour")
        return key

    @field_validator("diagnosis_code")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return normalize_code(value) if value else None


class PatientClaim(_ClaimDetails):
    """What a claim to a patients' society gives besides the kind of event and its date."""

    diagnosis_code: str = Field(
        description="ICD-10 code of the event's diagnosis (the recurrence, metastasis, new cancer, progression ...); "
        "it must be one of the society's diseases."
    )

    @field_validator("diagnosis_code")
    @classmethod
    def _code(cls, value: str) -> str:
        return normalize_code(value)
