"""The ``[settings]`` table of a disease society's pool file, one model per cohort.

Defaults follow the schemes in the project's domain notes: Xianghubao for the critical-illness
society (ages 30 days to 59 years, a 90-day waiting period, 300,000 under 40 and 100,000 from 40 to
59), Kangai Gongshe for the patients' societies (joining under 45, observation half a year under
40 and a year from 40, self-paid costs above 10,000 reimbursed up to 100,000, rights growing with
tenure, refunds in six cases). Every one of them is a setting.
"""

from __future__ import annotations

import functools
import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mutualaid import BenefitModel, EventKind

from .catalog import CANCER_EVENT_KINDS, CRITICAL_ILLNESS_EVENT_KINDS, CRITICAL_ILLNESSES, DISEASE_EVENT_KINDS
from .icd10 import CodeList, parse_code_list
from .incidence import IncidenceSetting
from .questions import DISEASE_QUESTIONS, HEALTHY_QUESTIONS, KEY, PATIENT_QUESTIONS, HealthQuestion

__all__ = [
    "CASE_KEYS",
    "CancerPatientsSettings",
    "CriticalIllnessSettings",
    "DiseaseSocietySettings",
    "HealthQuestion",
    "IllnessDefinition",
    "PatientSocietySettings",
    "RefundCases",
    "SocietySettings",
    "age_limit",
    "code_list",
]

_AGE = re.compile(r"([0-9]{1,5})\s*(days?|years?|天|岁|周岁)?")

#: The six cases in which a denial may refund the member's contributions (Kangai Gongshe).
CASE_KEYS = (
    "failed_health_conditions",
    "late_report",
    "diagnosed_while_frozen",
    "diagnosed_in_waiting_period",
    "hereditary_or_congenital",
    "former_member",
)
#: The cases that always refuse a claim: they can refund or not, but not be switched off.
_ALWAYS_DENIED = ("failed_health_conditions", "diagnosed_while_frozen", "diagnosed_in_waiting_period")

CaseAction = Literal["refund", "deny", "off"]


def age_limit(text: str) -> tuple[int, Literal["days", "years"]]:
    """``"30 days"`` -> ``(30, "days")``; ``"18 years"`` -> ``(18, "years")`` (a normalized setting)."""
    number, unit = text.split()
    return int(number), "days" if unit == "days" else "years"


def _age_text(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError(f'must be an age such as 18 (years) or "30 days", not {value!r}')
    if isinstance(value, int):
        number, unit = value, "years"
    elif isinstance(value, str) and (match := _AGE.fullmatch(value.strip().lower())):
        number = int(match.group(1))
        unit = "days" if (match.group(2) or "years") in ("day", "days", "天") else "years"
    else:
        raise ValueError(f'must be an age such as 18 (years) or "30 days", not {value!r}')
    if unit == "years" and number > 100:
        raise ValueError(f"must be at most 100 years ({number} given)")
    if unit == "days" and number > 3660:
        raise ValueError(f'must be at most 3660 days ({number} given); write longer ages in years, e.g. "18 years"')
    return f"{number} {unit}"


@functools.lru_cache(maxsize=64)
def code_list(patterns: tuple[str, ...]) -> CodeList:
    """The :class:`CodeList` of validated patterns (parsed once per list)."""
    return CodeList.of(patterns)


class IllnessDefinition(BaseModel):
    """An illness a critical-illness society covers besides those of the standard list."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    key: str = Field(description="Key a claim gives as its illness detail.")
    title_en: str = Field(min_length=2, max_length=200, description="Its name in English.")
    title_zh: str = Field(min_length=1, max_length=200, description="Its name in Chinese (中文).")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY.fullmatch(value):
            raise ValueError(f"{value!r} is not a key; use lower-case letters, digits and '_'")
        if value in CRITICAL_ILLNESSES:
            raise ValueError(f"{value!r} is already a standard illness; list it in covered_illnesses instead")
        return value

    def title(self, locale: str) -> str:
        return self.title_zh if locale == "zh-CN" else self.title_en


class RefundCases(BaseModel):
    """What a claim refused for each of the six cases does: ``"refund"`` (refuse it and give the
    member back what they contributed to the pool), ``"deny"`` (refuse it, no refund) or ``"off"``
    (not a reason to refuse; only for the late report, hereditary or congenital conditions and
    former members). ``true`` means ``"refund"``, ``false`` ``"deny"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    failed_health_conditions: CaseAction = Field(
        "refund",
        description="The member did not meet the health conditions: the investigation found a condition that "
        "existed before joining and was not declared.",
    )
    late_report: CaseAction = Field(
        "refund", description="The claim was filed more than late_report_months after the diagnosis."
    )
    late_report_months: int = Field(
        6, ge=1, le=120, description="Months after the diagnosis within which a claim must be filed."
    )
    diagnosed_while_frozen: CaseAction = Field(
        "refund", description="The diagnosis fell on a day the member's rights were suspended (frozen)."
    )
    diagnosed_in_waiting_period: CaseAction = Field(
        "refund", description="The diagnosis fell in the waiting (observation) period."
    )
    hereditary_or_congenital: CaseAction = Field(
        "refund", description="The condition is hereditary or congenital (a claim detail of the investigation)."
    )
    former_member: CaseAction = Field(
        "refund", description="The member was a member of the same society before, left, and joined again."
    )

    @field_validator(*CASE_KEYS, mode="before")
    @classmethod
    def _switch(cls, value: Any) -> Any:
        if value is True:
            return "refund"
        if value is False:
            return "deny"
        return value

    @field_validator(*_ALWAYS_DENIED)
    @classmethod
    def _not_off(cls, value: CaseAction) -> CaseAction:
        if value == "off":
            raise ValueError('cannot be "off": such a claim is never paid; choose "refund" or "deny"')
        return value

    def action(self, case: str) -> CaseAction:
        """What a refusal for ``case`` (one of :data:`CASE_KEYS`) does."""
        if case not in CASE_KEYS:
            raise KeyError(case)
        value: CaseAction = getattr(self, case)
        return value


#: Xianghubao: 300,000 when diagnosed under 40, 100,000 from 40 to 59.
XIANGHUBAO_BENEFIT: dict[str, Any] = {
    "kind": "age-band",
    "bands": [
        {"min_age": 0, "max_age": 39, "amount": 300000},
        {"min_age": 40, "max_age": 59, "amount": 100000},
    ],
}

#: Kangai's patient society: self-paid costs above 10,000 reimbursed up to 100,000, ramped by tenure.
KANGAI_PATIENT_BENEFIT: dict[str, Any] = {
    "kind": "tenure-ramp",
    "steps": ["1/3", "2/3", "1"],
    "benefit": {"kind": "reimbursement", "deductible": 10000, "copay_rate": 0, "cap": 100000},
}


class SocietySettings(BaseModel):
    """What every disease society sets: who may join, the health declaration, the waiting
    (observation) period by age at joining, the benefit and the refund cases."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    min_age: str = Field(
        "30 days",
        description='Youngest age on the joining day: whole years (18) or days ("30 days"), included.',
    )
    max_age: int = Field(
        59,
        ge=0,
        le=100,
        description="Oldest age on the joining day, in whole years, included (59: people who have not turned 60). "
        "Members who grow older stay members.",
    )
    waiting_days: int = Field(
        90,
        ge=0,
        le=1095,
        description="Days of the waiting (observation) period of members who join younger than older_from_age, "
        "counted from the day after joining with its last day included; an illness diagnosed in it is not covered.",
    )
    older_waiting_days: int | None = Field(
        None,
        ge=0,
        le=1095,
        description="Days of the waiting period of members who join aged older_from_age or more; none: waiting_days.",
    )
    older_from_age: int = Field(
        40, ge=0, le=100, description="Age on the joining day from which older_waiting_days applies."
    )
    health_questions: tuple[HealthQuestion, ...] = Field(
        default=HEALTHY_QUESTIONS,  # type: ignore[arg-type]  # validated (validate_default)
        max_length=40,
        description="The health declaration: tables {key, text_en, text_zh, excludes}. An applicant lists the "
        "keys answered yes in declared_yes and confirms with declaration_confirmed=true; a yes to a question "
        "that excludes keeps them out.",
    )
    benefit: BenefitModel = Field(
        default=XIANGHUBAO_BENEFIT,  # type: ignore[assignment]  # validated (validate_default)
        description='The benefit model, a table with a kind: "fixed", "age-band", "reimbursement", '
        '"fixed-plus-reimbursement" or "tenure-ramp" (see the README).',
    )
    refund_cases: RefundCases = Field(
        default_factory=RefundCases,
        description='What a claim refused in each of the six refund cases does: "refund", "deny" or "off"; and '
        "late_report_months.",
    )
    incidence: tuple[IncidenceSetting, ...] = Field(
        (),
        max_length=20,
        description="Prior incidence by event kind and age band, with its source: tables {event, bands = "
        "[{min_age, max_age, rate}], costs, benefit_share, source}; the core blends it with the pool's own "
        "claims to quote the expected cost of joining. None: a critical-illness society uses the CI1 "
        "(2006-2010) table, a patients' society has no quote until it writes one.",
    )
    waiting_period_illness_ends_membership: bool = Field(
        True,
        description="Whether an illness diagnosed in the waiting period ends the membership when its claim is "
        "rejected (Xianghubao: no aid, shares refunded, membership ended). The member is recorded as exited "
        "on the day of the diagnosis.",
    )

    @field_validator("min_age", mode="before")
    @classmethod
    def _min_age(cls, value: Any) -> str:
        return _age_text(value)

    @field_validator("health_questions")
    @classmethod
    def _unique_questions(cls, value: tuple[HealthQuestion, ...]) -> tuple[HealthQuestion, ...]:
        keys = [q.key for q in value]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"question keys must be unique; repeated: {', '.join(repeated)}")
        return value

    @model_validator(mode="after")
    def _incidence_events(self) -> SocietySettings:
        kinds = getattr(type(self), "EVENT_KINDS", CRITICAL_ILLNESS_EVENT_KINDS)
        known = [k.key for k in kinds]
        unknown = [item.event for item in self.incidence if item.event not in known]
        if unknown:
            raise ValueError(
                f"incidence: unknown event kind {', '.join(map(repr, unknown))}; the kinds are {', '.join(known)}"
            )
        return self

    @model_validator(mode="after")
    def _ages(self) -> SocietySettings:
        number, unit = age_limit(self.min_age)
        if unit == "years" and number > self.max_age:
            raise ValueError(f"min_age {self.min_age} is above max_age {self.max_age}")
        return self

    def waiting_days_for(self, age: int) -> int:
        """Days of the waiting period of a member who joins aged ``age``."""
        if self.older_waiting_days is not None and age >= self.older_from_age:
            return self.older_waiting_days
        return self.waiting_days

    def question(self, key: str) -> HealthQuestion | None:
        for question in self.health_questions:
            if question.key == key:
                return question
        return None


class CriticalIllnessSettings(SocietySettings):
    """Settings of a critical-illness society for healthy people (as Xianghubao)."""

    covered_illnesses: tuple[str, ...] = Field(
        tuple(CRITICAL_ILLNESSES),
        description="Keys of the standard critical illnesses covered (default: all 28 of the 2020 standard "
        "definitions): " + ", ".join(CRITICAL_ILLNESSES) + ".",
    )
    extra_illnesses: tuple[IllnessDefinition, ...] = Field(
        (),
        description="Other illnesses covered, as tables {key, title_en, title_zh}.",
    )
    accidents_covered_in_waiting_period: bool = Field(
        True,
        description="Whether an illness caused by an accident is covered inside the waiting period (from the day "
        "after joining), as Xianghubao did.",
    )
    once_per_member: bool = Field(
        True, description="Whether a member is paid for one critical illness only (a later claim is refused)."
    )

    @field_validator("covered_illnesses", mode="before")
    @classmethod
    def _illnesses(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple):
            return value
        keys: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"illnesses must be keys such as 'malignant_tumour', not {item!r}")
            key = item.strip().lower()
            if key not in CRITICAL_ILLNESSES:
                raise ValueError(
                    f"unknown illness {item!r}; the standard illnesses are {', '.join(CRITICAL_ILLNESSES)} "
                    "(add others with extra_illnesses)"
                )
            if key not in keys:
                keys.append(key)
        return tuple(keys)

    @model_validator(mode="after")
    def _some_illness(self) -> CriticalIllnessSettings:
        if not self.covered_illnesses and not self.extra_illnesses:
            raise ValueError("covered_illnesses and extra_illnesses are both empty: the society would cover nothing")
        keys = [i.key for i in self.extra_illnesses]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"extra_illnesses: keys must be unique; repeated: {', '.join(repeated)}")
        return self

    def illness_title(self, key: str, locale: str = "en") -> str | None:
        """The title of a covered illness, or ``None`` if ``key`` is not covered."""
        if key in self.covered_illnesses:
            titles = CRITICAL_ILLNESSES[key]
            return titles.get(locale, titles["en"])
        for illness in self.extra_illnesses:
            if illness.key == key:
                return illness.title(locale)
        return None

    def covered_keys(self) -> list[str]:
        return [*self.covered_illnesses, *(i.key for i in self.extra_illnesses)]


class PatientSocietySettings(SocietySettings):
    """Settings of a patients' society: only people with a confirmed diagnosis of the society's
    disease join; they claim for events of that disease only."""

    EVENT_KINDS: ClassVar[tuple[EventKind, ...]] = DISEASE_EVENT_KINDS

    max_age: int = Field(
        44,
        ge=0,
        le=100,
        description="Oldest age on the joining day, in whole years, included (44: under 45, Kangai's rule).",
    )
    waiting_days: int = Field(
        180,
        ge=0,
        le=1095,
        description="Days of the observation period of members who join younger than older_from_age (half a "
        "year), counted from the day after joining with its last day included.",
    )
    older_waiting_days: int | None = Field(
        365,
        ge=0,
        le=1095,
        description="Days of the observation period of members who join aged older_from_age or more (a year); "
        "none: waiting_days.",
    )
    health_questions: tuple[HealthQuestion, ...] = Field(
        default=DISEASE_QUESTIONS,  # type: ignore[arg-type]  # validated (validate_default)
        max_length=40,
        description="The health declaration: tables {key, text_en, text_zh, excludes}; see critical-illness.",
    )
    benefit: BenefitModel = Field(
        default=KANGAI_PATIENT_BENEFIT,  # type: ignore[assignment]  # validated (validate_default)
        description="The benefit model (default: self-paid costs above 10,000 reimbursed up to 100,000 per claim, "
        "1/3 of it in year 1 after the observation period, 2/3 in year 2, all from year 3).",
    )
    disease_codes: tuple[str, ...] = Field(
        description="ICD-10 codes of the society's disease: codes (B18.1), categories (K74) or ranges (K70-K77). "
        "An applicant's diagnosis must be one of them."
    )
    claim_codes: tuple[str, ...] = Field(
        (),
        description="ICD-10 codes a claim's diagnosis must match (empty: disease_codes). Lets a hepatitis society "
        'cover, say, cirrhosis and liver cancer: ["K70-K77", "C22"].',
    )
    disease_title_en: str = Field("", max_length=100, description="Name of the disease in English, for notices.")
    disease_title_zh: str = Field("", max_length=100, description="Name of the disease in Chinese, for notices.")
    covered_events: tuple[str, ...] = Field(
        tuple(k.key for k in DISEASE_EVENT_KINDS),
        description="Kinds of events covered, at least one: "
        + ", ".join(k.key for k in DISEASE_EVENT_KINDS)
        + " (default: all).",
    )

    @field_validator("disease_codes", mode="before")
    @classmethod
    def _disease_codes(cls, value: Any) -> Any:
        return parse_code_list(value)

    @field_validator("claim_codes", mode="before")
    @classmethod
    def _claim_codes(cls, value: Any) -> Any:
        if value in ((), [], ""):
            return ()
        return parse_code_list(value)

    @field_validator("covered_events", mode="before")
    @classmethod
    def _events(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            return value
        known = [kind.key for kind in cls.EVENT_KINDS]
        unknown = [item for item in value if item not in known]
        if unknown:
            raise ValueError(
                f"unknown event kind {', '.join(repr(u) for u in unknown)}; the kinds are {', '.join(known)}"
            )
        if not value:
            raise ValueError(f"must list at least one kind of event: {', '.join(known)}")
        return tuple(dict.fromkeys(value))

    @property
    def disease_list(self) -> CodeList:
        return code_list(self.disease_codes)

    @property
    def claim_list(self) -> CodeList:
        return code_list(self.claim_codes or self.disease_codes)

    def covers(self, event_kind: str) -> bool:
        return event_kind in self.covered_events

    def event_keys(self) -> list[str]:
        return [k.key for k in self.EVENT_KINDS if self.covers(k.key)]

    def disease_title(self, locale: str) -> str:
        """The disease's name, or its codes when it has none."""
        title = self.disease_title_zh if locale == "zh-CN" else self.disease_title_en
        if title:
            return title
        codes = ", ".join(self.disease_codes)
        return f"ICD-10 {codes} 所列疾病" if locale == "zh-CN" else f"a disease of ICD-10 {codes}"


class CancerPatientsSettings(PatientSocietySettings):
    """Settings of a cancer patients' society (癌友), as Kangai Gongshe ran it."""

    EVENT_KINDS: ClassVar[tuple[EventKind, ...]] = CANCER_EVENT_KINDS

    health_questions: tuple[HealthQuestion, ...] = Field(
        default=PATIENT_QUESTIONS,  # type: ignore[arg-type]  # validated (validate_default)
        max_length=40,
        description="The health declaration: tables {key, text_en, text_zh, excludes}; see critical-illness.",
    )
    disease_codes: tuple[str, ...] = Field(
        ("C00-C97",),
        description="ICD-10 codes of the society's cancers (default C00-C97, every malignant neoplasm; a breast "
        "cancer society would set [\"C50\"]). An applicant's diagnosis and every claim's must be one of them.",
    )
    covered_events: tuple[str, ...] = Field(
        tuple(k.key for k in CANCER_EVENT_KINDS),
        description="Kinds of events covered, at least one: "
        + ", ".join(k.key for k in CANCER_EVENT_KINDS)
        + " (default: all).",
    )
    disease_title_en: str = Field("cancer", max_length=100, description="Name of the disease in English, for notices.")
    disease_title_zh: str = Field("癌症", max_length=100, description="Name of the disease in Chinese, for notices.")


class DiseaseSocietySettings(PatientSocietySettings):
    """Settings of a society of patients of any disease given by ICD-10 codes (肝友, 肾友 ...)."""
