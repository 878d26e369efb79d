"""The [settings] table of the three cohorts: defaults from the domain notes, the example pool
files, and every validation error as an operator meets it (file, key, what is wrong)."""

from __future__ import annotations

from decimal import Decimal

import pydantic
import pytest

from mutualaid import AgeBandBenefit, ConfigError, ReimbursementBenefit, TenureRampBenefit
from mutualaid.config import load_pool_file
from mutualaid_disease_cohorts import (
    CRITICAL_ILLNESSES,
    CancerPatientsSettings,
    CriticalIllnessSettings,
    DiseaseSocietySettings,
    RefundCases,
)


def error_text(model, **values) -> str:
    with pytest.raises(pydantic.ValidationError) as info:
        model(**values)
    return str(info.value)


# -- defaults ---------------------------------------------------------------------------------------


def test_critical_illness_defaults_are_xianghubao():
    s = CriticalIllnessSettings()
    assert (s.min_age, s.max_age) == ("30 days", 59)
    assert (s.waiting_days, s.older_waiting_days) == (90, None)
    assert s.waiting_days_for(25) == s.waiting_days_for(55) == 90
    assert s.covered_illnesses == tuple(CRITICAL_ILLNESSES) and len(s.covered_illnesses) == 28
    assert s.accidents_covered_in_waiting_period and s.once_per_member
    assert isinstance(s.benefit, AgeBandBenefit)
    assert [(b.min_age, b.max_age, b.amount) for b in s.benefit.bands] == [
        (0, 39, Decimal("300000")),
        (40, 59, Decimal("100000")),
    ]
    assert [q.key for q in s.health_questions] == [
        "serious_illness",
        "recent_hospital_stay",
        "abnormal_results",
        "congenital_condition",
        "chronic_condition",
        "smoker",
    ]
    assert [q.key for q in s.health_questions if not q.excludes] == ["chronic_condition", "smoker"]
    assert s.refund_cases == RefundCases()


def test_refund_cases_default_to_refund_in_all_six_cases():
    cases = RefundCases()
    assert [cases.action(c) for c in RefundCases.model_fields if c != "late_report_months"] == ["refund"] * 6
    assert cases.late_report_months == 6


def test_cancer_patients_defaults_are_kangai():
    s = CancerPatientsSettings()
    assert s.disease_codes == ("C00-C97",)
    assert s.claim_list.matches("C34.1") and not s.claim_list.matches("D05")
    assert (s.min_age, s.max_age) == ("30 days", 44)
    assert (s.waiting_days, s.older_waiting_days, s.older_from_age) == (180, 365, 40)
    assert s.waiting_days_for(39) == 180 and s.waiting_days_for(40) == 365
    assert isinstance(s.benefit, TenureRampBenefit)
    assert s.benefit.steps == ("1/3", "2/3", "1") and s.benefit.counted_from == "end-of-waiting"
    inner = s.benefit.benefit
    assert isinstance(inner, ReimbursementBenefit)
    assert (inner.deductible, inner.copay_rate, inner.cap, inner.member_maximum) == (
        Decimal("10000"),
        Decimal("0"),
        Decimal("100000"),
        None,
    )
    assert s.event_keys() == ["recurrence", "metastasis", "new_primary"]
    assert (s.disease_title("en"), s.disease_title("zh-CN")) == ("cancer", "癌症")


def test_a_disease_society_needs_its_codes():
    assert "disease_codes\n  Field required" in error_text(DiseaseSocietySettings)
    s = DiseaseSocietySettings(disease_codes=["k70-k77", "B18.1"])
    assert s.disease_codes == ("K70-K77", "B18.1")
    assert s.claim_codes == () and str(s.claim_list) == "K70-K77, B18.1"
    assert s.event_keys() == ["progression", "recurrence", "complication"]
    assert s.disease_title("en") == "a disease of ICD-10 K70-K77, B18.1"
    assert s.disease_title("zh-CN") == "ICD-10 K70-K77, B18.1 所列疾病"


def test_every_setting_is_described_for_the_operator():
    for model in (CriticalIllnessSettings, CancerPatientsSettings, DiseaseSocietySettings, RefundCases):
        for name, field in model.model_fields.items():
            assert field.description and len(field.description) > 25, f"{model.__name__}.{name}"


def test_settings_are_frozen():
    with pytest.raises(pydantic.ValidationError):
        CriticalIllnessSettings().max_age = 60  # type: ignore[misc]


# -- the example files -----------------------------------------------------------------------------


def test_the_critical_illness_example_writes_out_the_defaults(plugins, examples):
    pool = load_pool_file(examples / "critical-illness.toml", plugins)
    assert pool.config.cohort == "critical-illness"
    assert pool.settings == CriticalIllnessSettings()


def test_the_cancer_example_writes_out_the_defaults(plugins, examples):
    pool = load_pool_file(examples / "cancer-patients.toml", plugins)
    assert pool.config.cohort == "cancer-patients"
    assert pool.settings == CancerPatientsSettings()


def test_the_liver_example(plugins, examples):
    pool = load_pool_file(examples / "liver-patients.toml", plugins)
    s = pool.settings
    assert isinstance(s, DiseaseSocietySettings)
    assert pool.config.cohort == "disease-society" and pool.config.key == "liver-friends"
    assert s.disease_codes == ("B18", "K70-K77")
    assert s.claim_list.matches("C22.0") and not s.disease_list.matches("C22.0")
    assert (s.min_age, s.max_age, s.waiting_days_for(39), s.waiting_days_for(40)) == ("18 years", 55, 180, 365)
    inner = s.benefit.benefit  # type: ignore[union-attr]
    assert (inner.deductible, inner.copay_rate, inner.cap, inner.member_maximum) == (
        Decimal("5000"),
        Decimal("0.1"),
        Decimal("50000"),
        Decimal("150000"),
    )
    assert s.refund_cases.late_report == "deny" and s.refund_cases.former_member == "refund"
    assert [q.key for q in s.health_questions] == [
        "heavy_drinking",
        "advanced_disease",
        "transplant_list",
        "antiviral_treatment",
    ]


# -- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"min_age": "5 weeks"}, "must be an age such as 18 (years) or \"30 days\", not '5 weeks'"),
        ({"min_age": 101}, "must be at most 100 years (101 given)"),
        ({"min_age": "4000 days"}, "must be at most 3660 days (4000 given)"),
        ({"min_age": 30, "max_age": 25}, "min_age 30 years is above max_age 25"),
        ({"max_age": 101}, "less than or equal to 100"),
        ({"waiting_days": -1}, "greater than or equal to 0"),
        ({"covered_illnesses": ["cancer"]}, "unknown illness 'cancer'; the standard illnesses are malignant_tumour"),
        (
            {"covered_illnesses": [], "extra_illnesses": []},
            "covered_illnesses and extra_illnesses are both empty: the society would cover nothing",
        ),
        (
            {"extra_illnesses": [{"key": "malignant_tumour", "title_en": "Cancer", "title_zh": "癌症"}]},
            "'malignant_tumour' is already a standard illness; list it in covered_illnesses instead",
        ),
        (
            {"health_questions": [{"key": "Smoker", "text_en": "Do you smoke?", "text_zh": "吸烟？"}]},
            "'Smoker' is not a key; use lower-case letters, digits and '_'",
        ),
        (
            {
                "health_questions": [
                    {"key": "smoker", "text_en": "Do you smoke?", "text_zh": "吸烟？"},
                    {"key": "smoker", "text_en": "Do you smoke a lot?", "text_zh": "大量吸烟？"},
                ]
            },
            "question keys must be unique; repeated: smoker",
        ),
        ({"refund_cases": {"diagnosed_in_waiting_period": "off"}}, 'cannot be "off": such a claim is never paid'),
        ({"refund_cases": {"late_report": "maybe"}}, "Input should be 'refund', 'deny' or 'off'"),
        ({"refund_cases": {"late_report_months": 0}}, "greater than or equal to 1"),
        ({"benefit": {"kind": "lump-sum", "amount": 1}}, "must be a table whose kind is one of"),
        ({"benefit": {"kind": "fixed", "amount": 300000.0}}, "floats cannot hold amounts exactly"),
        ({"death_benefit": 1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_critical_illness_settings(values, message):
    assert message in error_text(CriticalIllnessSettings, **values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"disease_codes": ["K7"]}, "'K7' is not an ICD-10 code or range"),
        ({"disease_codes": []}, "must list at least one ICD-10 code or range"),
        ({"disease_codes": ["K70"], "claim_codes": ["K77-K70"]}, "the range 'K77-K70' runs backwards"),
        ({"disease_codes": ["K70"], "covered_events": ["metastasis"]}, "unknown event kind 'metastasis'"),
        ({"disease_codes": ["K70"], "covered_events": []}, "must list at least one kind of event"),
    ],
)
def test_bad_disease_society_settings(values, message):
    assert message in error_text(DiseaseSocietySettings, **values)


def test_refund_switches_accept_true_and_false():
    cases = RefundCases(late_report=False, former_member=True, hereditary_or_congenital="off")
    assert (cases.late_report, cases.former_member, cases.hereditary_or_congenital) == ("deny", "refund", "off")


@pytest.mark.parametrize(
    ("example", "old", "new", "message"),
    [
        (
            "liver-patients",
            'disease_codes = ["B18", "K70-K77"]',
            'disease_codes = ["B18", "K7"]',
            "settings.disease_codes: 'K7' is not an ICD-10 code or range; write a letter and two digits, optionally "
            "a dot and more digits (B18, B18.1), or a range of two such codes (K70-K77)",
        ),
        (
            "liver-patients",
            'copay_rate = "10%"',
            'copay_rate = "110%"',
            "settings.benefit.tenure-ramp.benefit.reimbursement.copay_rate: must be a fraction from 0 to 1 (1.1 given)",
        ),
        (
            "liver-patients",
            'late_report = "deny"',
            'diagnosed_while_frozen = "off"',
            'settings.refund_cases.diagnosed_while_frozen: cannot be "off": such a claim is never paid; choose '
            '"refund" or "deny"',
        ),
        (
            "critical-illness",
            "{ min_age = 40, max_age = 59, amount = 100000 }",
            "{ min_age = 45, max_age = 59, amount = 100000 }",
            "settings.benefit.age-band: band 2 starts at age 45 but band 1 ends at age 39",
        ),
        (
            "cancer-patients",
            'steps = ["1/3", "2/3", "1"]',
            'steps = ["1/3", "2/3", "3/2"]',
            "settings.benefit.tenure-ramp.steps: a step must be above 0 and at most 1 (the full benefit), not '3/2'",
        ),
        (
            "cancer-patients",
            "waiting_days = 180",
            "waiting_dayz = 180",
            "settings.waiting_dayz: unknown key (check its spelling; 'mutualaid cohorts show cancer-patients' lists "
            "the settings)",
        ),
    ],
)
def test_a_bad_pool_file_names_the_file_and_the_key(plugins, pool_file, example, old, new, message):
    path = pool_file(example, {old: new})
    with pytest.raises(ConfigError) as info:
        load_pool_file(path, plugins)
    assert f"{path}: {message}" in str(info.value)
