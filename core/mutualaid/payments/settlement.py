"""Settling postpaid retry windows: the shares whose collection failed and was never paid are
written off, and their members lapse.

A run is settled exactly when it has an ``unpaid`` ledger entry; one is posted even when every
share was paid. Settling is a step of its own: ``mutualaid payment settle`` takes it, and the API
takes it before every sharing run of a postpaid pool (in the run's transaction, shown in its
output), so that members who lapsed no longer share.
Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Charge, Member, Payment, SharingRun
from ..db.runs import live_run
from ..ledger.posting import Line, post_entry
from ..members import lifecycle
from ..money import format_minor
from ..plugins import Plugins
from ..pools import PoolRecord, lock_pool
from ..vocabulary import Account, Bearer, EntryKind, PaymentModel, PaymentResult
from ..wording import plural
from .common import settled_runs, window_end
from .records import Settlement

__all__ = ["settle_payments"]


def settle_payments(session: Session, plugins: Plugins, pool: PoolRecord, on: date) -> list[Settlement]:
    """Settle every postpaid run of ``pool`` whose retry window closed before ``on``.

    For each such run not yet settled, in period order: every member charged by it whose payment
    was reported ``failed`` and never ``paid``, and who is still live, lapses (status ``lapsed``,
    ``ended_on`` the window's last day; :func:`mutualaid.members.lifecycle.lapse_where` records it
    and fires ``member_ended``), so the member shares no later period; and the unpaid total is
    written off in one ledger entry of kind ``unpaid`` (Cr ``members_due``; Dr ``sponsor_due`` or,
    with ``[payments] unpaid = "carry"``, Dr ``deficit``, which the next sharing run collects).

    The lapses are one ``INSERT ... SELECT`` and one ``UPDATE`` per run, whatever the pool's size.
    A prepaid pool has nothing to settle (an empty list).
    """
    config = pool.config
    if config.payments.model != PaymentModel.POSTPAID:
        return []
    retry_days = config.payments.retry_days
    lock_pool(session, pool)
    runs = session.execute(
        select(SharingRun.id, SharingRun.period, SharingRun.deduction_date)
        .where(
            SharingRun.pool_id == pool.id,
            SharingRun.payment_model == PaymentModel.POSTPAID,
            SharingRun.deduction_date < on - timedelta(days=retry_days),
            SharingRun.id.not_in(settled_runs(pool.id)),
            live_run(SharingRun.id),
        )
        .order_by(SharingRun.notice_date, SharingRun.id)
    ).all()
    return [
        _settle_run(session, plugins, pool, run_id, period, window_end(deducted, retry_days))
        for run_id, period, deducted in runs
    ]


def _settle_run(
    session: Session, plugins: Plugins, pool: PoolRecord, run_id: int, period: str, last_day: date
) -> Settlement:
    policy = Bearer(pool.config.payments.unpaid)
    # Driven by the run's payment results (few), not by its charges (one per member): the charges
    # are looked up by key only for the members whose collection failed.
    paid_members = select(Payment.member_id).where(Payment.run_id == run_id, Payment.result == PaymentResult.PAID)
    # Unpaid: collecting it failed and no retry succeeded. A share with no result stays due.
    failed_members = select(Payment.member_id).where(
        Payment.run_id == run_id, Payment.result == PaymentResult.FAILED, Payment.member_id.not_in(paid_members)
    )
    charged_count = int(session.scalar(select(SharingRun.charge_rows).where(SharingRun.id == run_id)) or 0)
    unpaid_count, unpaid_minor = (
        int(v)
        for v in session.execute(
            select(func.count(), func.coalesce(func.sum(Charge.amount_minor), 0)).where(
                Charge.run_id == run_id, Charge.member_id.in_(failed_members)
            )
        ).one()
    )
    paid_count = int(
        session.scalar(
            select(func.count(func.distinct(Payment.member_id))).where(
                Payment.run_id == run_id, Payment.result == PaymentResult.PAID
            )
        )
        or 0
    )
    lapsed = 0
    if unpaid_count:
        unpaid_members = select(Charge.member_id).where(Charge.run_id == run_id, Charge.member_id.in_(failed_members))
        cause = (
            f"share of period {period} (run #{run_id}) unpaid when its retry window closed on {last_day.isoformat()}"
        )
        lapsed = lifecycle.lapse_where(session, plugins, pool, Member.id.in_(unpaid_members), last_day, cause)
    debit = Account.SPONSOR_DUE if policy == Bearer.SPONSOR else Account.DEFICIT
    cur = pool.currency
    entry = post_entry(
        session,
        pool.id,
        kind=EntryKind.UNPAID,
        posted_on=last_day,
        memo=(
            f"period {period}: retry window closed on {last_day.isoformat()}; {unpaid_count:,} of "
            f"{plural(charged_count, 'share')} unpaid ({format_minor(unpaid_minor, cur)} {cur}, "
            + ("borne by the sponsor" if policy == Bearer.SPONSOR else "carried to the next period")
            + f"), {plural(lapsed, 'member')} lapsed"
        ),
        lines=[Line(debit, unpaid_minor), Line(Account.MEMBERS_DUE, -unpaid_minor)],
        run_id=run_id,
        facts={
            "period": period,
            "window_closed": last_day.isoformat(),
            "charged_count": charged_count,
            "unpaid_count": unpaid_count,
            "unpaid": unpaid_minor,
            "lapsed": lapsed,
            "policy": policy.value,
        },
    )
    return Settlement(
        run_id=run_id,
        pool_key=pool.key,
        period=period,
        currency=cur,
        window_closed=last_day,
        charged_count=charged_count,
        unpaid_count=unpaid_count,
        unpaid_minor=unpaid_minor,
        lapsed=lapsed,
        policy=policy.value,
        entry_id=entry.id,
        due_count=charged_count - paid_count - unpaid_count,
    )
