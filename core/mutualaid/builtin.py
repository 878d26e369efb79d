"""The core's default plugin, registered through the same manager as every other plugin.

It checks the Chinese resident identity number (GB 11643-1999) of applicants who give one: the
check digit, and that the birth date inside it is the birth date given. Other identity documents
(a passport number, say) are accepted as given.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from .hookspecs import hookimpl

if TYPE_CHECKING:
    from .cohort import Applicant
    from .config import PoolConfig

__all__ = ["eligibility_problems", "resident_id_check_digit"]

_RESIDENT_ID = re.compile(r"^\d{17}[\dXx]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def resident_id_check_digit(first17: str) -> str:
    """The check digit of an 18-character resident identity number, from its first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def resident_id_problems(id_number: str, birth_date: date) -> list[str]:
    if not _RESIDENT_ID.match(id_number):
        return []
    problems = []
    if resident_id_check_digit(id_number[:17]) != id_number[17].upper():
        problems.append(
            f"ID number {id_number[:6]}…{id_number[-2:]} fails the resident-ID check digit; check it for a typo"
        )
    born = id_number[6:14]
    if born != birth_date.strftime("%Y%m%d"):
        problems.append(
            f"the birth date in the ID number ({born[:4]}-{born[4:6]}-{born[6:]}) is not the birth date "
            f"given ({birth_date.isoformat()})"
        )
    return problems


@hookimpl
def eligibility_problems(pool: PoolConfig, applicant: Applicant) -> list[str]:
    return resident_id_problems(applicant.id_number, applicant.birth_date)
