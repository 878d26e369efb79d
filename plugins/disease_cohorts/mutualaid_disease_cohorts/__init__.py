"""mutualaid-disease-cohorts: disease communities, as Kangai Gongshe (康爱公社) ran them.

"Healthy with healthy, people with a history together": three cohorts, each configured from a pool
file alone.

* ``critical-illness`` -- a society of healthy people that pays a lump sum when a covered critical
  illness is diagnosed after the waiting period (defaults from Xianghubao: ages 30 days to 59
  years, a 90-day waiting period, 300,000 under 40 and 100,000 from 40 to 59);
* ``cancer-patients`` -- a society of people already diagnosed with cancer (癌友): it covers
  recurrence, metastasis or a new primary cancer and reimburses self-paid costs above 10,000 up to
  100,000, with rights growing over the first years of membership;
* ``disease-society`` -- a society of the patients of any disease given by ICD-10 codes
  (``K70-K77``, ``B18.1``), with the benefit model chosen in the pool file (肝友 ...).

Each has a health declaration whose questions are settings, an observation period by age at
joining, and refunds of the member's contributions when a claim is refused in one of six cases.
The plugin registers its cohorts through the ``register_cohorts`` hook and is found by the core
through the ``mutualaid`` entry-point group (``disease_cohorts = "mutualaid_disease_cohorts"``).
"""

from __future__ import annotations

from collections.abc import Callable

from mutualaid import Cohort, hookimpl

from .catalog import CANCER_EVENT_KINDS, CRITICAL_ILLNESS_EVENT_KINDS, CRITICAL_ILLNESSES, DISEASE_EVENT_KINDS
from .icd10 import CodeList, normalize_code, parse_pattern
from .incidence import IncidenceSetting, incidence_table
from .models import CriticalIllnessClaim, HealthyMemberAttributes, PatientClaim, PatientMemberAttributes
from .rules import CriticalIllnessRules, PatientSocietyRules
from .settings import (
    CancerPatientsSettings,
    CriticalIllnessSettings,
    DiseaseSocietySettings,
    HealthQuestion,
    RefundCases,
)

__version__ = "0.1.0"

__all__ = [
    "CANCER_PATIENTS",
    "COHORTS",
    "CRITICAL_ILLNESS",
    "CRITICAL_ILLNESSES",
    "CancerPatientsSettings",
    "CodeList",
    "CriticalIllnessClaim",
    "CriticalIllnessRules",
    "CriticalIllnessSettings",
    "DISEASE_SOCIETY",
    "DiseaseSocietySettings",
    "HealthQuestion",
    "HealthyMemberAttributes",
    "IncidenceSetting",
    "PatientClaim",
    "PatientMemberAttributes",
    "PatientSocietyRules",
    "RefundCases",
    "__version__",
    "incidence_table",
    "normalize_code",
    "parse_pattern",
    "register_cohorts",
    "register_incidence",
]

#: A society of healthy people for critical illness (Xianghubao's rules by default).
CRITICAL_ILLNESS = Cohort(
    key="critical-illness",
    title="Critical illness society",
    local_titles={"zh-CN": "重疾互助社"},
    description=(
        "A society of healthy people: a lump sum when a covered critical illness is diagnosed after the waiting "
        "period. Defaults from Xianghubao: ages 30 days to 59 years, a health declaration, a 90-day waiting "
        "period, the 28 standard critical illnesses, 300,000 under 40 and 100,000 from 40 to 59."
    ),
    settings_model=CriticalIllnessSettings,
    rules=CriticalIllnessRules(),
    event_kinds=CRITICAL_ILLNESS_EVENT_KINDS,
    member_model=HealthyMemberAttributes,
    claim_model=CriticalIllnessClaim,
)

#: A society of cancer patients (癌友), as Kangai Gongshe's.
CANCER_PATIENTS = Cohort(
    key="cancer-patients",
    title="Cancer patients' society",
    local_titles={"zh-CN": "癌友互助社"},
    description=(
        "A society of people already diagnosed with cancer (Kangai Gongshe): covers recurrence, metastasis or a "
        "new primary cancer after an observation period of half a year (a year from age 40); reimburses "
        "self-paid costs above 10,000 up to 100,000, 1/3 of it in the first year, 2/3 in the second, all from "
        "the third."
    ),
    settings_model=CancerPatientsSettings,
    rules=PatientSocietyRules(CANCER_EVENT_KINDS),
    event_kinds=CANCER_EVENT_KINDS,
    member_model=PatientMemberAttributes,
    claim_model=PatientClaim,
)

#: A society of the patients of any disease given by ICD-10 codes (肝友, 肾友 ...).
DISEASE_SOCIETY = Cohort(
    key="disease-society",
    title="Disease society",
    local_titles={"zh-CN": "病友互助社"},
    description=(
        "A society of the patients of one disease, given by ICD-10 codes in the pool file (K70-K77, B18.1 ...), "
        "with the benefit model chosen there: covers progression, recurrence or a serious complication of that "
        "disease after an observation period."
    ),
    settings_model=DiseaseSocietySettings,
    rules=PatientSocietyRules(DISEASE_EVENT_KINDS),
    event_kinds=DISEASE_EVENT_KINDS,
    member_model=PatientMemberAttributes,
    claim_model=PatientClaim,
)

#: Every cohort this plugin registers.
COHORTS: tuple[Cohort, ...] = (CRITICAL_ILLNESS, CANCER_PATIENTS, DISEASE_SOCIETY)


@hookimpl
def register_cohorts(register: Callable[[Cohort], None]) -> None:
    """Register the ``critical-illness``, ``cancer-patients`` and ``disease-society`` cohorts."""
    for cohort in COHORTS:
        register(cohort)


@hookimpl
def register_incidence(register: Callable[[str, Callable[..., object]], None]) -> None:
    """Each society's prior incidence: its pool file's own table, or the critical-illness default
    (see :mod:`mutualaid_disease_cohorts.incidence`)."""
    for cohort in COHORTS:
        register(cohort.key, incidence_table)
