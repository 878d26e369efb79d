"""The low-balance reminder (prepaid pools): a balance below the pool's threshold (by default to
every live member below it, frozen members included).

Context: ``payments`` (the pool's rules, with ``low_balance`` the threshold of this rendering);
per member ``balance``, ``low``, ``frozen`` and ``last_share`` (what the pool's last prepaid run
deducted from them, or ``None``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, literal, null, select
from sqlalchemy.orm import Session

from ...db.models import Balance, Charge, Member, SharingRun
from ...db.runs import live_run
from ...errors import StateError
from ...money import format_minor
from ...payments.balances import low_balance_condition, threshold_minor
from ...pools import PoolRecord
from ...vocabulary import MemberStatus, NoticeKind, PaymentModel
from ..context import member_columns
from ..spec import NoticeRequest, NoticeSpec
from .common import money_rules

__all__ = ["LOW_BALANCE"]


def _check(pool: PoolRecord, request: NoticeRequest) -> None:
    if pool.config.payments.model != PaymentModel.PREPAID:
        raise StateError(
            f"pool {pool.key!r} is postpaid: its members keep no balance, so it has no low-balance notices"
        )


def _batch(session: Session, pool: PoolRecord, request: NoticeRequest, locale: str) -> dict[str, Any]:
    level = threshold_minor(pool, request.threshold)
    last_run = session.scalar(
        select(SharingRun.id)
        .where(SharingRun.pool_id == pool.id, SharingRun.payment_model == PaymentModel.PREPAID, live_run(SharingRun.id))
        .order_by(SharingRun.notice_date.desc(), SharingRun.id.desc())
        .limit(1)
    )
    rules = money_rules(pool)
    rules["payments"]["low_balance"] = format_minor(level, pool.currency)
    return {**rules, "_level": level, "_last_run": last_run}


def _recipients(session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]) -> Select[Any]:
    """The members asked for whatever their balance, or every live member below the threshold; with
    their balance and what the pool's last prepaid run deducted from them."""
    share: Any = null().label("last_share")  # no prepaid run yet: no charge to look for
    if batch["_last_run"] is not None:
        share = (
            select(Charge.amount_minor)
            .where(Charge.run_id == batch["_last_run"], Charge.member_id == Member.id)
            .scalar_subquery()
            .label("last_share")
        )
    query = (
        select(
            *member_columns(),
            func.coalesce(Balance.balance_minor, 0).label("held"),
            share,
            literal(batch["_last_run"] or 0).label("last_run"),
        )
        .select_from(Member)
        .outerjoin(Balance, Balance.member_id == Member.id)
        .order_by(Member.id)
    )
    if request.members:
        return query.where(Member.id.in_(list(request.members)))
    return query.where(low_balance_condition(pool, request.threshold))


def _member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    currency = batch["pool"]["currency"]
    return {
        "balance": format_minor(int(row.held), currency),
        "low": int(row.held) < batch["_level"],
        "frozen": row.status == MemberStatus.FROZEN,
        "last_share": format_minor(int(row.last_share), currency) if row.last_share is not None else None,
    }


def _reference(row: Any, request: NoticeRequest) -> str:
    """One reminder per deduction: after the pool's last prepaid run (``run-0``: before any)."""
    return f"run-{row.last_run}"


LOW_BALANCE = NoticeSpec(
    kind=NoticeKind.LOW_BALANCE,
    template=NoticeKind.LOW_BALANCE,
    file_stem=lambda request: "low-balance",
    stream_stem=lambda request: "low-balance" + (f".{request.locale}" if request.locale else ""),
    batch=_batch,
    recipients=_recipients,
    member=_member,
    reference=_reference,
    check=_check,
    description="prepaid pools: a balance below the pool's threshold",
)
