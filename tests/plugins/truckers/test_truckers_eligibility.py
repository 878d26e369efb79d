"""Who may join a truckers pool: every rule failing alone, all together, and the boundaries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mutualaid_truckers import TruckersSettings

JOINED = date(2026, 11, 2)  # the joining day the fixtures use


def test_eligible_driver_has_no_problems(rules, settings, make_applicant):
    assert rules.eligibility_problems(make_applicant(), settings) == []


@pytest.mark.parametrize(
    ("birth_date", "expected"),
    [
        pytest.param(
            date(2008, 11, 3),
            ["age 17 on the joining day 2026-11-02 is below the minimum of 18"],
            id="17-turns-18-the-day-after-joining",
        ),
        pytest.param(date(2008, 11, 2), [], id="18-on-the-joining-day-birthday"),
        pytest.param(date(1966, 11, 2), [], id="60-on-the-joining-day-birthday"),
        pytest.param(date(1965, 11, 3), [], id="60-turns-61-the-day-after-joining"),
        pytest.param(
            date(1965, 11, 2),
            ["age 61 on the joining day 2026-11-02 is above the maximum of 60"],
            id="61-on-the-joining-day-birthday",
        ),
    ],
)
def test_age_boundaries(rules, settings, make_applicant, birth_date, expected):
    assert rules.eligibility_problems(make_applicant(birth_date=birth_date), settings) == expected


def test_ages_follow_the_settings(rules, make_applicant):
    settings = TruckersSettings(min_age=25, max_age=55)
    assert rules.eligibility_problems(make_applicant(birth_date=date(2002, 1, 1)), settings) == [
        "age 24 on the joining day 2026-11-02 is below the minimum of 25"
    ]
    assert rules.eligibility_problems(make_applicant(birth_date=date(1971, 1, 1)), settings) == []
    assert rules.eligibility_problems(make_applicant(birth_date=date(1970, 1, 1)), settings) == [
        "age 56 on the joining day 2026-11-02 is above the maximum of 55"
    ]


def test_licence_class_not_accepted(rules, settings, make_applicant):
    assert rules.eligibility_problems(make_applicant(licence_class="C1"), settings) == [
        "licence class C1 is not accepted; accepted classes: A1, A2, B1, B2"
    ]


@pytest.mark.parametrize("licence_class", ["A1", "A2", "B1", "B2", "b2", " a2 "])
def test_accepted_licence_classes(rules, settings, make_applicant, licence_class):
    assert rules.eligibility_problems(make_applicant(licence_class=licence_class), settings) == []


def test_accepted_classes_follow_the_settings(rules, make_applicant):
    settings = TruckersSettings(accepted_licence_classes=["A2"])
    assert rules.eligibility_problems(make_applicant(licence_class="B2"), settings) == [
        "licence class B2 is not accepted; accepted classes: A2"
    ]


@pytest.mark.parametrize(
    ("expires", "expected"),
    [
        pytest.param(
            JOINED - timedelta(days=1),
            [
                "the driving licence is valid only until 2026-11-01, before the joining day 2026-11-02; "
                "renew it before joining"
            ],
            id="expired-the-day-before-joining",
        ),
        pytest.param(
            JOINED,
            [
                "the driving licence is valid only until the joining day 2026-11-02, so it has expired when "
                "cover starts on 2026-11-03; renew it before joining"
            ],
            id="expires-on-the-joining-day",
        ),
        pytest.param(JOINED + timedelta(days=1), [], id="valid-on-the-first-day-of-cover"),
    ],
)
def test_licence_expiry_around_the_joining_day(rules, settings, make_applicant, expires, expected):
    assert rules.eligibility_problems(make_applicant(licence_expires=expires), settings) == expected


def test_proof_of_driving_required(rules, settings, make_applicant):
    assert rules.eligibility_problems(make_applicant(driving_proof="  "), settings) == [
        "proof of active driving is required (a waybill, ETC or employer reference); give its reference "
        "as driving_proof"
    ]


def test_proof_of_driving_optional_when_the_pool_says_so(rules, make_applicant):
    settings = TruckersSettings(require_driving_proof=False)
    assert rules.eligibility_problems(make_applicant(driving_proof=""), settings) == []


def test_every_failing_rule_is_listed(rules, settings, make_applicant):
    applicant = make_applicant(
        birth_date=date(1960, 5, 1), licence_class="C1", licence_expires="2026-01-01", driving_proof=""
    )
    assert rules.eligibility_problems(applicant, settings) == [
        "age 66 on the joining day 2026-11-02 is above the maximum of 60",
        "licence class C1 is not accepted; accepted classes: A1, A2, B1, B2",
        "the driving licence is valid only until 2026-01-01, before the joining day 2026-11-02; renew it "
        "before joining",
        "proof of active driving is required (a waybill, ETC or employer reference); give its reference "
        "as driving_proof",
    ]


def test_illness_waiting_period_is_the_setting(rules, make_applicant):
    applicant = make_applicant()
    assert rules.waiting_period_days(applicant, TruckersSettings()) == 90
    assert rules.waiting_period_days(applicant, TruckersSettings(illness_waiting_days=30)) == 30
