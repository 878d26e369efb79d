"""ICD-10 codes and the code lists of a society: spellings, prefixes, ranges and their errors."""

from __future__ import annotations

import pytest

from mutualaid_disease_cohorts import CodeList, normalize_code, parse_pattern
from mutualaid_disease_cohorts.icd10 import parse_code_list


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("B18.1", "B18.1"),
        (" b18.1 ", "B18.1"),
        ("K746", "K74.6"),
        ("K74", "K74"),
        ("c50.900x001", "C50.900X001"),
        ("C22.0", "C22.0"),
    ],
)
def test_codes_are_normalized(text, code):
    assert normalize_code(text) == code


@pytest.mark.parametrize("text", ["", "K7", "74.6", "KK74", "K74.", "K74.A", "C7A", "B18-1", "肝炎"])
def test_malformed_codes(text):
    with pytest.raises(ValueError, match="is not an ICD-10 code; write a letter and two digits"):
        normalize_code(text)


@pytest.mark.parametrize(
    ("patterns", "code", "covered"),
    [
        (["B18"], "B18", True),
        (["B18"], "B18.1", True),
        (["B18"], "B19.1", False),
        (["B18.1"], "B18.1", True),
        (["B18.1"], "B18.10", True),
        (["B18.1"], "B18.2", False),
        (["B18.1"], "B18", False),  # the bare category is less precise than the code
        (["K70-K77"], "K70", True),  # first end
        (["K70-K77"], "K74.6", True),
        (["K70-K77"], "K77.8", True),  # last end, with what is under it
        (["K70-K77"], "K78", False),
        (["K70-K77"], "K69.9", False),
        (["C50.1-C50.4"], "C50.1", True),
        (["C50.1-C50.4"], "C50.49", True),
        (["C50.1-C50.4"], "C50.5", False),
        (["C50.1-C50.4"], "C50", False),
        (["C00-D09"], "C97", True),  # a range across letters
        (["C00-D09"], "D05.1", True),
        (["C00-D09"], "D10", False),
        (["C00-C97"], "c509", True),  # any accepted spelling
        (["B18", "K70-K77"], "K72.1", True),
        (["B18", "K70-K77"], "C22.0", False),
        (["C00-C97"], "not a code", False),
    ],
)
def test_code_lists(patterns, code, covered):
    assert CodeList.of(patterns).matches(code) is covered


def test_patterns_and_their_normal_form():
    assert str(parse_pattern("k70 - k77")) == "K70-K77"
    assert str(parse_pattern("K70–K77")) == "K70-K77"  # an en dash, as documents often write it
    assert str(parse_pattern("B18.1-B18.1")) == "B18.1"
    assert parse_code_list("K70-K77, b181, K70-K77") == ("K70-K77", "B18.1")
    assert str(CodeList.of(["B18", "K70-K77"])) == "B18, K70-K77"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["K77-K70"], "the range 'K77-K70' runs backwards; write K70-K77"),
        (["K70-"], "'K70-' is not an ICD-10 code or range; write a code such as B18.1 or a range such as K70-K77"),
        (["K70-K75-K77"], "is not an ICD-10 code or range"),
        (["K7-K77"], "'K7-K77' is not an ICD-10 code or range; write a letter and two digits"),
        (["liver"], "'liver' is not an ICD-10 code or range"),
        ([], "must list at least one ICD-10 code or range"),
        ([70], "must be text such as 'K70-K77', not 70"),
        (70, "must be a list of ICD-10 codes or ranges"),
    ],
)
def test_bad_code_lists(value, message):
    with pytest.raises(ValueError) as info:
        parse_code_list(value)
    assert message in str(info.value)
