"""Reading a member's history (written by :mod:`mutualaid.members.lifecycle`): every change, the
spans in which the member's rights were suspended, and the corrections of their identity."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Member, MemberIdentityCorrection, MemberStatusChange
from ..vocabulary import MemberChange, MemberStatus
from .records import HistoryEntry, IdentityCorrection, correction_of

__all__ = ["frozen_spans", "history", "identity_corrections"]

_DAY = timedelta(days=1)
#: The changes that end a span of being frozen.
_THAWS = frozenset({MemberChange.UNFROZEN, MemberChange.LAPSED, MemberChange.EXITED, MemberChange.DIED})


def history(session: Session, member_id: int) -> list[HistoryEntry]:
    """A member's changes, oldest first (by the day each holds from, then as recorded).

    The end of the waiting period is recorded when the member joins, dated the day cover of
    illness begins; when the membership ended before that day, it never came and is left out.
    """
    rows = session.execute(
        select(MemberStatusChange.change, MemberStatusChange.status, MemberStatusChange.since, MemberStatusChange.cause)
        .where(MemberStatusChange.member_id == member_id)
        .order_by(MemberStatusChange.since, MemberStatusChange.id)
    ).all()
    ended_on = session.scalar(select(Member.ended_on).where(Member.id == member_id))
    return [
        HistoryEntry(MemberChange(c), MemberStatus(s), since, cause)
        for c, s, since, cause in rows
        if not (c == MemberChange.COVERED and ended_on is not None and since > ended_on)
    ]


def frozen_spans(session: Session, member_id: int) -> tuple[tuple[date, date | None], ...]:
    """The spans in which a member was frozen, oldest first.

    Each span is ``(first day, last day)``: it ends the day before the member's next change that
    thaws it (unfrozen by a top-up, lapsed, exited, died), on the day the membership ended, or is
    ``None`` while the member is still frozen. A member unfrozen on the day they were frozen has no
    span. The joining and the end of the waiting period do not touch a span.
    """
    changes = session.execute(
        select(MemberStatusChange.change, MemberStatusChange.since)
        .where(MemberStatusChange.member_id == member_id)
        .order_by(MemberStatusChange.since, MemberStatusChange.id)
    ).all()
    ended_on = session.scalar(select(Member.ended_on).where(Member.id == member_id))
    spans: list[tuple[date, date | None]] = []
    start: date | None = None
    for change, since in changes:
        if change == MemberChange.FROZEN:
            if start is None:
                start = since
        elif change in _THAWS and start is not None:
            end = since - _DAY
            if end >= start:
                spans.append((start, end))
            start = None
    if start is not None:
        if ended_on is None:
            spans.append((start, None))
        elif ended_on >= start:
            spans.append((start, ended_on))
    return tuple(spans)


def identity_corrections(session: Session, member_id: int) -> list[IdentityCorrection]:
    """The corrections of a member's identity, oldest first (ID numbers masked)."""
    rows = session.scalars(
        select(MemberIdentityCorrection)
        .where(MemberIdentityCorrection.member_id == member_id)
        .order_by(MemberIdentityCorrection.id)
    )
    return [correction_of(row) for row in rows]
