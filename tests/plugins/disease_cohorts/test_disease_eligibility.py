"""Who may join each society: ages at their edges, the health declaration, the diagnosis of a
patients' society; and the waiting (observation) period each member gets. Members join on
2026-01-10."""

from __future__ import annotations

from datetime import date

import pytest

from mutualaid_disease_cohorts import (
    CancerPatientsSettings,
    CriticalIllnessSettings,
    DiseaseSocietySettings,
    HealthyMemberAttributes,
)

LIVER = DiseaseSocietySettings(
    disease_codes=["B18", "K70-K77"], disease_title_en="chronic liver disease", disease_title_zh="慢性肝病"
)


def problems(cohort, applicant, settings=None):
    return cohort.rules.eligibility_problems(applicant, settings or cohort.default_settings())


# -- critical illness ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "expected"),
    [
        (date(2025, 12, 11), []),  # 30 days old on the joining day
        (date(2025, 12, 12), ["age 29 days on the joining day 2026-01-10 is below the minimum of 30 days"]),
        (date(1966, 1, 11), []),  # 59, turning 60 the next day
        (date(1966, 1, 10), ["age 60 on the joining day 2026-01-10 is above the maximum of 59"]),
        (date(1986, 1, 10), []),
    ],
)
def test_critical_illness_ages(critical, make_applicant, make_healthy, born, expected):
    assert problems(critical, make_applicant(make_healthy(), birth_date=born)) == expected


def test_a_minimum_age_in_years(critical, make_applicant, make_healthy):
    settings = CriticalIllnessSettings(min_age=18)
    assert problems(critical, make_applicant(make_healthy(), birth_date=date(2008, 1, 10)), settings) == []
    assert problems(critical, make_applicant(make_healthy(), birth_date=date(2008, 1, 11)), settings) == [
        "age 17 on the joining day 2026-01-10 is below the minimum of 18"
    ]


def test_a_yes_that_is_only_kept_does_not_exclude(critical, make_applicant, make_healthy):
    attributes = make_healthy(declared_yes="smoker, chronic_condition")
    assert attributes.declared_yes == ["smoker", "chronic_condition"]
    assert problems(critical, make_applicant(attributes)) == []


def test_a_yes_that_excludes_refuses_with_the_question(critical, make_applicant, make_healthy):
    assert problems(critical, make_applicant(make_healthy(declared_yes=["smoker", "abnormal_results"]))) == [
        "health declaration: the answer to \u201cDo you have abnormal test results not yet cleared, such as a "
        "nodule, a mass or raised tumour markers?\u201d (abnormal_results) is yes, which excludes joining this society"
    ]


def test_the_declaration_must_be_confirmed(critical, make_applicant, make_healthy):
    assert problems(critical, make_applicant(make_healthy(declaration_confirmed=False))) == [
        "the health declaration is not confirmed: answer every question, list the keys answered yes in "
        "declared_yes (the questions are serious_illness, recent_hospital_stay, abnormal_results, "
        "congenital_condition, chronic_condition, smoker) and give declaration_confirmed=true"
    ]


def test_an_unknown_question_key_is_refused(critical, make_applicant, make_healthy):
    assert problems(critical, make_applicant(make_healthy(declared_yes=["diabetes"]))) == [
        "health declaration: 'diabetes' is not a question of this society; its questions are serious_illness, "
        "recent_hospital_stay, abnormal_results, congenital_condition, chronic_condition, smoker"
    ]


def test_every_problem_is_listed_at_once(critical, make_applicant, make_healthy):
    attributes = make_healthy(declared_yes=["serious_illness", "congenital_condition"], declaration_confirmed=False)
    found = problems(critical, make_applicant(attributes, birth_date=date(1950, 1, 1)))
    assert len(found) == 4
    assert found[0].startswith("age 76 on the joining day")
    assert "(serious_illness) is yes" in found[1] and "(congenital_condition) is yes" in found[2]
    assert found[3].startswith("the health declaration is not confirmed")


def test_a_society_without_questions_needs_no_confirmation(critical, make_applicant):
    settings = CriticalIllnessSettings(health_questions=[])
    assert problems(critical, make_applicant(HealthyMemberAttributes()), settings) == []


def test_declaration_answers_from_text(critical):
    from mutualaid.fields import validate_fields

    attributes, errors = validate_fields(
        critical.member_model, {"declared_yes": "Smoker,,chronic_condition ", "declaration_confirmed": "yes"}
    )
    assert errors == []
    assert attributes.declared_yes == ["smoker", "chronic_condition"] and attributes.declaration_confirmed is True
    _, errors = validate_fields(critical.member_model, {"declared_yes": "smokes a lot"})
    assert errors == [
        "declared_yes: 'smokes a lot' is not a key; health question keys are lower-case letters, digits and '_', "
        "e.g. 'smoker'"
    ]


@pytest.mark.parametrize(
    ("born", "settings", "days"),
    [
        (date(1990, 6, 1), CriticalIllnessSettings(), 90),
        (date(1960, 6, 1), CriticalIllnessSettings(), 90),
        (date(1986, 1, 11), CriticalIllnessSettings(waiting_days=90, older_waiting_days=180), 90),  # 39
        (date(1986, 1, 10), CriticalIllnessSettings(waiting_days=90, older_waiting_days=180), 180),  # 40 that day
    ],
)
def test_critical_illness_waiting_period(critical, make_applicant, make_healthy, born, settings, days):
    applicant = make_applicant(make_healthy(), birth_date=born)
    assert critical.rules.waiting_period_days(applicant, settings) == days


# -- patients' societies ---------------------------------------------------------------------------


def test_a_cancer_patient_may_join(cancer, make_applicant, make_patient):
    assert problems(cancer, make_applicant(make_patient())) == []


@pytest.mark.parametrize(
    ("born", "expected"),
    [
        (date(1981, 1, 11), []),  # 44: "under 45"
        (date(1981, 1, 10), ["age 45 on the joining day 2026-01-10 is above the maximum of 44"]),
    ],
)
def test_cancer_society_ages(cancer, make_applicant, make_patient, born, expected):
    assert problems(cancer, make_applicant(make_patient(), birth_date=born)) == expected


def test_only_people_with_the_societys_disease_join(cancer, make_applicant, make_patient):
    # D05 is a carcinoma in situ, not a malignant neoplasm of C00-C97.
    assert problems(cancer, make_applicant(make_patient(diagnosis_code="D05.1"))) == [
        "diagnosis D05.1 is not cancer (ICD-10 C00-C97); only people with a confirmed diagnosis of the "
        "society's disease may join"
    ]


def test_the_diagnosis_must_be_confirmed_before_joining(cancer, make_applicant, make_patient):
    assert problems(cancer, make_applicant(make_patient(diagnosed_on="2026-01-10"))) == []
    assert problems(cancer, make_applicant(make_patient(diagnosed_on="2026-01-11"))) == [
        "the diagnosis date 2026-01-11 is after the joining day 2026-01-10; only people whose diagnosis is "
        "already confirmed may join"
    ]


def test_a_diagnosis_before_birth_is_a_typo(cancer, make_applicant, make_patient):
    assert problems(cancer, make_applicant(make_patient(diagnosed_on="1990-05-31"))) == [
        "the diagnosis date 1990-05-31 is before the birth date 1990-06-01; check diagnosed_on"
    ]


def test_a_patients_declaration(cancer, make_applicant, make_patient):
    assert problems(cancer, make_applicant(make_patient(declared_yes=["chronic_condition"]))) == []
    found = problems(cancer, make_applicant(make_patient(declared_yes=["recurred_or_spread"])))
    assert found == [
        "health declaration: the answer to \u201cHas the disease already come back or spread since it was first "
        "treated?\u201d (recurred_or_spread) is yes, which excludes joining this society"
    ]


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("B18.1", True),
        ("b181", True),
        ("K74.6", True),
        ("K70", True),
        ("K77.8", True),
        ("C22.0", False),
        ("B19", False),
    ],
)
def test_a_liver_society_by_its_codes(society, make_applicant, make_patient, code, ok):
    found = problems(society, make_applicant(make_patient(diagnosis_code=code, declared_yes=["smoker"])), LIVER)
    if ok:
        assert found == []
    else:
        normal = code.upper()
        assert found == [
            f"diagnosis {normal} is not chronic liver disease (ICD-10 B18, K70-K77); only people with a confirmed "
            "diagnosis of the society's disease may join"
        ]


def test_patient_attributes_are_required(cancer):
    from mutualaid.fields import validate_fields

    _, errors = validate_fields(cancer.member_model, {"declaration_confirmed": "true"})
    assert errors == ["diagnosis_code: is required", "diagnosed_on: is required"]
    _, errors = validate_fields(cancer.member_model, {"diagnosis_code": "breast", "diagnosed_on": "2024-05-01"})
    assert errors == [
        "diagnosis_code: 'breast' is not an ICD-10 code; write a letter and two digits, optionally a dot and more "
        "digits (B18, B18.1)"
    ]


@pytest.mark.parametrize(
    ("born", "days"),
    [
        (date(1990, 6, 1), 180),  # 35: half a year
        (date(1986, 1, 11), 180),  # 39, the day before turning 40
        (date(1986, 1, 10), 365),  # 40 on the joining day: a year
        (date(1982, 6, 1), 365),
    ],
)
def test_observation_period_by_age_at_joining(cancer, make_applicant, make_patient, born, days):
    applicant = make_applicant(make_patient(), birth_date=born)
    assert cancer.rules.waiting_period_days(applicant, CancerPatientsSettings()) == days
