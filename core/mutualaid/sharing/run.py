"""A sharing run: a period's approved claims shared among the members covered at its cut-off,
exact to the minor unit.

A run is planned in Python (a handful of integers, :mod:`.plan`) and applied to the members in
SQL (:mod:`.charges`): one ``INSERT ... SELECT`` writes every charge, whatever the pool's size.
A period is shared at most once (unless its run is voided before its deduction day:
:mod:`.void`; the period is then shared again, the run's ``attempt`` counting the voided runs
before it) and in order; the run is atomic (inside the caller's transaction)
and serialised per pool (the pool row is locked, and on PostgreSQL the members table is locked
against writes for the run's few seconds, so the count and the charges see the same members).

What a run does not do is in plain sight in the API, in the same transaction: settling postpaid
retry windows before it (:mod:`mutualaid.payments.settlement`), deducting prepaid balances after
it and reporting low balances (:mod:`mutualaid.payments.balances`), and firing the
``sharing_completed`` hook once all of that is done. This module never imports ``payments``: a
prepaid pool's coverage comes in as a :data:`~.charges.Covers` function.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..claims import machine
from ..db.models import Charge, Claim, SharingRun
from ..db.runs import live_run, voided_run
from ..db.statistics import refresh_statistics
from ..errors import AlreadySharedError, StateError
from ..ledger.books import account_balances
from ..money import apportion
from ..periods import Period
from ..plugins import Plugins
from ..pools import PoolRecord, lock_pool, pool_today
from ..vocabulary import Account, ClaimStatus, ShortfallPolicy
from .charges import Covers, RunCharges, verify_written
from .plan import SharingPlan
from .posting import post_run
from .result import SharingResult, result_of

__all__ = ["open_period", "run_sharing"]


def _existing(session: Session, pool: PoolRecord, period: str) -> SharingRun | None:
    """The period's run that counts (a voided run does not: the period can be shared again)."""
    return session.scalar(
        select(SharingRun).where(SharingRun.pool_id == pool.id, SharingRun.period == period, live_run(SharingRun.id))
    )


def _refuse_twice(pool: PoolRecord, run: SharingRun) -> AlreadySharedError:
    return AlreadySharedError(
        f"period {run.period} of pool {pool.key!r} was already shared (run #{run.id}, {run.members_count:,} members "
        f"charged); nothing was charged again. See 'mutualaid share show {pool.key} --period {run.period}'"
    )


def open_period(session: Session, pool: PoolRecord, period: Period) -> SharingRun | None:
    """Lock the pool for a run of ``period`` and refuse a period already shared or out of order.

    Serialises runs of a pool, and keeps the members still while they are counted and charged:
    the pool row is locked, and on PostgreSQL the members table is locked against writes (joins,
    exits and imports wait for the run's seconds; reads go on; the lock conflicts with itself, so
    two runs cannot both hold it and then deadlock on the members they freeze).

    :returns: the pool's last run before this period, if any.
    :raises AlreadySharedError: if the period was already shared.
    :raises StateError: if a later period was already shared.
    """
    today = pool_today(pool.definition)
    if period.notice_date > today:
        raise StateError(
            f"period {period.key} cannot be shared before its notice day {period.notice_date.isoformat()} "
            f"(today is {today.isoformat()} in the pool's time zone): its members are counted at 00:00 that day"
        )
    lock_pool(session, pool)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE members IN SHARE ROW EXCLUSIVE MODE"))
    existing = _existing(session, pool, period.key)
    if existing is not None:
        raise _refuse_twice(pool, existing)
    last = session.scalar(
        select(SharingRun)
        .where(SharingRun.pool_id == pool.id, live_run(SharingRun.id))
        .order_by(SharingRun.notice_date.desc(), SharingRun.id.desc())
        .limit(1)
    )
    if last is not None and last.notice_date >= period.notice_date:
        raise StateError(
            f"period {period.key} comes before the last shared period {last.period} of pool {pool.key!r}; "
            "periods are shared in order"
        )
    return last


def run_sharing(
    session: Session, plugins: Plugins, pool: PoolRecord, period: Period, *, covers: Covers | None = None
) -> SharingResult:
    """Share a period's approved claims among the members covered at its cut-off.

    Atomic (inside the caller's transaction) and idempotent: a period already shared raises
    :class:`AlreadySharedError` and charges nothing.

    :param covers: for a prepaid pool, whether a member's balance covers an amount (only covered
        members share; the others are frozen); ``None`` for a postpaid pool.
    """
    last = open_period(session, pool, period)
    # The claims this run funds, locked so that a claim approved meanwhile waits for the next run
    # instead of being marked shared without being in this run's aid. A period has few claims.
    # An event after the notice day is the next period's: its members are counted at 00:00 of that day.
    funded = session.execute(
        select(Claim.id, Claim.benefit_minor)
        .where(
            Claim.pool_id == pool.id,
            Claim.status == ClaimStatus.APPROVED,
            Claim.sharing_run_id.is_(None),
            Claim.event_date <= period.notice_date,
        )
        .order_by(Claim.id)
        .with_for_update(key_share=True)
    ).all()
    claim_ids = [claim_id for claim_id, _ in funded]
    benefits = [int(benefit or 0) for _, benefit in funded]
    charges = RunCharges(
        session,
        pool,
        period,
        aid=sum(benefits),
        claims=len(claim_ids),
        surplus_in=last.surplus_out_minor if last is not None else 0,
        carried_in=max(account_balances(session, pool.id)[Account.DEFICIT], 0),
        covers=covers,
    )
    plan = charges.plan()
    run = _insert_run(session, pool, period, plan, len(claim_ids), charges.carried_in)
    charges.freeze_uncovered(plugins, run.id)
    written = charges.write_charges(run.id) if plan.charged > 0 else charges.no_charges(run.id)
    funding = verify_written(run.id, plan, written, charges.caps, pool)
    funded_by_claim = apportion(funding.aid_funded, benefits) if funding.aid_funded != plan.aid else list(benefits)
    run.charged_minor = funding.charged
    run.fee_minor = funding.fee
    run.surplus_out_minor = funding.surplus_out
    run.aid_funded_minor = funding.aid_funded
    run.sponsor_minor = funding.sponsor
    run.carried_out_minor = funding.carried_out
    run.shortfall_minor = funding.shortfall
    run.capped_count = written.capped
    run.charge_rows = written.rows
    run.max_charge_minor = written.largest
    run.charge_digest = written.digest
    run.frozen_count = charges.frozen
    run.extra_from_id, run.extra_to_id = written.extra_from, written.extra_to
    if not plan.extra:  # the rotation stays where it was
        run.extra_from_id, run.extra_to_id = 0, charges.start[1] if charges.start else 0
    run.plan_json = json.dumps(
        {
            "classes": [
                {"weight": w, "count": c, "share": s}
                for w, c, s in zip(plan.weights, plan.counts, plan.shares, strict=True)
            ],
            "caps": {"uniform": charges.caps.uniform, "per_year": charges.caps.per_year},
            "funded": dict(zip(map(str, claim_ids), funded_by_claim, strict=True)),
        },
        sort_keys=True,
    )
    machine.share(session, list(zip(claim_ids, funded_by_claim, strict=True)), run_id=run.id, period=period.key)
    session.flush()
    post_run(session, pool, run, funding, plan, claim_ids, funded_by_claim)
    refresh_statistics(session, Charge)
    return result_of(run, pool)


def _insert_run(
    session: Session, pool: PoolRecord, period: Period, plan: SharingPlan, claims: int, carried_in: int
) -> SharingRun:
    """The run's row, with the plan's figures (completed once the charges are written). A second
    process that shared the same period between the checks and this insert is refused by the
    unique (pool, period) key, and this run with it."""
    config = pool.config
    run = SharingRun(
        pool_id=pool.id,
        period=period.key,
        notice_date=period.notice_date,
        deduction_date=period.deduction_date,
        rounding=plan.rounding,
        fee_rate=str(config.sharing.management_fee_rate),
        members_count=plan.members,
        claims_count=claims,
        aid_minor=plan.aid,
        fee_minor=plan.fee,
        surplus_in_minor=plan.surplus_in,
        surplus_out_minor=plan.surplus_out,
        need_minor=plan.need,
        share_minor=plan.share,
        extra_count=plan.extra,
        charged_minor=plan.charged,
        created_at=datetime.now(UTC),
        fee_policy=config.sharing.management_fee,
        payment_model=config.payments.model,
        total_weight=plan.total_weight,
        carried_in_minor=carried_in,
        shortfall_policy=config.sharing.caps.shortfall if config.sharing.caps.any else ShortfallPolicy.NONE,
        attempt=int(
            session.scalar(
                select(func.count()).where(
                    SharingRun.pool_id == pool.id, SharingRun.period == period.key, voided_run(SharingRun.id)
                )
            )
            or 0
        ),
    )
    session.add(run)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        winner = _existing(session, pool, period.key)
        if winner is None:
            raise
        raise _refuse_twice(pool, winner) from None
    return run
