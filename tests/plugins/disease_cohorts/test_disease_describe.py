"""The rules in plain words (welcome notices): built from the settings, in English and Chinese."""

from __future__ import annotations

import pytest

from mutualaid_disease_cohorts import CancerPatientsSettings, CriticalIllnessSettings, DiseaseSocietySettings


def rules_of(cohort, settings=None, locale="en", currency="CNY"):
    return cohort.rules.describe_rules(settings or cohort.default_settings(), locale, currency)


def test_critical_illness_rules_in_english(critical):
    lines = rules_of(critical)
    assert lines[0] == (
        "Who may join: healthy people aged from 30 days to 59 years on the joining day (not yet 60) who pass the "
        "health declaration."
    )
    assert lines[1].startswith("Health declaration: applicants answer all 6 questions and confirm their answers. ")
    assert "keeps an applicant out: \u201cHave you ever been diagnosed with" in lines[1]
    assert lines[1].endswith(
        "These answers are only kept on record: \u201cAre you treated for high blood pressure, "
        "diabetes or another chronic condition?\u201d \u201cDo you smoke?\u201d"
    )
    assert lines[3] == (
        "Waiting period: 90 days, counted from the day after joining with its last day included; nothing "
        "diagnosed in the waiting period is covered."
    )
    assert (
        lines[4] == "An illness caused by an accident is covered from the day after joining, inside the waiting period."
    )
    assert lines[5].startswith("Covered illnesses (28): severe malignant tumour; severe acute myocardial infarction;")
    assert lines[6] == (
        "Benefit: a lump sum by age at the event: 300,000.00 CNY for ages 0 to 39, 100,000.00 CNY for ages 40 to "
        "59 (no benefit from age 60)."
    )
    assert lines[7:10] == [
        "A member is paid for one critical illness only.",
        "Report a diagnosis within 6 months; a later report is refused.",
        "Hereditary and congenital conditions are not covered.",
    ]
    assert lines[10].startswith("A member whose claim is refused in one of these cases gets back everything they")
    assert lines[10].endswith(
        "the condition is hereditary or congenital; or the member had been a member of this society before."
    )
    assert lines[11] == (
        "One membership per person: a person holds one membership of this society at a time; a former member may "
        "join again, but their claims are refused."
    )


def test_critical_illness_rules_in_chinese(critical):
    lines = rules_of(critical, locale="zh-CN")
    assert lines[0] == "加入条件：加入当日出生满 30 天、未满 60 周岁、身体健康并通过健康告知的人士。"
    assert lines[3] == "等待期：90 天，自加入次日起算（含最后一天）；等待期内确诊的不予互助。"
    assert lines[5].startswith("保障的重大疾病（28 种）：恶性肿瘤——重度、较重急性心肌梗死、")
    assert lines[6] == (
        "互助金：按事件发生时的年龄一次性给付：0 至 39 周岁 300,000.00 元，40 至 59 周岁 100,000.00 元（60 周岁及以上不予给付）。"
    )
    assert "因以下情形不予互助的，退还该会员在本互助社已分摊的全部费用：未如实健康告知" in lines[10]
    assert lines[-1] == "每人在本社同时只能持有一个会员资格；退出的会员可以重新加入，但其后的互助申请不予受理。"


def test_cancer_rules(cancer):
    en = rules_of(cancer)
    assert en[0] == (
        "Who may join: people with a confirmed diagnosis of cancer (ICD-10 C00-C97), aged from 30 days to 44 years "
        "on the joining day (not yet 45), who pass the health declaration."
    )
    assert en[3] == (
        "Observation period: 180 days for members who join under 40, 365 days for those who join at 40 or older, "
        "counted from the day after joining with its last day included; nothing diagnosed in the observation "
        "period is covered."
    )
    assert en[4] == (
        "Covered events: recurrence, metastasis, or new primary cancer, of the society's disease only: the "
        "diagnosis of a claim must be one of ICD-10 C00-C97."
    )
    assert en[5] == (
        "Benefit: self-paid costs above a deductible of 10,000.00 CNY are reimbursed, up to 100,000.00 CNY per "
        "claim; rights grow with membership: 1/3 of it in year 1, 2/3 of it in year 2 and the full benefit from "
        "year 3, years counted from the end of the observation (waiting) period (amounts rounded down to the minor "
        "unit)."
    )
    zh = rules_of(cancer, locale="zh-CN")
    assert zh[0] == "加入条件：已确诊癌症（ICD-10 C00-C97）、加入当日出生满 30 天、未满 45 周岁并通过健康告知的患者。"
    assert zh[3] == (
        "观察期：加入时未满 40 周岁的会员 180 天，40 周岁及以上的会员 365 天，自加入次日起算（含最后一天）；观察期内确诊的不予互助。"
    )
    assert zh[4] == "保障范围：本社疾病的复发、转移、新发原发癌；申请互助的诊断须属于 ICD-10 C00-C97。"


def test_a_liver_society_describes_its_own_settings(society):
    settings = DiseaseSocietySettings(
        disease_codes=["B18", "K70-K77"],
        claim_codes=["B18", "K70-K77", "C22"],
        disease_title_en="chronic liver disease",
        min_age=18,
        max_age=55,
        covered_events=["progression"],
        benefit={"kind": "fixed-plus-reimbursement", "maximum": 350000},
        refund_cases={"late_report": "deny", "late_report_months": 3, "hereditary_or_congenital": "off"},
        health_questions=[],
    )
    lines = rules_of(society, settings)
    assert lines == [
        "Who may join: people with a confirmed diagnosis of chronic liver disease (ICD-10 B18, K70-K77), aged from "
        "18 years to 55 years on the joining day (not yet 56), who pass the health declaration.",
        "The society asks no health questions.",
        "Observation period: 180 days for members who join under 40, 365 days for those who join at 40 or older, "
        "counted from the day after joining with its last day included; nothing diagnosed in the observation "
        "period is covered.",
        "Covered events: progression of the disease, of the society's disease only: the diagnosis of a claim must be "
        "one of ICD-10 B18, K70-K77, C22.",
        "Benefit: up to 350,000.00 CNY per member in all: 20% of it (70,000.00 CNY) is paid as a lump sum with the "
        "first claim, and self-paid costs are reimbursed, until the 350,000.00 CNY is used up.",
        "Report a diagnosis within 3 months; a later report is refused.",
        "A member whose claim is refused in one of these cases gets back everything they contributed to this pool: "
        "the member did not meet the health conditions (a condition that existed before joining was not declared); "
        "the diagnosis fell while the member's rights were frozen; the diagnosis fell in the waiting period; or the "
        "member had been a member of this society before.",
        "One membership per person: a person holds one membership of this society at a time; a former member may "
        "join again, but their claims are refused.",
    ]


def test_no_refunds_and_former_members_allowed(critical):
    settings = CriticalIllnessSettings(
        refund_cases={
            "failed_health_conditions": "deny",
            "late_report": "off",
            "diagnosed_while_frozen": "deny",
            "diagnosed_in_waiting_period": "deny",
            "hereditary_or_congenital": "deny",
            "former_member": "off",
        },
        waiting_days=90,
        older_waiting_days=180,
    )
    lines = rules_of(critical, settings)
    assert "A refused claim does not refund the member's contributions." in lines
    assert not any(line.startswith("Report a diagnosis") for line in lines)
    assert lines[-1] == (
        "One membership per person: a person holds one membership of this society at a time; a former member may "
        "join again."
    )
    assert lines[3].startswith("Waiting period: 90 days for members who join under 40, 180 days for those who join")
    zh = rules_of(critical, settings, "zh-CN")
    assert "不予互助的申请不退还已分摊的费用。" in zh
    assert zh[-1] == "每人在本社同时只能持有一个会员资格；退出的会员可以重新加入。"


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_rules_without_a_currency(cancer, locale):
    lines = cancer.rules.describe_rules(CancerPatientsSettings(), locale)
    benefit = next(line for line in lines if line.startswith(("Benefit", "互助金")))
    assert "10,000.00" in benefit and "CNY" not in benefit and "元" not in benefit


def test_another_currency(critical):
    lines = rules_of(critical, currency="HKD", locale="zh-CN")
    assert "300,000.00 HKD" in lines[6]
