"""What a pool's own history says, read as ``GROUP BY`` aggregates (never one row per member):
its exposure and claims by age (for credibility), its live members by age and duration (for the
quote and the forecast), its recent joining, and the periods it has shared.

One scan of the members gives :class:`MemberGroups`: their count by month of birth, month joined,
month ended and whether they are live today. Exposure and ages are read from it, each member
taken as born, joining and ending in the middle of their month, so a pool of ten million members
is a few thousand rows. Ages are whole years.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ..cohort import age_on
from ..db.models import Claim, Member, SharingRun
from ..vocabulary import LIVE_STATUSES, ClaimStatus
from .credibility import Experience
from .incidence import IncidenceTable

__all__ = [
    "MemberGroups",
    "PeriodFigures",
    "ages_of",
    "durations_of",
    "experience",
    "live_ages",
    "live_groups",
    "member_groups",
    "pending_aid",
    "recent_joins",
    "shared_periods",
]

_YEAR = Decimal("365.25")
#: Claims that count as the pool's experience: approved, whether shared yet or not.
COUNTED = (ClaimStatus.APPROVED.value, ClaimStatus.SHARED.value)

#: ``(year, month)`` of birth and of joining, and the number of live members with them.
LiveGroups = list[tuple[int, int, int, int, int]]


def _month_of(session: Session, column: Any) -> Any:
    """``YYYY-MM`` of a date column, as cheaply as the database allows."""
    if session.get_bind().dialect.name == "sqlite":
        return func.substr(column, 1, 7)  # SQLite stores a date as its ISO text
    return func.to_char(column, "YYYY-MM")


def _mid(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 15)


@dataclass(frozen=True)
class MemberGroups:
    """The pool's members in groups: ``(birth month, month joined, month ended or None, live, count)``
    (months as ``YYYY-MM``), as of ``on``."""

    on: date
    rows: list[tuple[str, str, str | None, bool, int]]

    def live(self) -> LiveGroups:
        return [(int(b[:4]), int(b[5:7]), int(j[:4]), int(j[5:7]), n) for b, j, _, alive, n in self.rows if alive]


def member_groups(session: Session, pool_id: int, on: date) -> MemberGroups:
    """One scan of the pool's members, grouped (see :class:`MemberGroups`)."""
    born, joined, ended = (_month_of(session, c) for c in (Member.birth_date, Member.joined_on, Member.ended_on))
    live = case(
        (
            and_(
                Member.status.in_([s.value for s in LIVE_STATUSES]),
                Member.joined_on <= on,
                or_(Member.ended_on.is_(None), Member.ended_on >= on),
            ),
            1,
        ),
        else_=0,
    )
    rows = session.execute(
        select(born, joined, ended, live, func.count())
        .where(Member.pool_id == pool_id)
        .group_by(born, joined, ended, live)
    ).all()
    return MemberGroups(
        on, [(str(b), str(j), None if e is None else str(e), bool(a), int(n)) for b, j, e, a, n in rows]
    )


def _exposure_in(start: date, end: date, born: date, min_age: int, max_age: int | None) -> Decimal:
    """Years of ``[start, end)`` spent aged ``min_age`` to ``max_age``."""
    low = max(start, _birthday(born, min_age))
    high = end if max_age is None else min(end, _birthday(born, max_age + 1))
    return Decimal((high - low).days) / _YEAR if high > low else Decimal(0)


def _birthday(born: date, age: int) -> date:
    return date(born.year + age, born.month, born.day)


def experience(
    session: Session, pool_id: int, table: IncidenceTable, today: date, groups: MemberGroups | None = None
) -> dict[tuple[str, str], Experience]:
    """Member-years of cover and approved claims by ``(event kind, band)`` of ``table``."""
    groups = groups or member_groups(session, pool_id, today)
    exposure: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for born_month, joined_month, ended_month, _, count in groups.rows:
        born = _mid(born_month)
        start = _mid(joined_month)
        end = today if ended_month is None else min(today, _mid(ended_month))
        if end <= start:
            continue
        for event in table.events:
            for band in event.bands:
                years = _exposure_in(start, end, born, band.min_age, band.max_age)
                if years:
                    exposure[(event.event_kind, band.ages)] += years * count
    claims: dict[tuple[str, str], int] = defaultdict(int)
    rows = session.execute(
        select(Claim.event_kind, Claim.event_date, Member.birth_date, func.count())
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.pool_id == pool_id, Claim.status.in_(COUNTED))
        .group_by(Claim.event_kind, Claim.event_date, Member.birth_date)
    ).all()
    for kind, event_date, birth_date, count in rows:
        found = table.event(kind)
        at = found.band_at(age_on(birth_date, event_date)) if found else None
        if at is not None:
            claims[(kind, at.ages)] += int(count)
    keys = set(exposure) | set(claims)
    return {
        key: Experience(exposure.get(key, Decimal(0)).quantize(Decimal("0.0001")), claims.get(key, 0)) for key in keys
    }


def live_groups(session: Session, pool_id: int, on: date) -> LiveGroups:
    """Live members on ``on`` as ``(birth year, birth month, year joined, month joined, count)``."""
    return member_groups(session, pool_id, on).live()


def ages_of(groups: LiveGroups, on: date) -> dict[int, int]:
    """Live members by age on ``on`` (each taken as born in the middle of their birth month)."""
    ages: dict[int, int] = defaultdict(int)
    for born_year, born_month, _, _, count in groups:
        ages[max(age_on(date(born_year, born_month, 15), on), 0)] += count
    return dict(ages)


def live_ages(session: Session, pool_id: int, on: date) -> dict[int, int]:
    """Live members by age on ``on``."""
    return ages_of(live_groups(session, pool_id, on), on)


def durations_of(groups: LiveGroups, on: date, group_years: int, count: int, waiting_years: float) -> list[list[float]]:
    """Live members by age group (``group_years`` wide from 0, the last open) and duration
    (waiting period, year 1, year 2, year 3 on)."""
    table = [[0.0] * 4 for _ in range(count)]
    for born_year, born_month, joined_year, joined_month, n in groups:
        age = max(age_on(date(born_year, born_month, 15), on), 0)
        years = (on - date(joined_year, joined_month, 15)).days / 365.25
        duration = 0 if years < waiting_years else 1 if years < 1 else 2 if years < 2 else 3
        table[min(age // group_years, count - 1)][duration] += float(n)
    return table


def recent_joins(session: Session, pool_id: int, since: date, until: date) -> tuple[int, dict[int, int]]:
    """Members who joined from ``since`` to ``until`` (both included), and their ages on joining
    (from the years of birth and joining)."""
    born, joined = (func.substr(_month_of(session, c), 1, 4) for c in (Member.birth_date, Member.joined_on))
    rows = session.execute(
        select(born, joined, func.count())
        .where(Member.pool_id == pool_id, Member.joined_on >= since, Member.joined_on <= until)
        .group_by(born, joined)
    ).all()
    ages: dict[int, int] = defaultdict(int)
    for born_year, joined_year, count in rows:
        ages[max(int(joined_year) - int(born_year), 0)] += int(count)
    return sum(ages.values()), dict(ages)


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """One period shared, as its run recorded it (minor units)."""

    period: str
    notice_date: date
    members: int
    claims: int
    aid_minor: int
    fee_minor: int
    share_minor: int
    charged_minor: int
    surplus_out_minor: int


def shared_periods(session: Session, pool_id: int) -> list[PeriodFigures]:
    """Every period the pool has shared, oldest first (one row per run: no member rows)."""
    rows = session.execute(
        select(
            SharingRun.period,
            SharingRun.notice_date,
            SharingRun.members_count,
            SharingRun.claims_count,
            SharingRun.aid_minor,
            SharingRun.fee_minor,
            SharingRun.share_minor,
            SharingRun.charged_minor,
            SharingRun.surplus_out_minor,
        )
        .where(SharingRun.pool_id == pool_id)
        .order_by(SharingRun.notice_date, SharingRun.id)
    ).all()
    return [PeriodFigures(*row) for row in rows]


def pending_aid(session: Session, pool_id: int) -> int:
    """Benefits approved and not yet shared, in minor units."""
    total = session.scalar(
        select(func.coalesce(func.sum(Claim.benefit_minor), 0)).where(
            Claim.pool_id == pool_id, Claim.status == ClaimStatus.APPROVED.value
        )
    )
    return int(total or 0)
