"""The welcome notice: on joining, the pool's rules as they are (fee by its real policy, caps and
who bears what they keep members from paying, how members pay), the member's waiting period, their
obligations and how to leave.

Context: ``fee``, ``caps``, ``payments``, ``sharing`` (:func:`~.common.money_rules`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ...db.models import Member
from ...pools import PoolRecord
from ...vocabulary import LIVE_STATUSES, NoticeKind
from ..context import member_columns
from ..spec import NoticeRequest, NoticeSpec
from .common import money_rules

__all__ = ["WELCOME"]


def _batch(session: Session, pool: PoolRecord, request: NoticeRequest, locale: str) -> dict[str, Any]:
    return money_rules(pool)


def _recipients(session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]) -> Select[Any]:
    """The members asked for, or every live member."""
    query = select(*member_columns()).where(Member.pool_id == pool.id).order_by(Member.id)
    if request.members:
        return query.where(Member.id.in_(list(request.members)))
    return query.where(Member.status.in_(LIVE_STATUSES))


WELCOME = NoticeSpec(
    kind=NoticeKind.WELCOME,
    template=NoticeKind.WELCOME,
    file_stem=lambda request: "welcome",
    stream_stem=lambda request: "welcome" + (f".{request.locale}" if request.locale else ""),
    batch=_batch,
    recipients=_recipients,
    member=lambda row, batch: {},
    description="on joining: the pool's rules, caps, waiting period, obligations and how to leave",
)
