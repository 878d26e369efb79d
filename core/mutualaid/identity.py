"""Chinese resident identity numbers (GB 11643-1999): check digit, embedded birth date, and a
generator of valid numbers for tests and demos."""

from __future__ import annotations

import functools
import re
from datetime import date
from operator import mul

__all__ = ["make_resident_id", "resident_id_check_digit", "resident_id_problems", "upgrade_resident_id"]

_RESIDENT_ID = re.compile(r"^\d{17}[\dXx]$", re.ASCII)
#: What a resident ID number looks like whatever its length: digits, perhaps a final X.
_DIGITS = re.compile(r"^\d+[Xx]?$", re.ASCII)
#: Digits with an X among them: a resident ID number mistyped, not a document written in letters.
_DIGITS_AND_X = re.compile(r"^\d[\dXx]*$", re.ASCII)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
#: sum(w * ord("0")): the weighted sum of the digits' codes, less this, is that of the digits.
_ZEROS = sum(_WEIGHTS) * ord("0")


def resident_id_check_digit(first17: str) -> str:
    """The check digit of an 18-character resident identity number, from its first 17 digits."""
    if len(first17) != len(_WEIGHTS):
        raise ValueError(f"a resident ID number's check digit is computed from 17 digits, not {len(first17)}")
    if first17.isascii():  # the common case, at import speed: the digits' codes, weighted
        return _CHECK[(sum(map(mul, first17.encode(), _WEIGHTS)) - _ZEROS) % 11]
    return _CHECK[sum(map(mul, map(int, first17), _WEIGHTS)) % 11]


def upgrade_resident_id(old: str) -> str:
    """The 18-character form of a first-generation 15-digit number (GB 11643-1999): the century
    ``19`` put before the birth year, and the check digit added -- so one person has one number."""
    if len(old) != 15 or not (old.isascii() and old.isdigit()):
        raise ValueError(f"{old!r} is not a 15-digit resident ID number")
    first17 = old[:6] + "19" + old[6:]
    return first17 + resident_id_check_digit(first17)


def _old_form_problems(id_number: str, birth_date: date) -> list[str]:
    """The 15-digit first-generation number (before 1999): region, YYMMDD of a birth in the 1900s,
    sequence; it has no check digit."""
    born = "19" + id_number[6:12]
    if born != _compact(birth_date):
        return [
            f"the birth date in the 15-digit ID number (19{id_number[6:8]}-{id_number[8:10]}-{id_number[10:12]}) is "
            f"not the birth date given ({birth_date.isoformat()})"
        ]
    return []


def resident_id_problems(id_number: str, birth_date: date) -> list[str]:
    """Problems with a resident ID number: 18 characters with its check digit and birth date, or
    the old 15-digit form with its birth date; a number of digits of any other length is refused.
    Identity documents written with letters (a passport, a Hong Kong or Macao card) are not checked;
    digits with an X anywhere but at the end are a resident ID number mistyped, and refused."""
    if not _DIGITS.match(id_number):
        if _DIGITS_AND_X.match(id_number):
            return [
                f"ID number {id_number[:6]}…{id_number[-2:]} is not a resident ID number: 17 digits and a final "
                "digit or X"
            ]
        return []
    if len(id_number) == 15 and id_number.isdigit():
        return _old_form_problems(id_number, birth_date)
    if not _RESIDENT_ID.match(id_number):
        return [
            f"ID number {id_number[:3]}…{id_number[-2:]} has {len(id_number)} characters; a resident ID number has "
            "18 (or 15 in the old form); check it for a missing or extra digit"
        ]
    problems = []
    if resident_id_check_digit(id_number[:17]) != id_number[17].upper():
        problems.append(
            f"ID number {id_number[:6]}…{id_number[-2:]} fails the resident-ID check digit; check it for a typo"
        )
    born = id_number[6:14]
    if born != _compact(birth_date):
        problems.append(
            f"the birth date in the ID number ({born[:4]}-{born[4:6]}-{born[6:]}) is not the birth date "
            f"given ({birth_date.isoformat()})"
        )
    return problems


@functools.lru_cache(maxsize=65_536)
def _compact(day: date) -> str:
    """``day`` as YYYYMMDD, as a resident ID number holds it (read once per day at import speed)."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def make_resident_id(birth_date: date, sequence: int = 1, region: str = "110105") -> str:
    """A valid resident ID number for ``birth_date``; ``sequence`` (0-999) makes it unique."""
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be 0 to 999")
    if not re.fullmatch(r"\d{6}", region):
        raise ValueError("region must be 6 digits")
    first17 = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_digit(first17)
