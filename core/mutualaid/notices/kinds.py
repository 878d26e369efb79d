"""The kinds of notice the core sends, each a :class:`~.spec.NoticeSpec`.

``statement``
    After a sharing run, to every member it charged: the amount charged, the cases it funded with
    claimants masked, the period's accounts and the year-to-date total. Context adds ``period``,
    ``run``, ``claims``; per member ``charge`` and ``ytd``.
``welcome``
    On joining (by default to every live member): the rules, the waiting period's end, the
    member's obligations. Context adds ``sharing``.
``low-balance``
    Prepaid pools: a balance below the pool's threshold (by default every live member below it).
    Context adds ``payments``; per member ``balance``, ``low``, ``frozen`` and ``last_share`` (what
    the pool's last prepaid run deducted from them, or ``None``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from ..db.models import Balance, Charge, Claim, Member, SharingRun
from ..errors import StateError, ValidationError
from ..money import format_minor, format_percent
from ..payments.balances import low_balance_select, threshold_minor
from ..pools import PoolRecord
from ..privacy import mask_name
from ..sharing.lookup import run_of
from ..sharing.result import SharingResult
from ..vocabulary import MemberStatus, NoticeKind, PaymentModel
from .spec import NoticeRequest, NoticeSpec

__all__ = ["KINDS", "LOW_BALANCE", "STATEMENT", "WELCOME", "spec_for"]


# -- statement ----------------------------------------------------------------------------------------


def _statement_batch(session: Session, pool: PoolRecord, request: NoticeRequest) -> dict[str, Any]:
    if request.period is None:  # pragma: no cover - the API asks for a period first
        raise ValueError("a statement needs a period")
    run = run_of(session, pool, request.period)
    return {**_run_context(session, pool, run, request.locale), "_run": run}


def _run_context(session: Session, pool: PoolRecord, run: SharingResult, locale: str) -> dict[str, Any]:
    cur = pool.currency
    cohort = pool.cohort
    claims = []
    for claim, name in session.execute(
        select(Claim, Member.name)
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.sharing_run_id == run.run_id)
        .order_by(Claim.id)
    ).all():
        kind = cohort.event_kind(claim.event_kind)
        claims.append(
            {
                "id": claim.id,
                "claimant": mask_name(name),
                "kind": kind.title_for(locale) if kind else claim.event_kind,
                "event_date": claim.event_date.isoformat(),
                "benefit": format_minor(claim.benefit_minor or 0, cur),
            }
        )
    fmt = lambda m: format_minor(m, cur)  # noqa: E731
    return {
        "period": {
            "key": run.period,
            "notice_date": run.notice_date.isoformat(),
            "deduction_date": run.deduction_date.isoformat(),
        },
        "run": {
            "members": f"{run.members:,}",
            "claims_count": run.claims,
            "aid": fmt(run.aid_minor),
            "fee": fmt(run.fee_minor),
            "fee_rate_percent": format_percent(run.fee_rate),
            "surplus_in": fmt(run.surplus_in_minor),
            "surplus_in_signed": ("-" if run.surplus_in_minor else "") + fmt(run.surplus_in_minor),
            "surplus_out": fmt(run.surplus_out_minor),
            "need": fmt(run.need_minor),
            "share": fmt(run.share_minor),
            "rounding": run.rounding.value,
            "charged": fmt(run.charged_minor),
        },
        "claims": claims,
    }


def _statement_recipients(
    session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]
) -> Select[Any]:
    """Every member the run charged, with their charge and their total of the year so far."""
    run: SharingResult = batch["_run"]
    ytd_runs = select(SharingRun.id).where(
        SharingRun.pool_id == pool.id,
        SharingRun.notice_date >= date(run.notice_date.year, 1, 1),
        SharingRun.notice_date <= run.notice_date,
    )
    ytd = (
        select(Charge.member_id, func.sum(Charge.amount_minor).label("total"))
        .where(Charge.run_id.in_(ytd_runs))
        .group_by(Charge.member_id)
        .subquery()
    )
    return (
        select(Member, Charge.amount_minor, ytd.c.total)
        .join(Charge, and_(Charge.member_id == Member.id, Charge.run_id == run.run_id))
        .join(ytd, ytd.c.member_id == Member.id)
        .order_by(Member.id)
    )


def _statement_member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    _, amount, total = row
    run: SharingResult = batch["_run"]
    return {
        "charge": format_minor(int(amount), run.currency),
        "ytd": {"year": run.notice_date.year, "total": format_minor(int(total), run.currency)},
    }


STATEMENT = NoticeSpec(
    kind=NoticeKind.STATEMENT,
    template=NoticeKind.STATEMENT,
    file_stem=lambda request: f"statement-{request.period.key if request.period else ''}",
    stream_stem=lambda request: f"statements-{request.period.key if request.period else ''}.{request.locale}",
    batch=_statement_batch,
    recipients=_statement_recipients,
    member=_statement_member,
)


# -- welcome ------------------------------------------------------------------------------------------


def _welcome_batch(session: Session, pool: PoolRecord, request: NoticeRequest) -> dict[str, Any]:
    sharing = pool.config.sharing
    return {
        "sharing": {
            "calendar": sharing.calendar.value,
            "notice_days": list(sharing.notice_days or ()),
            "deduction_days": list(sharing.deduction_days or ()),
            "fee_rate_percent": format_percent(sharing.management_fee_rate),
            "rounding": sharing.rounding.value,
        }
    }


def _welcome_recipients(
    session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]
) -> Select[Any]:
    """The members asked for, or every live member."""
    if request.members:
        return select(Member).where(Member.id.in_(list(request.members))).order_by(Member.id)
    return select(Member).where(Member.pool_id == pool.id, Member.ended_on.is_(None)).order_by(Member.id)


WELCOME = NoticeSpec(
    kind=NoticeKind.WELCOME,
    template=NoticeKind.WELCOME,
    file_stem=lambda request: "welcome",
    stream_stem=lambda request: f"welcome.{request.locale}",
    batch=_welcome_batch,
    recipients=_welcome_recipients,
    member=lambda row, batch: {},
)


# -- low balance --------------------------------------------------------------------------------------


def _low_balance_check(pool: PoolRecord, request: NoticeRequest) -> None:
    if pool.config.payments.model != PaymentModel.PREPAID:
        raise StateError(
            f"pool {pool.key!r} is postpaid: its members keep no balance, so it has no low-balance notices"
        )


def _low_balance_batch(session: Session, pool: PoolRecord, request: NoticeRequest) -> dict[str, Any]:
    level = threshold_minor(pool, request.threshold)
    last_run = session.scalar(
        select(SharingRun.id)
        .where(SharingRun.pool_id == pool.id, SharingRun.payment_model == PaymentModel.PREPAID)
        .order_by(SharingRun.notice_date.desc(), SharingRun.id.desc())
        .limit(1)
    )
    return {"payments": {"low_balance": format_minor(level, pool.currency)}, "_level": level, "_last_run": last_run}


def _low_balance_recipients(
    session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]
) -> Select[Any]:
    """The members asked for whatever their balance, or every live member below the threshold; with
    their balance and what the pool's last prepaid run deducted from them."""
    query: Any
    if request.members:
        query = (
            select(Member, func.coalesce(Balance.balance_minor, 0))
            .outerjoin(Balance, Balance.member_id == Member.id)
            .where(Member.id.in_(list(request.members)))
            .order_by(Member.id)
        )
    else:
        query = low_balance_select(pool, request.threshold)
    share = (
        select(Charge.amount_minor)
        .where(Charge.run_id == batch["_last_run"], Charge.member_id == Member.id)
        .scalar_subquery()
        .label("last_share")
    )
    return query.add_columns(share)


def _low_balance_member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    member, held, last_share = row
    currency = batch["pool"]["currency"]
    return {
        "balance": format_minor(int(held), currency),
        "low": int(held) < batch["_level"],
        "frozen": member.status == MemberStatus.FROZEN,
        "last_share": format_minor(int(last_share), currency) if last_share is not None else None,
    }


LOW_BALANCE = NoticeSpec(
    kind=NoticeKind.LOW_BALANCE,
    template=NoticeKind.LOW_BALANCE,
    file_stem=lambda request: "low-balance",
    stream_stem=lambda request: f"low-balance.{request.locale}",
    batch=_low_balance_batch,
    recipients=_low_balance_recipients,
    member=_low_balance_member,
    check=_low_balance_check,
)

#: The core's kinds of notice, by name.
KINDS: dict[str, NoticeSpec] = {spec.kind: spec for spec in (STATEMENT, WELCOME, LOW_BALANCE)}


def spec_for(kind: str) -> NoticeSpec:
    """The spec of a kind of notice; an unknown kind is a :class:`ValidationError`."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ValidationError([f"kind: {kind!r} is not a kind of notice; the kinds are {', '.join(KINDS)}"])
    return spec
