"""What a truckers claim is worth: amounts to the fen, cover dates, exclusions and the combined cap.

The member joined on 2026-11-02: accidents are covered from 2026-11-03, and the 90-day illness
waiting period ends on 2027-01-31 (covered from 2027-02-01).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pydantic
import pytest

from mutualaid import BenefitDecision, NoFields
from mutualaid_truckers import TruckerAttributes, TruckerClaimDetails, TruckersSettings

DAY_AFTER_JOINING = date(2026, 11, 3)
LAST_WAITING_DAY = date(2027, 1, 31)
EVENT = date(2026, 12, 3)


def assert_denied(decision: BenefitDecision, reasons: list[str]) -> None:
    assert decision.payable is False
    assert decision.amount == Decimal(0)
    assert list(decision.reasons) == reasons


# -- accidental death --------------------------------------------------------------------------


def test_accidental_death_pays_300000_exactly(rules, settings, make_claim):
    decision = rules.decide_benefit(make_claim("accidental_death", EVENT), settings)
    assert decision.payable is True
    assert decision.amount == Decimal("300000.00")
    assert decision.amount.as_tuple().exponent == -2
    assert decision.cap == Decimal("300000.00")
    assert decision.ends_membership is True
    assert decision.reasons == (
        "accidental death on 2026-12-03: benefit 300,000.00 CNY (the pool's accidental death benefit)",
    )


def test_accidental_death_benefit_follows_the_settings(rules, make_claim):
    settings = TruckersSettings(accidental_death_benefit="150000.50", combined_cap=300000)
    decision = rules.decide_benefit(make_claim("accidental_death", EVENT), settings)
    assert decision.amount == Decimal("150000.50")


# -- accidental disability ---------------------------------------------------------------------

GRADES = [
    (1, 100, "300000.00"),
    (2, 90, "270000.00"),
    (3, 80, "240000.00"),
    (4, 70, "210000.00"),
    (5, 60, "180000.00"),
    (6, 50, "150000.00"),
    (7, 40, "120000.00"),
    (8, 30, "90000.00"),
    (9, 20, "60000.00"),
    (10, 10, "30000.00"),
]


@pytest.mark.parametrize(
    ("grade", "percent", "amount"),
    [pytest.param(g, p, a, id=f"grade-{g}-{p}pct-{a}") for g, p, a in GRADES],
)
def test_disability_grade_pays_its_share_of_the_base(rules, settings, make_claim, grade, percent, amount):
    decision = rules.decide_benefit(make_claim("accidental_disability", EVENT, grade=grade), settings)
    assert decision.payable is True
    assert decision.amount == Decimal(amount)
    assert decision.amount.as_tuple().exponent == -2
    assert decision.cap == Decimal("300000.00")
    assert decision.ends_membership is False
    shown = f"{Decimal(amount):,}"
    assert decision.reasons == (
        f"accidental disability of grade {grade} on 2026-12-03: benefit {shown} CNY ({percent}% of the pool's "
        f"disability benefit of 300,000.00 CNY for grade {grade})",
    )


@pytest.mark.parametrize(
    ("base", "grade", "amount"),
    [
        pytest.param("123456.78", 3, "98765.42", id="80pct-of-123456.78-rounds-down-98765.424"),
        pytest.param("123456.78", 7, "49382.71", id="40pct-of-123456.78-rounds-down-49382.712"),
        pytest.param("100.05", 2, "90.05", id="90pct-of-100.05-rounds-half-up-90.045"),
    ],
)
def test_disability_amount_is_rounded_half_up_to_the_fen(rules, make_claim, base, grade, amount):
    settings = TruckersSettings(disability_base_benefit=base)
    decision = rules.decide_benefit(make_claim("accidental_disability", EVENT, grade=grade), settings)
    assert decision.amount == Decimal(amount)


def test_disability_table_follows_the_settings(rules, make_claim):
    table = [100, 75, 75, 50, 50, 25, 25, 10, 5, 0]
    settings = TruckersSettings(disability_grade_percent=table)
    decision = rules.decide_benefit(make_claim("accidental_disability", EVENT, grade=2), settings)
    assert decision.amount == Decimal("225000.00")
    assert_denied(
        rules.decide_benefit(make_claim("accidental_disability", EVENT, grade=10), settings),
        [
            "the accidental disability on 2026-12-03 pays nothing under this pool's rules (0% of the pool's "
            "disability benefit of 300,000.00 CNY for grade 10 is 0)"
        ],
    )


def test_disability_grade_missing(rules, settings, make_claim):
    assert_denied(
        rules.decide_benefit(make_claim("accidental_disability", EVENT), settings),
        [
            "an accidental disability claim needs the disability grade (1 to 10 under JR/T 0083-2013), "
            "and none was given"
        ],
    )


def test_disability_grade_missing_when_the_claim_has_no_details(rules, settings, make_claim):
    claim = make_claim("accidental_disability", EVENT, details=NoFields())
    assert_denied(
        rules.decide_benefit(claim, settings),
        [
            "an accidental disability claim needs the disability grade (1 to 10 under JR/T 0083-2013), "
            "and none was given"
        ],
    )


@pytest.mark.parametrize("grade", [0, 11, -1])
def test_disability_grade_out_of_range_is_refused_when_filed(grade):
    with pytest.raises(pydantic.ValidationError, match="disability_grade"):
        TruckerClaimDetails(disability_grade=grade)


@pytest.mark.parametrize("grade", [0, 11])
def test_disability_grade_out_of_range_is_denied(rules, settings, make_claim, grade):
    details = TruckerClaimDetails.model_construct(disability_grade=grade, circumstances=[])
    claim = make_claim("accidental_disability", EVENT, details=details)
    assert_denied(
        rules.decide_benefit(claim, settings),
        [f"disability grade {grade} is not a grade of the disability table (1 to 10)"],
    )


@pytest.mark.parametrize(
    ("kind", "title"),
    [("accidental_death", "accidental death"), ("illness_death", "death from illness")],
)
def test_disability_grade_given_for_a_death(rules, settings, make_claim, kind, title):
    decision = rules.decide_benefit(make_claim(kind, date(2027, 3, 1), grade=3), settings)
    assert_denied(
        decision,
        [
            f"a disability grade (3) was given, but a claim for {title} takes none; remove it, or file the "
            "claim as an accidental disability"
        ],
    )
    assert decision.ends_membership is True


# -- illness death and the waiting period ------------------------------------------------------


def test_illness_death_on_the_last_waiting_day_is_denied(rules, settings, make_claim):
    decision = rules.decide_benefit(make_claim("illness_death", LAST_WAITING_DAY), settings)
    assert_denied(
        decision,
        ["died of illness on 2027-01-31, inside the illness waiting period that ends on 2027-01-31"],
    )
    assert decision.ends_membership is True


def test_illness_death_the_day_after_the_waiting_period_is_paid(rules, settings, make_claim):
    decision = rules.decide_benefit(make_claim("illness_death", date(2027, 2, 1)), settings)
    assert decision.payable is True
    assert decision.amount == Decimal("300000.00")
    assert decision.ends_membership is True
    assert decision.reasons == (
        "death from illness on 2027-02-01, after the illness waiting period that ended on 2027-01-31: "
        "benefit 300,000.00 CNY (the pool's death-from-illness benefit)",
    )


def test_illness_death_without_a_waiting_period(rules, make_claim):
    settings = TruckersSettings(illness_waiting_days=0)
    claim = make_claim("illness_death", DAY_AFTER_JOINING, waiting_days=0)
    decision = rules.decide_benefit(claim, settings)
    assert decision.amount == Decimal("300000.00")
    assert decision.reasons == (
        "death from illness on 2026-11-03: benefit 300,000.00 CNY (the pool's death-from-illness benefit)",
    )


def test_accidents_are_covered_inside_the_illness_waiting_period(rules, settings, make_claim):
    decision = rules.decide_benefit(make_claim("accidental_death", LAST_WAITING_DAY), settings)
    assert decision.amount == Decimal("300000.00")


# -- when cover starts -------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "grade"), [("accidental_death", None), ("accidental_disability", 1)])
def test_accident_the_day_after_joining_is_paid(rules, settings, make_claim, kind, grade):
    decision = rules.decide_benefit(make_claim(kind, DAY_AFTER_JOINING, grade=grade), settings)
    assert decision.payable is True
    assert decision.amount == Decimal("300000.00")


@pytest.mark.parametrize(
    ("event", "when"),
    [
        pytest.param(date(2026, 11, 2), "2026-11-02", id="on-the-joining-day"),
        pytest.param(date(2026, 10, 1), "2026-10-01", id="before-joining"),
    ],
)
def test_accident_before_cover_starts_is_denied(rules, settings, make_claim, event, when):
    decision = rules.decide_benefit(make_claim("accidental_death", event), settings)
    assert_denied(
        decision,
        [
            f"the accidental death on {when} happened before cover started on 2026-11-03 (the day after "
            "joining on 2026-11-02)"
        ],
    )
    assert decision.ends_membership is True


# -- exclusions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("circumstance", "label"),
    [
        ("drunk_driving", "drunk driving"),
        ("drugged_driving", "driving under the influence of drugs"),
        ("unlicensed_driving", "driving without a valid licence"),
        ("self_inflicted", "self-inflicted injury or suicide"),
    ],
)
def test_each_default_exclusion_denies(rules, settings, make_claim, circumstance, label):
    decision = rules.decide_benefit(make_claim("accidental_death", EVENT, circumstances=[circumstance]), settings)
    assert_denied(decision, [f"the claim reports {label} ({circumstance}), which this pool does not cover"])


def test_opt_in_exclusion_is_only_noted_by_default(rules, settings, make_claim):
    decision = rules.decide_benefit(make_claim("accidental_death", EVENT, circumstances=["overloading"]), settings)
    assert decision.amount == Decimal("300000.00")
    assert decision.reasons[-1] == (
        "the claim reports driving a seriously overloaded vehicle (overloading), which this pool does not exclude"
    )


def test_opt_in_exclusion_denies_when_chosen(rules, make_claim):
    settings = TruckersSettings(exclusions=["drunk_driving", "overloading", "racing", "criminal_act"])
    for key, label in [
        ("overloading", "driving a seriously overloaded vehicle"),
        ("racing", "racing or stunt driving"),
        ("criminal_act", "committing a crime"),
    ]:
        claim = make_claim("accidental_disability", EVENT, grade=5, circumstances=[key])
        decision = rules.decide_benefit(claim, settings)
        assert_denied(decision, [f"the claim reports {label} ({key}), which this pool does not cover"])


def test_no_exclusions(rules, make_claim):
    settings = TruckersSettings(exclusions=[])
    decision = rules.decide_benefit(make_claim("accidental_death", EVENT, circumstances=["drunk_driving"]), settings)
    assert decision.amount == Decimal("300000.00")


def test_unknown_circumstance_is_refused_when_filed():
    with pytest.raises(pydantic.ValidationError, match="unknown circumstance 'speeding'"):
        TruckerClaimDetails(circumstances=["speeding"])


def test_unknown_circumstance_is_denied(rules, settings, make_claim):
    details = TruckerClaimDetails.model_construct(disability_grade=None, circumstances=["speeding"])
    decision = rules.decide_benefit(make_claim("accidental_death", EVENT, details=details), settings)
    assert decision.payable is False
    assert decision.reasons[0].startswith("circumstance 'speeding' is not one the truckers cohort knows")


def test_illness_death_is_excluded_for_a_reported_circumstance_too(rules, settings, make_claim):
    claim = make_claim("illness_death", date(2027, 3, 1), circumstances=["self_inflicted"])
    assert_denied(
        rules.decide_benefit(claim, settings),
        ["the claim reports self-inflicted injury or suicide (self_inflicted), which this pool does not cover"],
    )


# -- licence valid on the event date -----------------------------------------------------------


def _expires(on: str) -> TruckerAttributes:
    return TruckerAttributes(licence_class="B2", licence_number="X1", licence_expires=on, driving_proof="ref")


def test_accident_after_the_licence_expired_counts_as_unlicensed(rules, settings, make_claim):
    claim = make_claim("accidental_death", EVENT, member_attributes=_expires("2026-12-02"))
    assert_denied(
        rules.decide_benefit(claim, settings),
        [
            "the driving licence was valid only until 2026-12-02, before the accidental death on 2026-12-03, "
            "which counts as driving without a valid licence; this pool does not cover it"
        ],
    )


def test_accident_on_the_last_valid_day_of_the_licence_is_paid(rules, settings, make_claim):
    claim = make_claim("accidental_death", EVENT, member_attributes=_expires("2026-12-03"))
    assert rules.decide_benefit(claim, settings).amount == Decimal("300000.00")


def test_expired_licence_does_not_matter_for_illness(rules, settings, make_claim):
    claim = make_claim("illness_death", date(2027, 3, 1), member_attributes=_expires("2026-12-02"))
    assert rules.decide_benefit(claim, settings).amount == Decimal("300000.00")


def test_expired_licence_check_can_be_switched_off(rules, make_claim):
    settings = TruckersSettings(licence_must_be_valid_on_event_date=False)
    claim = make_claim("accidental_death", EVENT, member_attributes=_expires("2026-12-02"))
    assert rules.decide_benefit(claim, settings).amount == Decimal("300000.00")


def test_expired_licence_is_only_noted_when_unlicensed_driving_is_not_excluded(rules, make_claim):
    settings = TruckersSettings(exclusions=["drunk_driving"])
    claim = make_claim("accidental_death", EVENT, member_attributes=_expires("2026-12-02"))
    decision = rules.decide_benefit(claim, settings)
    assert decision.amount == Decimal("300000.00")
    assert decision.reasons[-1] == (
        "the driving licence was valid only until 2026-12-02, before the accidental death on 2026-12-03, "
        "which counts as driving without a valid licence; this pool does not exclude it"
    )


def test_member_without_licence_details_cannot_be_checked(rules, settings, make_claim):
    attributes = TruckerAttributes.model_construct(licence_class="B2", licence_number="X1")
    decision = rules.decide_benefit(make_claim("accidental_death", EVENT, member_attributes=attributes), settings)
    assert_denied(
        decision,
        [
            "the member's driving licence details are missing, so it cannot be checked that the licence was "
            "valid on 2026-12-03"
        ],
    )


# -- the combined cap --------------------------------------------------------------------------


def test_death_after_a_grade_3_disability_pays_the_rest_of_the_cap(rules, settings, make_claim):
    claim = make_claim("accidental_death", date(2027, 5, 1), prior=(Decimal("240000.00"),))
    decision = rules.decide_benefit(claim, settings)
    assert decision.payable is True
    assert decision.amount == Decimal("60000.00")
    assert decision.cap == Decimal("60000.00")
    assert decision.ends_membership is True
    assert decision.reasons == (
        "accidental death on 2027-05-01: benefit 300,000.00 CNY (the pool's accidental death benefit)",
        "the combined cap of 300,000.00 CNY per member leaves 60,000.00 CNY after the 240,000.00 CNY already "
        "paid to this member, so the benefit is reduced from 300,000.00 CNY to 60,000.00 CNY",
    )


def test_benefit_within_the_remaining_cap_is_not_reduced(rules, settings, make_claim):
    claim = make_claim("accidental_disability", date(2027, 5, 1), grade=5, prior=(Decimal("100000.00"),))
    decision = rules.decide_benefit(claim, settings)
    assert decision.amount == Decimal("180000.00")
    assert decision.cap == Decimal("200000.00")
    assert len(decision.reasons) == 1


def test_several_prior_benefits_add_up(rules, settings, make_claim):
    claim = make_claim(
        "accidental_disability", date(2027, 5, 1), grade=5, prior=(Decimal("30000.00"), Decimal("219999.99"))
    )
    assert rules.decide_benefit(claim, settings).amount == Decimal("50000.01")


def test_used_up_cap_denies(rules, settings, make_claim):
    claim = make_claim("accidental_death", date(2027, 5, 1), prior=(Decimal("300000.00"),))
    decision = rules.decide_benefit(claim, settings)
    assert_denied(
        decision,
        [
            "the combined cap of 300,000.00 CNY per member is used up: 300,000.00 CNY has already been paid "
            "to this member"
        ],
    )
    assert decision.ends_membership is True


def test_higher_combined_cap(rules, make_claim):
    settings = TruckersSettings(combined_cap=500000)
    claim = make_claim("accidental_death", date(2027, 5, 1), prior=(Decimal("240000.00"),))
    assert rules.decide_benefit(claim, settings).amount == Decimal("260000.00")


# -- several reasons, and kinds the cohort does not know ---------------------------------------


def test_every_reason_for_a_denial_is_given(rules, settings, make_claim):
    claim = make_claim(
        "accidental_death",
        date(2026, 11, 2),
        circumstances=["drunk_driving", "unlicensed_driving"],
        prior=(Decimal("300000.00"),),
    )
    assert_denied(
        rules.decide_benefit(claim, settings),
        [
            "the accidental death on 2026-11-02 happened before cover started on 2026-11-03 (the day after "
            "joining on 2026-11-02)",
            "the claim reports drunk driving (drunk_driving), which this pool does not cover",
            "the claim reports driving without a valid licence (unlicensed_driving), which this pool does not cover",
            "the combined cap of 300,000.00 CNY per member is used up: 300,000.00 CNY has already been paid "
            "to this member",
        ],
    )


def test_disability_denial_does_not_end_the_membership(rules, settings, make_claim):
    decision = rules.decide_benefit(
        make_claim("accidental_disability", EVENT, grade=2, circumstances=["drunk_driving"]), settings
    )
    assert decision.payable is False
    assert decision.ends_membership is False


def test_unknown_event_kind_is_denied(rules, settings, make_claim):
    assert_denied(
        rules.decide_benefit(make_claim("critical_illness", EVENT), settings),
        [
            "event kind 'critical_illness' is not covered by a truckers pool; covered kinds: accidental_death, "
            "accidental_disability, illness_death"
        ],
    )
