"""The ``run-voided`` notice: to every member a voided sharing run charged, that their charge for
the period was withdrawn, and why (:mod:`mutualaid.sharing.void`).

It is about the period's latest voided run (``--period``); its reference in the send log is that
run (``2027-12/run-7``), so that a period voided twice tells its members twice. ``share void``
counts the members whose statement of the run had gone out by email; render or send this notice
to tell them (and whoever received a rendered statement).

Context: ``period`` (key, notice and deduction dates); ``void`` (``run_id``, ``voided_on`` in the
pool's time zone, ``reason``, ``charged``: what the run had charged in all, ``prepaid``: whether
the charge was given back to a balance, ``reshared``: whether the period was shared again since);
``payments``, ``fee``, ``caps``, ``sharing`` (the pool's rules, :func:`~.common.money_rules`). Per
member: ``charge`` (what the voided run had charged them).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, literal, select
from sqlalchemy.orm import Session

from ...db.models import Charge, Member, SharingRun
from ...db.runs import live_run
from ...errors import NotFoundError
from ...money import format_minor
from ...pools import PoolRecord
from ...sharing.void import void_of
from ...vocabulary import NoticeKind, PaymentModel
from ..context import member_columns
from ..spec import NoticeRequest, NoticeSpec
from .common import money_rules, period_context

__all__ = ["RUN_VOIDED"]


def _batch(session: Session, pool: PoolRecord, request: NoticeRequest, locale: str) -> dict[str, Any]:
    period = request.period
    if period is None:  # pragma: no cover - the service asks for a period first
        raise ValueError("a run-voided notice needs a period")
    void = void_of(session, pool, period)
    if void is None:
        raise NotFoundError(
            f"period {period.key} of pool {pool.key!r} has no voided run; the run-voided notice tells the members "
            "a voided run charged ('mutualaid share void')"
        )
    reshared = session.scalar(
        select(SharingRun.id).where(
            SharingRun.pool_id == pool.id, SharingRun.period == period.key, live_run(SharingRun.id)
        )
    )
    return {
        "period": period_context(period),
        "void": {
            "run_id": void.run_id,
            "voided_on": void.voided_on.isoformat(),
            "reason": void.reason,
            "charged": format_minor(void.charged_minor, pool.currency),
            "prepaid": void.payment_model == PaymentModel.PREPAID,
            "reshared": reshared is not None,
        },
        **money_rules(pool),
        "_run_id": void.run_id,
        "_reference": f"{period.key}/run-{void.run_id}",
    }


def _recipients(session: Session, pool: PoolRecord, request: NoticeRequest, batch: dict[str, Any]) -> Select[Any]:
    """Every member the voided run charged (or those of them asked for), with that charge."""
    query = (
        select(
            *member_columns(),
            Charge.amount_minor.label("charge"),
            literal(batch["_reference"]).label("notice_reference"),
        )
        .join(Charge, and_(Charge.member_id == Member.id, Charge.run_id == batch["_run_id"]))
        .order_by(Member.id)
    )
    if request.members:
        query = query.where(Member.id.in_(list(request.members)))
    return query


def _member(row: Any, batch: dict[str, Any]) -> dict[str, Any]:
    return {"charge": format_minor(int(row.charge), batch["pool"]["currency"])}


RUN_VOIDED = NoticeSpec(
    kind=NoticeKind.RUN_VOIDED,
    template=NoticeKind.RUN_VOIDED,
    file_stem=lambda request: f"run-voided-{request.period.key if request.period else ''}",
    stream_stem=lambda request: (
        f"run-voided-{request.period.key if request.period else ''}" + (f".{request.locale}" if request.locale else "")
    ),
    batch=_batch,
    recipients=_recipients,
    member=_member,
    reference=lambda row, request: str(row.notice_reference),
    needs_period=True,
    description="a sharing run was voided before its deduction day: the member's charge for the period is withdrawn, and why",
)
