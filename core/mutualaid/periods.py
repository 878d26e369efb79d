"""Sharing periods: their keys, notice days and cut-offs.

A monthly pool's periods are keyed ``2026-11``; a semi-monthly pool's ``2026-11a`` (first half,
first notice day) and ``2026-11b`` (second half). The members who share a period are those
covered at 00:00 of its notice day, in the pool's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .config import PoolConfig
from .errors import ValidationError

__all__ = ["Period", "parse_period"]

_PERIOD = re.compile(r"^(\d{4})-(\d{2})([ab]?)$")


@dataclass(frozen=True, slots=True)
class Period:
    """One sharing period of a pool."""

    key: str
    year: int
    month: int
    index: int
    notice_date: date
    deduction_date: date


def parse_period(text: str, pool: PoolConfig) -> Period:
    """Parse a period key for ``pool``'s calendar; a wrong form is a :class:`ValidationError`."""
    match = _PERIOD.match(text.strip())
    semi = pool.sharing.calendar == "semi-monthly"
    example = "2026-11a or 2026-11b" if semi else "2026-11"
    if not match:
        raise ValidationError([f"period {text!r} is not a period of pool {pool.key!r}; write it like {example}"])
    year, month, half = int(match.group(1)), int(match.group(2)), match.group(3)
    if not 1 <= month <= 12 or not 1900 <= year <= 9999:
        raise ValidationError([f"period {text!r} has no such month; write it like {example}"])
    if semi and not half:
        raise ValidationError(
            [f"pool {pool.key!r} shares twice a month: give the half, e.g. {text.strip()}a or {text.strip()}b"]
        )
    if not semi and half:
        raise ValidationError(
            [f"pool {pool.key!r} shares monthly: write the period without a half, e.g. {year:04d}-{month:02d}"]
        )
    index = 1 if half == "b" else 0
    notice_days = pool.sharing.notice_days or (7,)
    deduction_days = pool.sharing.deduction_days or (14,)
    return Period(
        key=f"{year:04d}-{month:02d}{half}",
        year=year,
        month=month,
        index=index,
        notice_date=date(year, month, notice_days[index]),
        deduction_date=date(year, month, deduction_days[index]),
    )
