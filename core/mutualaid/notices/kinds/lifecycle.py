"""The notices about a membership's events, each from the member's history and the payments behind
it: ``payment-failed`` (postpaid: collecting a period's share failed and it is not paid yet),
``lapse`` (postpaid: the retry window closed on a failed share), ``frozen`` and ``unfrozen``
(prepaid: a balance that could not cover a share; a top-up back to the pool's ``low_balance``) and
``exit`` (the member left the pool).

The kinds about an event (all but ``payment-failed``) go to each member's latest change of that
kind (``member_status_changes``), only those on or after ``request.since`` when given and only the
members asked for when any are; their reference is the history row, so a notice is sent once per
event. ``payment-failed`` is about one period (``--period``); its reference is the period.

Context: ``payments``, ``fee``, ``caps``, ``sharing`` (the pool's rules,
:func:`~.common.money_rules`). Per kind:

* ``payment-failed``: batch ``period`` (key, notice and deduction dates) and ``window_end`` (the
  last day of retries: the deduction day plus ``retry_days``) and ``lapse_from`` (the day after);
  per member ``charge``, ``failed_on`` (the last failed attempt) and ``attempts`` (how many failed).
* ``lapse``: ``since`` (the first day without cover), ``last_day`` (the membership's last day) and
  ``unpaid`` (the share that lapsed it: ``period``, ``amount``, ``failed_on``; ``None`` when the
  history does not name it).
* ``frozen``: ``since``, ``balance`` (now) and ``share`` (what the period's share asked for:
  ``period`` and ``amount``, ``None`` when not known, e.g. shares by weight).
* ``unfrozen``: ``since`` (cover restored from) and ``balance`` (now).
* ``exit``: ``since`` (the first day no longer a member), ``last_day`` and, prepaid, ``balance``
  (what the pool still holds for the member; ``None`` in a postpaid pool).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, TextClause, and_, cast, func, literal, select, text
from sqlalchemy.orm import Session

from ...db.models import PAST_JOINING, Balance, Charge, Member, MemberStatusChange, Payment, SharingRun
from ...errors import NotFoundError, StateError
from ...money import format_minor
from ...payments.common import find_run
from ...pools import PoolRecord
from ...vocabulary import LIVE_STATUSES, MemberChange, MemberStatus, NoticeKind, PaymentModel, PaymentResult
from ..context import member_columns
from ..spec import NoticeRequest, NoticeSpec
from .common import money_rules, period_context

__all__ = ["EXIT", "FROZEN", "LAPSE", "PAYMENT_FAILED", "UNFROZEN"]

#: How a settlement and a prepaid run name the run in a history row's cause (see
#: :mod:`mutualaid.payments.settlement` and :mod:`mutualaid.sharing.charges`).
_LAPSE_CAUSE = "share of period "
_FREEZE_CAUSE = "balance too low for the share of period "


def _only(model: PaymentModel, kind: str, why: str) -> Any:
    def check(pool: PoolRecord, request: NoticeRequest) -> None:
        if pool.config.payments.model != model:
            raise StateError(
                f"pool {pool.key!r} is {pool.config.payments.model.value}: {why}, so it has no {kind} notices"
            )

    return check


def _rules(session: Session, pool: PoolRecord, request: NoticeRequest, locale: str) -> dict[str, Any]:
    return money_rules(pool)


def _stem(name: str) -> Any:
    return lambda request: name + (f".{request.locale}" if request.locale else "")


def _change_reference(row: Any, request: NoticeRequest) -> str:
    return str(row.change_id)


def _amount(minor: Any, batch: dict[str, Any]) -> str | None:
    return None if minor is None else format_minor(int(minor), batch["pool"]["currency"])


def _events(pool: PoolRecord, request: NoticeRequest, change: MemberChange, *columns: Any) -> Select[Any]:
    """Each member's latest ``change`` (on or after ``request.since``; of the members asked for),
    the member's columns, then ``change_id``, ``since``, ``cause`` and ``columns``."""
    # The partial index of the history past joining, by change and day: its condition repeated word
    # for word, so that SQLite sees the query implies it (joining rows are most of the history).
    conditions: list[ColumnElement[bool] | TextClause] = [
        Member.pool_id == pool.id,
        MemberStatusChange.change == change.value,
        text(PAST_JOINING),
    ]
    if request.since is not None:
        conditions.append(MemberStatusChange.since >= request.since)
    if request.members:
        conditions.append(Member.id.in_(list(request.members)))
    latest = (
        select(MemberStatusChange.member_id, func.max(MemberStatusChange.id).label("change_id"))
        .join(Member, Member.id == MemberStatusChange.member_id)
        .where(*conditions)
        .group_by(MemberStatusChange.member_id)
        .subquery("latest")
    )
    return (
        select(
            *member_columns(),
            MemberStatusChange.id.label("change_id"),
            MemberStatusChange.since.label("since"),
            MemberStatusChange.cause.label("cause"),
            *columns,
        )
        .select_from(Member)
        .join(latest, latest.c.member_id == Member.id)
        .join(MemberStatusChange, MemberStatusChange.id == latest.c.change_id)
        .order_by(Member.id)
    )


def _named_run(pool: PoolRecord, prefix: str) -> ColumnElement[bool]:
    """SQL: the pool's run a history row's cause names (``<prefix><period> (run #<id>)...``)."""
    named = literal(prefix) + SharingRun.period + literal(" (run #") + cast(SharingRun.id, String) + literal(")%")
    return and_(SharingRun.pool_id == pool.id, MemberStatusChange.cause.like(named))


def _balance() -> Any:
    held = select(Balance.balance_minor).where(Balance.member_id == Member.id).scalar_subquery()
    return func.coalesce(held, 0).label("held")


# -- payment-failed (postpaid) ----------------------------------------------------------------------


def _failed_batch(session: Session, pool: PoolRecord, request: NoticeRequest, locale: str) -> dict[str, Any]:
    if request.period is None:  # pragma: no cover - the service asks for a period first
        raise ValueError("a payment-failed notice needs a period")
    run, problem = find_run(session, pool, request.period.key)
    if run is None:
        raise NotFoundError(str(problem).replace("period: ", "period ", 1))
    return {
        "period": period_context(request.period),
        "window_end": run.window_end.isoformat(),
        "lapse_from": (run.window_end + timedelta(days=1)).isoformat(),
        **money_rules(pool),
        "_run_id": run.id,
    }


def _failed_recipients(
    session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]
) -> Select[Any]:
    """The live members whose share of the period's run has a failed attempt and no paid one."""
    run_id = batch["_run_id"]
    failed = (
        select(
            Payment.member_id.label("member_id"),
            func.max(Payment.attempted_on).label("failed_on"),
            func.count().label("attempts"),
        )
        .where(Payment.run_id == run_id, Payment.result == PaymentResult.FAILED)
        .group_by(Payment.member_id)
        .subquery("failed")
    )
    paid = select(Payment.member_id).where(Payment.run_id == run_id, Payment.result == PaymentResult.PAID)
    query = (
        select(*member_columns(), Charge.amount_minor.label("charge"), failed.c.failed_on, failed.c.attempts)
        .join(Charge, and_(Charge.member_id == Member.id, Charge.run_id == run_id))
        .join(failed, failed.c.member_id == Member.id)
        .where(Member.status.in_(list(LIVE_STATUSES)), Member.id.not_in(paid))
        .order_by(Member.id)
    )
    if request.members:
        query = query.where(Member.id.in_(list(request.members)))
    return query


def _failed_member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    return {
        "charge": _amount(row.charge, batch),
        "failed_on": row.failed_on.isoformat(),
        "attempts": int(row.attempts),
    }


PAYMENT_FAILED = NoticeSpec(
    kind=NoticeKind.PAYMENT_FAILED,
    template=NoticeKind.PAYMENT_FAILED,
    file_stem=lambda request: f"payment-failed-{request.period.key if request.period else ''}",
    stream_stem=lambda request: (
        f"payment-failed-{request.period.key if request.period else ''}"
        + (f".{request.locale}" if request.locale else "")
    ),
    batch=_failed_batch,
    recipients=_failed_recipients,
    member=_failed_member,
    reference=lambda row, request: request.period.key if request.period else "",
    check=_only(PaymentModel.POSTPAID, "payment-failed", "shares are deducted from members' balances"),
    needs_period=True,
    description="postpaid: collecting a period's share failed; until when it is retried, and what if it stays unpaid",
)


# -- lapse (postpaid) ------------------------------------------------------------------------------


def _lapse_recipients(session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]) -> Select[Any]:
    """Each lapsed member's lapse, with the share that lapsed them when the cause names its run:
    the period, the amount and the last failed attempt."""
    failed_on = (
        select(func.max(Payment.attempted_on))
        .where(
            Payment.run_id == SharingRun.id,
            Payment.member_id == Member.id,
            Payment.result == PaymentResult.FAILED,
        )
        .correlate(SharingRun, Member)
        .scalar_subquery()
    )
    query = _events(
        pool,
        request,
        MemberChange.LAPSED,
        SharingRun.period.label("run_period"),
        Charge.amount_minor.label("unpaid"),
        failed_on.label("failed_on"),
    )
    return query.outerjoin(SharingRun, _named_run(pool, _LAPSE_CAUSE)).outerjoin(
        Charge, and_(Charge.run_id == SharingRun.id, Charge.member_id == Member.id)
    )


def _lapse_member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    unpaid = None
    if row.run_period is not None and row.unpaid is not None:
        unpaid = {
            "period": row.run_period,
            "amount": _amount(row.unpaid, batch),
            "failed_on": row.failed_on.isoformat() if row.failed_on is not None else None,
        }
    return {
        "since": row.since.isoformat(),
        "last_day": row.ended_on.isoformat() if row.ended_on is not None else None,
        "unpaid": unpaid,
    }


LAPSE = NoticeSpec(
    kind=NoticeKind.LAPSE,
    template=NoticeKind.LAPSE,
    file_stem=lambda request: "lapse",
    stream_stem=_stem("lapses"),
    batch=_rules,
    recipients=_lapse_recipients,
    member=_lapse_member,
    reference=_change_reference,
    description="a membership lapsed for an unpaid share: when, why, what it means and how to rejoin",
)


# -- frozen and unfrozen (prepaid) -------------------------------------------------------------------


def _frozen_recipients(
    session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]
) -> Select[Any]:
    """The members frozen now, each with their latest freeze, their balance and the run that froze
    them (its share) when the cause names it."""
    query = _events(
        pool,
        request,
        MemberChange.FROZEN,
        _balance(),
        SharingRun.period.label("run_period"),
        SharingRun.share_minor.label("run_share"),
        SharingRun.extra_count.label("run_extra"),
        SharingRun.plan_json.label("run_plan"),
    )
    return query.outerjoin(SharingRun, _named_run(pool, _FREEZE_CAUSE)).where(
        Member.status == MemberStatus.FROZEN.value
    )


def _asked(row: Any) -> int | None:
    """The most the run could ask of a member: what their balance had to cover (one share for
    everyone, with the extra minor unit of an exact apportionment, within a uniform cap)."""
    if row.run_share is None:
        return None
    plan = json.loads(row.run_plan or "{}")
    shares = {int(c["share"]) for c in plan.get("classes") or [] if int(c.get("count", 1))}
    if len(shares) > 1:
        return None  # shares by weight: which one was theirs is not recorded
    asked = int(row.run_share) + (1 if row.run_extra else 0)
    uniform = (plan.get("caps") or {}).get("uniform")
    return min(asked, int(uniform)) if uniform is not None else asked


def _frozen_member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    asked = _asked(row)
    return {
        "since": row.since.isoformat(),
        "balance": _amount(row.held, batch),
        "share": {"period": row.run_period, "amount": _amount(asked, batch)} if asked is not None else None,
    }


FROZEN = NoticeSpec(
    kind=NoticeKind.FROZEN,
    template=NoticeKind.FROZEN,
    file_stem=lambda request: "frozen",
    stream_stem=_stem("frozen"),
    batch=_rules,
    recipients=_frozen_recipients,
    member=_frozen_member,
    reference=_change_reference,
    check=_only(PaymentModel.PREPAID, "frozen", "its members keep no balance and are never frozen"),
    description="prepaid: a balance could not cover a share; what being frozen means and how to end it",
)


def _unfrozen_recipients(
    session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]
) -> Select[Any]:
    """Each member's latest unfreezing, with their balance now."""
    return _events(pool, request, MemberChange.UNFROZEN, _balance())


UNFROZEN = NoticeSpec(
    kind=NoticeKind.UNFROZEN,
    template=NoticeKind.UNFROZEN,
    file_stem=lambda request: "unfrozen",
    stream_stem=_stem("unfrozen"),
    batch=_rules,
    recipients=_unfrozen_recipients,
    member=lambda row, batch: {"since": row.since.isoformat(), "balance": _amount(row.held, batch)},
    reference=_change_reference,
    check=_only(PaymentModel.PREPAID, "unfrozen", "its members keep no balance and are never frozen"),
    description="prepaid: a top-up restored cover; from which day, and the balance",
)


# -- exit -------------------------------------------------------------------------------------------


def _exit_recipients(session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]) -> Select[Any]:
    """Each member who left (not a death), with, prepaid, the balance the pool still holds."""
    held = _balance() if batch["payments"]["model"] == PaymentModel.PREPAID else literal(None).label("held")
    return _events(pool, request, MemberChange.EXITED, held).where(Member.status == MemberStatus.EXITED.value)


def _exit_member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    return {
        "since": row.since.isoformat(),
        "last_day": row.ended_on.isoformat() if row.ended_on is not None else None,
        "balance": _amount(row.held, batch),
    }


EXIT = NoticeSpec(
    kind=NoticeKind.EXIT,
    template=NoticeKind.EXIT,
    file_stem=lambda request: "exit",
    stream_stem=_stem("exits"),
    batch=_rules,
    recipients=_exit_recipients,
    member=_exit_member,
    reference=_change_reference,
    description="a member left: the date, the periods still shared and, prepaid, the balance still held",
)
