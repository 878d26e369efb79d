"""The [settings] table of a truckers pool and the member/claim models: defaults and every
validation error, as an operator would meet them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pydantic
import pytest

from mutualaid_truckers import TruckerAttributes, TruckerClaimDetails, TruckersSettings


def error_text(**values) -> str:
    with pytest.raises(pydantic.ValidationError) as info:
        TruckersSettings(**values)
    return str(info.value)


def test_defaults():
    s = TruckersSettings()
    assert (s.min_age, s.max_age) == (18, 60)
    assert s.accepted_licence_classes == ("A1", "A2", "B1", "B2")
    assert s.require_driving_proof is True
    assert s.accidental_death_benefit == Decimal("300000")
    assert s.disability_base_benefit == Decimal("300000")
    assert s.disability_grade_percent == (100, 90, 80, 70, 60, 50, 40, 30, 20, 10)
    assert s.illness_death_benefit == Decimal("300000")
    assert s.illness_waiting_days == 90
    assert s.combined_cap == Decimal("300000")
    assert s.exclusions == ("drunk_driving", "drugged_driving", "unlicensed_driving", "self_inflicted")
    assert s.licence_must_be_valid_on_event_date is True
    for name in ("accidental_death_benefit", "disability_base_benefit", "illness_death_benefit", "combined_cap"):
        assert isinstance(getattr(s, name), Decimal)


def test_every_setting_is_described_for_the_operator():
    for name, field in TruckersSettings.model_fields.items():
        assert field.description and len(field.description) > 30, name


def test_settings_are_frozen_and_strict_about_unknown_keys():
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        TruckersSettings(death_benefit=300000)
    with pytest.raises(pydantic.ValidationError):
        TruckersSettings().min_age = 20  # type: ignore[misc]


def test_amounts_from_toml_text_and_integers():
    s = TruckersSettings(
        accidental_death_benefit=Decimal("250000.50"), illness_death_benefit="100000", disability_base_benefit=200000
    )
    assert s.accidental_death_benefit == Decimal("250000.50")
    assert s.illness_death_benefit == Decimal("100000")
    assert s.disability_base_benefit == Decimal("200000")


@pytest.mark.parametrize("value", [300000.0, 0.1])
def test_float_amounts_are_refused(value):
    assert "floats cannot hold amounts exactly" in error_text(accidental_death_benefit=value)


def test_boolean_amount_is_refused():
    assert "must be an amount such as 300000, not True" in error_text(illness_death_benefit=True)


def test_float_amount_message():
    assert "not 300000.0 (floats cannot hold amounts exactly)" in error_text(combined_cap=300000.0)


def test_amount_with_more_than_two_decimals_is_refused():
    assert "accidental_death_benefit" in error_text(accidental_death_benefit="1000.001")


def test_negative_benefit_and_zero_cap_are_refused():
    assert "greater than or equal to 0" in error_text(illness_death_benefit=-1)
    assert "combined_cap" in error_text(combined_cap=0)


def test_min_age_above_max_age():
    assert "min_age 50 is above max_age 40" in error_text(min_age=50, max_age=40)


@pytest.mark.parametrize("age", [17, 101])
def test_age_outside_sane_bounds(age):
    assert "min_age" in error_text(min_age=age)


def test_combined_cap_below_a_single_benefit():
    text = error_text(combined_cap=200000)
    assert "accidental_death_benefit (300,000) is above combined_cap (200,000)" in text
    assert "illness_death_benefit (300,000) is above combined_cap (200,000)" in text
    assert "disability_base_benefit at grade 1" in text


# -- licence classes ---------------------------------------------------------------------------


def test_licence_classes_are_normalised():
    s = TruckersSettings(accepted_licence_classes=[" a2", "B2", "b2"])
    assert s.accepted_licence_classes == ("A2", "B2")


def test_empty_licence_class_list():
    assert "at least one licence class must be accepted" in error_text(accepted_licence_classes=[])


def test_unknown_licence_class():
    assert "'Z9' is not a Chinese driving licence class" in error_text(accepted_licence_classes=["A2", "Z9"])


def test_licence_class_must_be_text():
    assert "licence classes must be strings" in error_text(accepted_licence_classes=[2])


# -- exclusions --------------------------------------------------------------------------------


def test_opt_in_exclusions_are_accepted():
    s = TruckersSettings(exclusions=["drunk_driving", "Racing", "overloading", "criminal_act", "racing"])
    assert s.exclusions == ("drunk_driving", "racing", "overloading", "criminal_act")


def test_unknown_exclusion():
    text = error_text(exclusions=["drunk_driving", "speeding"])
    assert "unknown exclusion 'speeding'; known circumstances: drunk_driving, drugged_driving" in text


def test_no_exclusions_is_allowed():
    assert TruckersSettings(exclusions=[]).exclusions == ()


# -- disability table --------------------------------------------------------------------------


def test_grade_table_as_a_mapping():
    table = {str(g): 110 - 10 * g for g in range(1, 11)}
    assert TruckersSettings(disability_grade_percent=table).disability_grade_percent == (
        100,
        90,
        80,
        70,
        60,
        50,
        40,
        30,
        20,
        10,
    )


def test_grade_table_mapping_with_missing_and_unknown_grades():
    table = {str(g): 10 for g in range(2, 12)}
    assert "missing grades 1; unknown grades 11" in error_text(disability_grade_percent=table)


def test_grade_table_needs_ten_grades():
    assert "needs 10 percentages (grades 1 to 10), got 9" in error_text(
        disability_grade_percent=[100, 90, 80, 70, 60, 50, 40, 30, 20]
    )


def test_grade_table_percent_out_of_range():
    assert "grade 1: 120% is not a percentage from 0 to 100" in error_text(
        disability_grade_percent=[120, 90, 80, 70, 60, 50, 40, 30, 20, 10]
    )


def test_grade_table_must_not_increase():
    assert "grade 4 (85%) would pay more than the more severe grade 3 (80%)" in error_text(
        disability_grade_percent=[100, 90, 80, 85, 60, 50, 40, 30, 20, 10]
    )


def test_disability_percent_lookup():
    s = TruckersSettings()
    assert s.disability_percent(1) == 100
    assert s.disability_percent(10) == 10
    with pytest.raises(ValueError, match="disability grade 11"):
        s.disability_percent(11)


# -- member attributes -------------------------------------------------------------------------


def test_attributes_from_command_line_text():
    attrs = TruckerAttributes.model_validate(
        {"licence_class": " a2 ", "licence_number": " 320102198001011234 ", "licence_expires": "2031-05-01"}
    )
    assert attrs.licence_class == "A2"
    assert attrs.licence_number == "320102198001011234"
    assert attrs.licence_expires == date(2031, 5, 1)
    assert attrs.driving_proof == ""


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"licence_class": "Z9"}, "'Z9' is not a Chinese driving licence class"),
        ({"licence_number": "  "}, "the driving licence number is required"),
        ({"licence_expires": "next year"}, "licence_expires"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ],
    ids=["unknown-class", "blank-number", "bad-date", "unknown-attribute"],
)
def test_bad_attributes(values, message):
    data = {"licence_class": "B2", "licence_number": "X1", "licence_expires": "2031-05-01"} | values
    with pytest.raises(pydantic.ValidationError, match=message):
        TruckerAttributes.model_validate(data)


def test_attributes_are_required():
    with pytest.raises(pydantic.ValidationError) as info:
        TruckerAttributes.model_validate({})
    assert {e["loc"][0] for e in info.value.errors()} == {"licence_class", "licence_number", "licence_expires"}


# -- claim details -----------------------------------------------------------------------------


def test_claim_details_from_text():
    details = TruckerClaimDetails.model_validate({"disability_grade": "3", "circumstances": "Drunk_Driving, racing,"})
    assert details.disability_grade == 3
    assert details.circumstances == ["drunk_driving", "racing"]


def test_claim_details_from_the_core_list_split():
    details = TruckerClaimDetails.model_validate({"circumstances": ["overloading", "overloading"]})
    assert details.circumstances == ["overloading"]


def test_claim_details_blank_grade_is_absent():
    assert TruckerClaimDetails.model_validate({"disability_grade": ""}).disability_grade is None


def test_claim_details_round_trip_through_json():
    details = TruckerClaimDetails(disability_grade=2, circumstances=["racing"])
    assert TruckerClaimDetails.model_validate_json(details.model_dump_json()) == details
