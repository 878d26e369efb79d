"""The core's default plugin, registered through the same manager as every other plugin.

It checks the Chinese resident identity number (GB 11643-1999) of applicants who give one: the
check digit, and that the birth date inside it is the birth date given. Other identity documents
(a passport number, say) are accepted as given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .hookspecs import hookimpl
from .identity import resident_id_problems

if TYPE_CHECKING:
    from .cohort import Applicant
    from .config import PoolConfig

__all__ = ["eligibility_problems"]


@hookimpl
def eligibility_problems(pool: PoolConfig, applicant: Applicant) -> list[str]:
    return resident_id_problems(applicant.id_number, applicant.birth_date)
