"""Who shares a period, in what order, and how much each weight class owes: the SQL over the
members table that a run counts, walks and charges with.

The members who share a period are those covered at 00:00 of its notice day (joined before it,
not ended before it, not frozen; and out of their waiting period when the pool says so). With
exact rounding the extra minor units go one each to that many members in *rotation order* --
joining day, then member number, the order of the sharing index -- starting after the member who
paid the previous run's last one and wrapping round, so over the periods every member pays them
in turn. The n-th member is found by walking the sharing index, never by numbering every row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, true, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..cohort import SharingWeights
from ..db.models import Member, SharingRun
from ..db.runs import live_run
from ..errors import StateError
from ..periods import Period
from ..pools import PoolRecord
from ..vocabulary import MemberStatus, Weighting

__all__ = [
    "Counts",
    "beyond",
    "by_weight",
    "count_sharers",
    "extra_condition",
    "nth",
    "planned_charge",
    "rotation_start",
    "sharing_members_condition",
    "weight_expr",
]


def sharing_members_condition(pool: PoolRecord, period: Period, *, for_walk: bool = False) -> ColumnElement[bool]:
    """SQL condition for the members covered at 00:00 on ``period``'s notice day (not frozen).

    ``for_walk`` writes the upper bound on the joining day in a form no index uses, so that a walk
    of the sharing index can start at a given (joining day, member number) instead.
    """
    day = period.notice_date
    joined = func.coalesce(Member.joined_on, Member.joined_on) if for_walk else Member.joined_on
    cond = and_(
        Member.pool_id == pool.id,
        joined < day,
        or_(Member.ended_on.is_(None), Member.ended_on >= day),
        Member.status != MemberStatus.FROZEN,
    )
    if not pool.definition.config.sharing.waiting_members_share:
        cond = and_(cond, Member.waiting_until < day)
    return cond


def _born_by(day: date, age: int) -> date:
    """The latest birth date of someone aged at least ``age`` on ``day`` (see cohort.age_on)."""
    try:
        return day.replace(year=day.year - age)
    except ValueError:  # 29 February in a year that has none: born by 28 February
        return day.replace(year=day.year - age, day=28)


def weight_expr(weights: SharingWeights | None, day: date) -> Any:
    """SQL for a member's weight on ``day``, from their birth date; ``None`` without weights."""
    if weights is None or len(weights.bands) == 1:
        return None
    whens = [(Member.birth_date <= _born_by(day, age), literal(w)) for age, w in reversed(weights.bands[1:])]
    return case(*whens, else_=literal(weights.bands[0][1]))


def by_weight(weight: Any, values: dict[int, int]) -> Any:
    """SQL choosing ``values[weight]`` for each member (a literal when all are equal)."""
    distinct = set(values.values())
    if weight is None or len(distinct) == 1:
        return literal(next(iter(distinct)))
    return case(*[(weight == literal(w), literal(v)) for w, v in values.items()], else_=literal(0))


@dataclass(frozen=True, slots=True)
class Counts:
    weights: tuple[int, ...]
    counts: tuple[int, ...]


def beyond(key: tuple[date, int] | None) -> ColumnElement[bool]:
    """Members after ``key`` in rotation order: by joining day, then member number. It is the order
    of the sharing index, so the n-th member is found by walking the index from ``key``."""
    if key is None:
        return true()
    return tuple_(Member.joined_on, Member.id) > tuple_(literal(key[0]), literal(key[1]))


def count_sharers(session: Session, cond: ColumnElement[bool], weight: Any, bands: tuple[int, ...]) -> Counts:
    """Members sharing, per weight: one scan of the sharing index (one sum per weight rather than a
    GROUP BY, which would sort every member)."""
    weights = tuple(sorted(set(bands)))
    columns: list[Any] = [func.count()]
    if weight is not None:
        columns += [func.coalesce(func.sum(case((weight == w, 1), else_=0)), 0) for w in weights[1:]]
    row = [int(v) for v in session.execute(select(*columns).where(cond)).one()]
    counts = (row[0] - sum(row[1:]), *row[1:]) if weight is not None else (row[0],)
    return Counts(weights, tuple(counts))


def nth(session: Session, cond: ColumnElement[bool], n: int, start: tuple[date, int] | None) -> tuple[date, int] | None:
    """The (joining day, member number) of the ``n``-th sharing member after ``start``, if any."""
    return _nth(session, and_(cond, beyond(start)), n, descending=False)


def _nth(session: Session, cond: ColumnElement[bool], n: int, *, descending: bool) -> tuple[date, int] | None:
    """The ``n``-th member of ``cond`` in rotation order, or counting from the end."""
    order = (Member.joined_on.desc(), Member.id.desc()) if descending else (Member.joined_on, Member.id)
    found = session.execute(
        select(Member.joined_on, Member.id).where(cond).order_by(*order).offset(n - 1).limit(1)
    ).first()
    return (found[0], int(found[1])) if found is not None else None


def _counted(session: Session, cond: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(Member).where(cond)) or 0)


def rotation_start(session: Session, pool: PoolRecord) -> tuple[date, int] | None:
    """Where the extra minor units start this run: after the member who paid the last one of the
    previous run that counts (not voided; ``None``: from the first member)."""
    last = session.scalar(
        select(SharingRun.extra_to_id)
        .where(SharingRun.pool_id == pool.id, SharingRun.extra_to_id > 0, live_run(SharingRun.id))
        .order_by(SharingRun.notice_date.desc(), SharingRun.id.desc())
        .limit(1)
    )
    if not last:
        return None
    joined = session.scalar(select(Member.joined_on).where(Member.id == last))
    return (joined, int(last)) if joined is not None else None


def extra_condition(
    session: Session,
    walk: ColumnElement[bool],
    extra: int,
    start: tuple[date, int] | None,
    sharers: int | None = None,
) -> tuple[ColumnElement[bool], int]:
    """Who pays the extra minor units: the ``extra`` members after the previous run's last one, in
    rotation order, wrapping round to the first.

    ``walk`` is the sharing condition written for walking the index (see ``Sharers.walk``). Returns the
    condition and the number of the last member given one (the next run starts after it).

    The last one is the ``extra``-th member from ``start`` going forward, which is also the
    ``sharers - extra + 1``-th going backward (``sharers``: how many members ``walk`` holds, as the
    run counted them). The index is walked from whichever end is nearer: at most half the members,
    instead of up to all of them. Without ``sharers`` it walks forward.
    """
    if sharers is not None and 0 < extra < sharers and sharers - extra + 1 < extra:
        return _extra_backward(session, walk, sharers - extra + 1, start)
    last = nth(session, walk, extra, start)
    if last is not None:
        return and_(beyond(start), ~beyond(last)), last[1]
    wrapped = nth(session, walk, extra - _counted(session, and_(walk, beyond(start))), None)
    if wrapped is None:  # pragma: no cover - counted under the same lock
        raise StateError("the pool's members changed during the run; nothing was charged, run it again")
    return or_(beyond(start), ~beyond(wrapped)), wrapped[1]


def _extra_backward(
    session: Session, walk: ColumnElement[bool], back: int, start: tuple[date, int] | None
) -> tuple[ColumnElement[bool], int]:
    """:func:`extra_condition`'s last member found ``back`` members backward from ``start``: among
    the members up to ``start`` (then the window wraps round), else among those after it, counted
    from the end of the order."""
    if start is None:  # the order from its first member: the window is its beginning
        last = _nth(session, walk, back, descending=True)
        if last is None:  # pragma: no cover - counted under the same lock
            raise StateError("the pool's members changed during the run; nothing was charged, run it again")
        return ~beyond(last), last[1]
    upto = and_(walk, ~beyond(start))
    wrapped = _nth(session, upto, back, descending=True)
    if wrapped is not None:
        return or_(beyond(start), ~beyond(wrapped)), wrapped[1]
    last = _nth(session, and_(walk, beyond(start)), back - _counted(session, upto), descending=True)
    if last is None:  # pragma: no cover - counted under the same lock
        raise StateError("the pool's members changed during the run; nothing was charged, run it again")
    return and_(beyond(start), ~beyond(last)), last[1]


def planned_charge(session: Session, pool: PoolRecord, run: SharingRun) -> Any:
    """SQL over the members table for what ``run`` asked of each member before caps: their weight
    class's share, plus the rotation's extra minor unit if it fell to them (read back from the
    run's recorded rotation: after ``extra_from_id`` up to ``extra_to_id``, wrapping round).

    Meaningful for the members the run charged (its sharing members)."""
    classes = json.loads(run.plan_json or "{}").get("classes") or [{"weight": 1, "share": run.share_minor}]
    shares = {int(c["weight"]): int(c["share"]) for c in classes}
    weight = None
    if len(shares) > 1 and pool.config.sharing.weights == Weighting.COHORT:
        weight = weight_expr(pool.cohort.rules.sharing_weights(pool.settings), run.notice_date)
    base = by_weight(weight, shares)
    if not run.extra_count or not run.extra_to_id:
        return base
    keys = dict(
        session.execute(
            select(Member.id, Member.joined_on).where(Member.id.in_({run.extra_from_id, run.extra_to_id}))
        ).all()
    )
    last = (keys[run.extra_to_id], run.extra_to_id)
    if not run.extra_from_id:
        extra: ColumnElement[bool] = ~beyond(last)
    else:
        start = (keys[run.extra_from_id], run.extra_from_id)
        extra = and_(beyond(start), ~beyond(last)) if last > start else or_(beyond(start), ~beyond(last))
    return base + case((extra, literal(1)), else_=literal(0))
