"""Text from command lines and CSV cells becomes a cohort's model values, strictly."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from mutualaid.fields import parse_pairs, validate_fields
from mutualaid_truckers import TruckerAttributes, TruckerClaimDetails

GOOD = {"licence_class": "A2", "licence_number": "L1", "driving_proof": "ETC-1"}


@pytest.mark.parametrize(
    "text",
    ["1699920000", "20361231", "2036-1-1", "2036-W01-1", "31/12/2036", "soon"],
    ids=["unix-time", "compact", "unpadded", "iso-week", "day-first", "word"],
)
def test_a_date_attribute_must_be_written_yyyy_mm_dd(text):
    instance, problems = validate_fields(TruckerAttributes, {**GOOD, "licence_expires": text})
    assert instance is None
    assert problems == [f"licence_expires: must be a date written YYYY-MM-DD ({text!r} given)"]


def test_a_bad_date_is_reported_once_with_the_other_problems():
    _, problems = validate_fields(TruckerAttributes, {"licence_class": "A2", "licence_expires": "20361231"})
    assert problems == [
        "licence_number: is required",
        "licence_expires: must be a date written YYYY-MM-DD ('20361231' given)",
    ]


def test_a_good_date_and_a_comma_separated_list():
    attributes, problems = validate_fields(TruckerAttributes, {**GOOD, "licence_expires": "2036-12-31"})
    assert problems == []
    assert str(attributes.licence_expires) == "2036-12-31"
    details, problems = validate_fields(TruckerClaimDetails, {"circumstances": "drunk_driving, racing"})
    assert problems == []
    assert list(details.circumstances) == ["drunk_driving", "racing"]


def test_an_empty_cell_means_not_given():
    details, problems = validate_fields(TruckerClaimDetails, {"disability_grade": "", "circumstances": ""})
    assert problems == []
    assert (details.disability_grade, list(details.circumstances)) == (None, [])


def test_pairs_need_an_equals_sign():
    assert parse_pairs(["a=1", " b = two words "], option="--attr") == {"a": "1", "b": "two words"}
    with pytest.raises(ValueError, match=r"--attr 'licence' must look like key=value"):
        parse_pairs(["licence"], option="--attr")


def test_a_key_given_twice_is_refused_not_overwritten():
    with pytest.raises(ValueError) as caught:
        parse_pairs(["cash=1", "aid_payable=3", " cash = 2 "], option="--debit")
    assert str(caught.value) == "--debit cash is given twice ('1' and '2'); give it once"


def test_only_an_empty_text_means_not_given():
    """A model without list fields: an empty text takes the default, any other value is validated,
    a falsy one too."""

    class Counted(BaseModel):
        count: int = 7
        note: str = "none"

    given, problems = validate_fields(Counted, {"count": "", "note": ""})
    assert (problems, given.count, given.note) == ([], 7, "none")
    given, problems = validate_fields(Counted, {"count": 0, "note": " "})
    assert (problems, given.count, given.note) == ([], 0, " ")
    given, problems = validate_fields(Counted, {"count": "x"})
    assert given is None and problems and problems[0].startswith("count:")
