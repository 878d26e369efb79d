"""The welcome notice: on joining, the pool's rules as they are (fee by its real policy, caps and
who bears what they keep members from paying, how members pay), the member's expected yearly cost
at their age (what funding their cover really costs, with its range: not "join for 0"), the
waiting period, their obligations and how to leave.

Context: ``fee``, ``caps``, ``payments``, ``sharing`` (:func:`~.common.money_rules`); per member,
``cost`` (``expected``, ``p10``, ``p90``, ``age``) or ``None`` when the pool's cohort gives no
incidence to work from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ...cohort import age_on
from ...db.models import Member
from ...errors import MutualAidError
from ...health.history import member_groups
from ...health.quote import FeeTerms, yearly_cost_table
from ...health.service import pool_incidence
from ...plugins import Plugins
from ...pools import PoolRecord, pool_today
from ...vocabulary import LIVE_STATUSES, NoticeKind
from ..context import member_columns
from ..spec import NoticeRequest, NoticeSpec
from .common import money_rules

__all__ = ["WELCOME"]

#: Ages of the expected-cost table a welcome rendering works out once.
COST_AGES = range(0, 101)
#: Simulated years behind each age's range (the quote's own default is larger; a welcome needs
#: the figure to the yuan, not the fen).
COST_SIMULATIONS = 1_000


def _costs(session: Session, plugins: Plugins, pool: PoolRecord, request: NoticeRequest) -> Mapping[str, Any]:
    """The expected yearly cost at every age, once per rendering (nothing when the cohort has no
    incidence: the notice then says nothing of it rather than something untrue)."""
    today = pool_today(pool.definition)
    groups = member_groups(session, pool.id, today)
    try:
        incidence = pool_incidence(session, plugins, pool, today, groups=groups)
    except MutualAidError:
        return {}
    size = sum(n for *_, n in groups.live())
    table = yearly_cost_table(
        incidence.blended, COST_AGES, pool.currency, FeeTerms.of(pool.config), size + 1, simulations=COST_SIMULATIONS
    )
    return {"costs": {q.age: (str(q.expected), str(q.low), str(q.high)) for q in table}}


def _batch(session: Session, pool: PoolRecord, request: NoticeRequest, locale: str) -> dict[str, Any]:
    return {**money_rules(pool), "_costs": request.extra.get("costs")}


def _member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    costs = batch.get("_costs")
    if not costs:
        return {"cost": None}
    age = age_on(row.birth_date, row.joined_on)
    found = costs.get(min(max(age, 0), COST_AGES[-1]))
    if found is None:
        return {"cost": None}
    expected, low, high = found
    return {"cost": {"age": age, "expected": expected, "p10": low, "p90": high}}


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
    member=_member,
    description="on joining: the pool's rules, the expected yearly cost, caps, waiting period, obligations and how to leave",
    prepare=_costs,
)
