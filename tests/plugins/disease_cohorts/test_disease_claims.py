"""What a claim to a disease society is worth, to the fen, and when its refusal refunds the member.

Members join on 2026-01-10. The critical-illness member (born 1990-06-01) waits 90 days, until
2026-04-10; the patients wait 180 days, until 2026-07-09, so their first year of membership runs
from 2026-07-10 to 2027-07-09.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from mutualaid import BenefitDecision, EarlierMembership
from mutualaid_disease_cohorts import (
    CancerPatientsSettings,
    CriticalIllnessClaim,
    CriticalIllnessSettings,
    DiseaseSocietySettings,
)

D = Decimal
CI = "critical_illness"
TUMOUR = {"illness": "malignant_tumour", "diagnosis_code": "C34.1"}
LAST_WAITING_DAY = date(2026, 4, 10)
COVERED = date(2026, 6, 1)  # the member turns 36 that day
REFUND_WAITING = (
    "rejecting the claim refunds the member's contributions to this pool (refund case: diagnosed_in_waiting_period)"
)


ENDS_WAITING = "an illness diagnosed in the waiting period ends the membership"


def decide(cohort, claim, settings=None) -> BenefitDecision:
    return cohort.rules.decide_benefit(claim, settings or cohort.default_settings())


def assert_paid(decision: BenefitDecision, amount: str) -> None:
    assert decision.payable, decision.reasons
    assert decision.amount == D(amount)
    assert not decision.refund_contributions


def assert_refused(decision: BenefitDecision, *, refund: bool, ends: bool = False) -> None:
    assert not decision.payable
    assert decision.amount == D(0)
    assert decision.refund_contributions is refund
    assert decision.ends_membership is ends
    if ends:  # an illness in the waiting period ends the membership, as an exit (not a death)
        assert decision.ends_as == "exited"
        assert decision.reasons[-1] == ENDS_WAITING


# -- critical illness: the benefit -----------------------------------------------------------------


def test_a_covered_illness_pays_the_age_band_lump_sum(critical, make_claim):
    decision = decide(critical, make_claim(CI, COVERED, TUMOUR))
    assert_paid(decision, "300000.00")
    assert decision.cap == D("300000.00")
    assert decision.reasons == (
        "severe malignant tumour (C34.1) diagnosed on 2026-06-01, an illness this society covers",
        "age 36 at the event on 2026-06-01: the benefit for ages 0 to 39 is 300,000.00 CNY",
    )


@pytest.mark.parametrize(
    ("born", "amount"),
    [
        (date(1986, 6, 2), "300000.00"),  # 39 at the diagnosis on 2026-06-01
        (date(1986, 6, 1), "100000.00"),  # 40 that day
        (date(1966, 6, 2), "100000.00"),  # 59
    ],
)
def test_the_age_at_diagnosis_decides_the_band(critical, make_claim, born, amount):
    assert_paid(decide(critical, make_claim(CI, COVERED, TUMOUR, birth_date=born)), amount)


def test_no_benefit_from_sixty(critical, make_claim):
    decision = decide(critical, make_claim(CI, COVERED, TUMOUR, birth_date=date(1966, 6, 1)))
    assert_refused(decision, refund=False)
    assert decision.reasons[-1] == (
        "age 60 at the event on 2026-06-01 is in none of the pool's age bands (ages 0 to 39, ages 40 to 59), so no "
        "benefit is paid"
    )


def test_another_benefit_model_from_the_settings(critical, make_claim):
    settings = CriticalIllnessSettings(benefit={"kind": "fixed", "amount": "150000"})
    assert_paid(decide(critical, make_claim(CI, COVERED, TUMOUR), settings), "150000.00")


def test_an_illness_the_society_does_not_cover(critical, make_claim):
    settings = CriticalIllnessSettings(covered_illnesses=["malignant_tumour", "acute_myocardial_infarction"])
    decision = decide(critical, make_claim(CI, COVERED, {"illness": "deep_coma"}), settings)
    assert_refused(decision, refund=False)
    assert decision.reasons == (
        "illness 'deep_coma' is not covered by this society; covered: malignant_tumour, acute_myocardial_infarction",
    )


def test_an_extra_illness_is_covered(critical, make_claim):
    settings = CriticalIllnessSettings(
        extra_illnesses=[{"key": "sepsis", "title_en": "severe sepsis", "title_zh": "严重脓毒症"}]
    )
    decision = decide(critical, make_claim(CI, COVERED, {"illness": "sepsis"}), settings)
    assert_paid(decision, "300000.00")
    assert decision.reasons[0] == "severe sepsis diagnosed on 2026-06-01, an illness this society covers"


def test_one_critical_illness_per_member(critical, make_claim):
    decision = decide(critical, make_claim(CI, COVERED, TUMOUR, prior=(D("300000"),)))
    assert_refused(decision, refund=False)
    assert decision.reasons == (
        "the member was already paid for a critical illness (claim #1 of 2026-07-29); this society pays once per "
        "member",
    )
    paid_again = decide(
        critical, make_claim(CI, COVERED, TUMOUR, prior=(D("300000"),)), CriticalIllnessSettings(once_per_member=False)
    )
    assert_paid(paid_again, "300000.00")


def test_an_event_kind_of_another_cohort(critical, make_claim):
    decision = decide(critical, make_claim("recurrence", COVERED, CriticalIllnessClaim(**TUMOUR)))
    assert_refused(decision, refund=False)
    assert (
        decision.reasons[0] == "event kind 'recurrence' is not covered by this society; covered kinds: critical_illness"
    )


# -- critical illness: the waiting period ----------------------------------------------------------


def test_the_last_day_of_the_waiting_period_is_refused_with_a_refund(critical, make_claim):
    decision = decide(critical, make_claim(CI, LAST_WAITING_DAY, TUMOUR))
    assert_refused(decision, refund=True, ends=True)
    assert decision.reasons == (
        "diagnosed on 2026-04-10, inside the waiting (observation) period that ends on 2026-04-10",
        REFUND_WAITING,
        ENDS_WAITING,
    )


def test_the_day_after_the_waiting_period_is_covered(critical, make_claim):
    assert_paid(decide(critical, make_claim(CI, date(2026, 4, 11), TUMOUR)), "300000.00")


def test_the_joining_day_is_not_covered(critical, make_claim):
    decision = decide(critical, make_claim(CI, date(2026, 1, 10), {**TUMOUR, "caused_by_accident": True}))
    assert_refused(decision, refund=True, ends=True)
    assert decision.reasons[0] == "diagnosed on 2026-01-10, the joining day, before cover started on 2026-01-11"


def test_an_illness_caused_by_an_accident_is_covered_inside_the_waiting_period(critical, make_claim):
    accident = {"illness": "severe_head_injury", "caused_by_accident": True}
    decision = decide(critical, make_claim(CI, date(2026, 1, 11), accident))
    assert_paid(decision, "300000.00")
    assert decision.reasons[:2] == (
        "severe head injury diagnosed on 2026-01-11, an illness this society covers",
        "caused by an accident, so covered inside the waiting period that ends on 2026-04-10",
    )
    strict = CriticalIllnessSettings(accidents_covered_in_waiting_period=False)
    assert_refused(decide(critical, make_claim(CI, date(2026, 1, 11), accident), strict), refund=True, ends=True)


def test_a_waiting_period_of_180_days(critical, make_claim):
    settings = CriticalIllnessSettings(waiting_days=180)
    assert_refused(
        decide(critical, make_claim(CI, date(2026, 7, 9), TUMOUR, waiting_days=180), settings), refund=True, ends=True
    )
    assert_paid(decide(critical, make_claim(CI, date(2026, 7, 10), TUMOUR, waiting_days=180), settings), "300000.00")


# -- the six refund cases ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filed", "late"),
    [(date(2026, 12, 1), False), (date(2026, 12, 2), True)],  # six months after 2026-06-01, then a day later
)
def test_a_late_report(critical, make_claim, filed, late):
    decision = decide(critical, make_claim(CI, COVERED, TUMOUR, filed_on=filed))
    if not late:
        assert_paid(decision, "300000.00")
        return
    assert_refused(decision, refund=True)
    assert decision.reasons == (
        "reported on 2026-12-02, more than 6 months after the diagnosis on 2026-06-01 (the last day to report it "
        "was 2026-12-01)",
        "rejecting the claim refunds the member's contributions to this pool (refund case: late_report)",
    )


def test_the_late_report_deadline_at_a_month_end(critical, make_claim):
    diagnosed = date(2026, 8, 31)
    assert_paid(decide(critical, make_claim(CI, diagnosed, TUMOUR, filed_on=date(2027, 2, 28))), "300000.00")
    assert_refused(decide(critical, make_claim(CI, diagnosed, TUMOUR, filed_on=date(2027, 3, 1))), refund=True)


def test_the_late_report_months_setting(critical, make_claim):
    settings = CriticalIllnessSettings(refund_cases={"late_report_months": 3})
    assert_refused(decide(critical, make_claim(CI, COVERED, TUMOUR, filed_on=date(2026, 9, 2)), settings), refund=True)
    off = CriticalIllnessSettings(refund_cases={"late_report": "off"})
    assert_paid(decide(critical, make_claim(CI, COVERED, TUMOUR, filed_on=date(2029, 1, 1)), off), "300000.00")


@pytest.mark.parametrize(
    ("spans", "frozen"),
    [
        (((date(2026, 5, 1), date(2026, 6, 1)),), True),  # the last frozen day
        (((date(2026, 6, 1), None),), True),  # still frozen
        (((date(2026, 5, 1), date(2026, 5, 31)),), False),  # thawed the day before
        (((date(2026, 6, 2), None),), False),  # frozen from the day after
    ],
)
def test_diagnosed_while_frozen(critical, make_claim, spans, frozen):
    decision = decide(critical, make_claim(CI, COVERED, TUMOUR, frozen=spans))
    if not frozen:
        assert_paid(decision, "300000.00")
        return
    assert_refused(decision, refund=True)
    assert decision.reasons[0] == "diagnosed on 2026-06-01, while the member's rights were suspended (frozen)"


def test_hereditary_or_congenital(critical, make_claim):
    details = {**TUMOUR, "hereditary_or_congenital": True}
    decision = decide(critical, make_claim(CI, COVERED, details))
    assert_refused(decision, refund=True)
    assert decision.reasons == (
        "the investigation found the condition hereditary or congenital",
        "rejecting the claim refunds the member's contributions to this pool (refund case: hereditary_or_congenital)",
    )
    deny = CriticalIllnessSettings(refund_cases={"hereditary_or_congenital": "deny"})
    without = decide(critical, make_claim(CI, COVERED, details), deny)
    assert_refused(without, refund=False)
    assert without.reasons[-1] == "no refund: this pool refunds in none of these cases"
    off = CriticalIllnessSettings(refund_cases={"hereditary_or_congenital": "off"})
    assert_paid(decide(critical, make_claim(CI, COVERED, details), off), "300000.00")


def test_a_former_member_who_joined_again(critical, make_claim):
    earlier = (EarlierMembership(member_id=3, joined_on=date(2023, 3, 1), ended_on=date(2025, 2, 14), status="exited"),)
    decision = decide(critical, make_claim(CI, COVERED, TUMOUR, earlier=earlier))
    assert_refused(decision, refund=True)
    assert decision.reasons[0] == (
        "the member was a member of this society before (member #3, joined 2023-03-01, exited on 2025-02-14) and "
        "joined again on 2026-01-10"
    )
    off = CriticalIllnessSettings(refund_cases={"former_member": "off"})
    assert_paid(decide(critical, make_claim(CI, COVERED, TUMOUR, earlier=earlier), off), "300000.00")


# -- the health declaration at review ------------------------------------------------------------------


def test_an_undeclared_condition_is_non_disclosure(critical, make_claim, make_healthy):
    details = {**TUMOUR, "pre_existing_conditions": "abnormal_results"}
    decision = decide(critical, make_claim(CI, COVERED, details, attributes=make_healthy(declared_yes=["smoker"])))
    assert_refused(decision, refund=True)
    assert decision.reasons == (
        "non-disclosure: the investigation found the answer to \u201cDo you have abnormal test results not yet "
        "cleared, such as a nodule, a mass or raised tumour markers?\u201d (abnormal_results) was yes before the "
        "member joined on 2026-01-10, but the member did not declare it",
        "rejecting the claim refunds the member's contributions to this pool (refund case: failed_health_conditions)",
    )


def test_a_declared_condition_is_no_reason_to_refuse(critical, make_claim, make_healthy):
    details = {**TUMOUR, "pre_existing_conditions": ["smoker"]}
    decision = decide(critical, make_claim(CI, COVERED, details, attributes=make_healthy(declared_yes=["smoker"])))
    assert_paid(decision, "300000.00")
    assert decision.reasons[1] == (
        "the member declared \u201cDo you smoke?\u201d (smoker) when joining, so it is no reason to refuse the claim"
    )
    # The same finding for a member who answered no is non-disclosure.
    refused = decide(critical, make_claim(CI, COVERED, details, attributes=make_healthy()))
    assert_refused(refused, refund=True)


def test_a_finding_that_is_not_a_question_is_refused_without_a_refund(critical, make_claim):
    decision = decide(critical, make_claim(CI, COVERED, {**TUMOUR, "pre_existing_conditions": ["asthma"]}))
    assert_refused(decision, refund=False)
    assert decision.reasons == (
        "pre_existing_conditions: 'asthma' is not a question of this society's health declaration (its questions: "
        "serious_illness, recent_hospital_stay, abnormal_results, congenital_condition, chronic_condition, smoker)",
    )


# -- when a refusal refunds --------------------------------------------------------------------------


def test_every_reason_is_listed_and_the_refund_names_every_case(critical, make_claim):
    earlier = (EarlierMembership(member_id=3, joined_on=date(2023, 3, 1), ended_on=None, status="exited"),)
    details = {**TUMOUR, "hereditary_or_congenital": True}
    decision = decide(critical, make_claim(CI, date(2026, 2, 1), details, filed_on=date(2026, 9, 1), earlier=earlier))
    assert_refused(decision, refund=True, ends=True)
    assert len(decision.reasons) == 6
    assert decision.reasons[-1] == ENDS_WAITING
    assert decision.reasons[-2] == (
        "rejecting the claim refunds the member's contributions to this pool (refund case: late_report, "
        "diagnosed_in_waiting_period, hereditary_or_congenital, former_member)"
    )


def test_a_claim_that_fails_for_another_reason_too_refunds_nothing(critical, make_claim):
    decision = decide(critical, make_claim(CI, LAST_WAITING_DAY, {"illness": "common_cold"}))
    assert_refused(decision, refund=False)
    assert decision.reasons == (
        "illness 'common_cold' is not covered by this society; covered: "
        + ", ".join(CriticalIllnessSettings().covered_illnesses),
        "diagnosed on 2026-04-10, inside the waiting (observation) period that ends on 2026-04-10",
    )


def test_a_refund_case_set_to_deny_and_one_set_to_refund(critical, make_claim):
    settings = CriticalIllnessSettings(refund_cases={"hereditary_or_congenital": "deny"})
    details = {**TUMOUR, "hereditary_or_congenital": True}
    decision = decide(critical, make_claim(CI, LAST_WAITING_DAY, details), settings)
    assert_refused(decision, refund=True, ends=True)
    assert decision.reasons[-2].endswith("(refund case: diagnosed_in_waiting_period)")


# -- patients' societies -------------------------------------------------------------------------------

YEAR_1 = date(2026, 7, 10)
RECURRENCE = {"diagnosis_code": "C50.9", "self_paid_costs": "45000"}


def patient_claim(make_claim, kind, when, details, **kwargs):
    return make_claim(kind, when, details, waiting_days=180, **kwargs)


@pytest.mark.parametrize(
    ("when", "amount", "cap"),
    [
        (date(2026, 7, 10), "11666.66", "33333.33"),  # year 1: 1/3 of 35,000, rounded down
        (date(2027, 7, 9), "11666.66", "33333.33"),  # the last day of year 1
        (date(2027, 7, 10), "23333.33", "66666.66"),  # year 2: 2/3
        (date(2028, 7, 9), "23333.33", "66666.66"),
        (date(2028, 7, 10), "35000.00", "100000.00"),  # year 3: in full
        (date(2035, 1, 1), "35000.00", "100000.00"),
    ],
)
def test_cancer_benefit_grows_with_tenure(cancer, make_claim, when, amount, cap):
    decision = decide(cancer, patient_claim(make_claim, "recurrence", when, RECURRENCE, filed_on=when))
    assert_paid(decision, amount)
    assert decision.cap == D(cap)


def test_cancer_decision_reasons(cancer, make_claim):
    decision = decide(cancer, patient_claim(make_claim, "metastasis", YEAR_1, RECURRENCE))
    assert decision.reasons == (
        "metastasis diagnosed on 2026-07-10 (C50.9), a disease of this society",
        "self-paid costs of 45,000.00 CNY less the deductible of 10,000.00 CNY: 35,000.00 CNY",
        "reimbursed: 35,000.00 CNY (within the cap of 100,000.00 CNY per claim)",
        "year 1 of membership (counted from 2026-07-10): 1/3 of the full benefit of 35,000.00 CNY is "
        "11,666.66 CNY (rounded down to the minor unit)",
    )


@pytest.mark.parametrize(
    ("costs", "amount"),
    [("9999.99", None), ("10000", None), ("10000.01", "0.01"), ("110000", "100000.00"), ("250000", "100000.00")],
)
def test_cancer_deductible_and_cap_in_year_three(cancer, make_claim, costs, amount):
    when = date(2028, 8, 1)
    details = {"diagnosis_code": "C50.9", "self_paid_costs": costs}
    decision = decide(cancer, patient_claim(make_claim, "new_primary", when, details))
    if amount is None:
        assert_refused(decision, refund=False)
        assert decision.reasons[1].startswith(f"self-paid costs of {D(costs):,.2f} CNY do not exceed the deductible")
    else:
        assert_paid(decision, amount)


def test_a_reimbursement_claim_without_costs(cancer, make_claim):
    decision = decide(cancer, patient_claim(make_claim, "recurrence", YEAR_1, {"diagnosis_code": "C50.9"}))
    assert_refused(decision, refund=False)
    assert decision.reasons[-2:] == (
        "no self-paid costs were given, so nothing can be reimbursed",
        "year 1 of membership (counted from 2026-07-10): 1/3 of the full benefit of 0.00 CNY is 0.00 CNY (rounded "
        "down to the minor unit)",
    )
    assert "give the self-paid costs as the claim detail self_paid_costs" in decision.reasons


def test_the_observation_period_of_a_patient(cancer, make_claim):
    last = date(2026, 7, 9)
    decision = decide(cancer, patient_claim(make_claim, "recurrence", last, RECURRENCE))
    assert_refused(decision, refund=True, ends=True)
    assert decision.reasons == (
        "diagnosed on 2026-07-09, inside the waiting (observation) period that ends on 2026-07-09",
        REFUND_WAITING,
        ENDS_WAITING,
    )
    assert_paid(decide(cancer, patient_claim(make_claim, "recurrence", YEAR_1, RECURRENCE)), "11666.66")


def test_a_year_of_observation_for_a_member_who_joined_at_forty(cancer, make_claim):
    older = {"birth_date": date(1985, 1, 1), "waiting_days": 365}
    assert_refused(
        decide(cancer, make_claim("recurrence", date(2027, 1, 10), RECURRENCE, **older)), refund=True, ends=True
    )
    decision = decide(cancer, make_claim("recurrence", date(2027, 1, 11), RECURRENCE, **older))
    assert_paid(decision, "11666.66")
    assert decision.reasons[-1].startswith("year 1 of membership (counted from 2027-01-11)")


def test_a_patient_claims_only_for_the_societys_disease(cancer, make_claim):
    details = {"diagnosis_code": "I21.0", "self_paid_costs": "45000"}
    decision = decide(cancer, patient_claim(make_claim, "new_primary", YEAR_1, details))
    assert_refused(decision, refund=False)
    assert decision.reasons == (
        "diagnosis I21.0 is not a disease of this society (ICD-10 C00-C97); members claim only for events of the "
        "society's disease",
    )
    # ... also inside the observation period: the claim was never one the society covers, so no refund.
    inside = decide(cancer, patient_claim(make_claim, "new_primary", date(2026, 3, 1), details))
    assert_refused(inside, refund=False)
    assert len(inside.reasons) == 2


def test_a_breast_cancer_society(cancer, make_claim):
    settings = CancerPatientsSettings(disease_codes=["C50"])
    assert_paid(decide(cancer, patient_claim(make_claim, "recurrence", YEAR_1, RECURRENCE), settings), "11666.66")
    lung = {"diagnosis_code": "C34.1", "self_paid_costs": "45000"}
    assert_refused(decide(cancer, patient_claim(make_claim, "new_primary", YEAR_1, lung), settings), refund=False)


def test_events_a_pool_does_not_cover(cancer, make_claim):
    settings = CancerPatientsSettings(covered_events=["recurrence", "metastasis"])
    decision = decide(cancer, patient_claim(make_claim, "new_primary", YEAR_1, RECURRENCE), settings)
    assert_refused(decision, refund=False)
    assert decision.reasons == (
        "event kind 'new_primary' is not covered by this society; covered kinds: recurrence, metastasis",
    )


def test_a_patients_non_disclosure(cancer, make_claim, make_patient):
    details = {**RECURRENCE, "pre_existing_conditions": "other_serious_illness"}
    decision = decide(cancer, patient_claim(make_claim, "recurrence", YEAR_1, details, attributes=make_patient()))
    assert_refused(decision, refund=True)
    assert decision.reasons[0].startswith(
        "non-disclosure: the investigation found the answer to \u201cDo you have another serious illness"
    )


LIVER = DiseaseSocietySettings(
    disease_codes=["B18", "K70-K77"],
    claim_codes=["B18", "K70-K77", "C22", "I85"],
    benefit={
        "kind": "tenure-ramp",
        "benefit": {
            "kind": "reimbursement",
            "deductible": 5000,
            "copay_rate": "10%",
            "cap": 50000,
            "member_maximum": 150000,
        },
    },
)


@pytest.mark.parametrize(
    ("code", "payable"), [("C22.0", True), ("I85.0", True), ("K74.6", True), ("B18.1", True), ("C50.9", False)]
)
def test_a_liver_society_claims_by_its_claim_codes(society, make_claim, make_patient, code, payable):
    claim = make_claim(
        "progression",
        date(2028, 8, 1),
        {"diagnosis_code": code, "self_paid_costs": "20000"},
        waiting_days=180,
        attributes=make_patient(diagnosis_code="B18.1"),
    )
    decision = decide(society, claim, LIVER)
    if payable:
        assert_paid(decision, "13500.00")  # (20,000 - 5,000) * 90%, in year 3
    else:
        assert_refused(decision, refund=False)


def test_a_liver_member_maximum_counts_earlier_benefits(society, make_claim, make_patient):
    claim = make_claim(
        "complication",
        date(2028, 8, 1),
        {"diagnosis_code": "I85.0", "self_paid_costs": "100000"},
        waiting_days=180,
        attributes=make_patient(diagnosis_code="K74.6"),
        prior=(D("50000"), D("80000")),
    )
    decision = decide(society, claim, LIVER)
    assert_paid(decision, "20000.00")
    assert decision.cap == D("20000.00")
