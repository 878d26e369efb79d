"""What postpaid and prepaid payments share: the payment model a verb needs, a postpaid run found
by its period, the retry window, and look-ups of many members at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..db.bulk import chunks, ids_in
from ..db.models import LedgerEntry, Member, SharingRun
from ..db.runs import live_run
from ..errors import StateError, ValidationError
from ..periods import parse_period
from ..pools import PoolRecord
from ..vocabulary import EntryKind, PaymentModel

__all__ = ["PostpaidRun", "find_run", "pool_members", "require_model", "settled_runs", "window_end"]


def require_model(pool: PoolRecord, model: PaymentModel, action: str) -> None:
    """Refuse ``action`` in a pool of the other payment model, saying what to use instead."""
    actual = pool.config.payments.model
    if actual == model:
        return
    if model == PaymentModel.PREPAID:
        raise StateError(
            f"pool {pool.key!r} is postpaid: members pay each share after the sharing run and keep no balance, so "
            f"{action} is for prepaid pools only; import payment results with 'mutualaid payment import'"
        )
    raise StateError(
        f"pool {pool.key!r} is prepaid: shares are deducted from members' balances, so {action} is for postpaid "
        "pools only; record money received with 'mutualaid balance topup' or 'mutualaid balance import'"
    )


def window_end(deduction_date: date, retry_days: int) -> date:
    """The last day a postpaid share may be paid: ``retry_days`` after the deduction day."""
    return deduction_date + timedelta(days=retry_days)


def settled_runs(pool_id: int) -> Select[int | None]:
    """The runs of the pool already settled: each has its ``unpaid`` entry."""
    return select(LedgerEntry.run_id).where(
        LedgerEntry.pool_id == pool_id, LedgerEntry.kind == EntryKind.UNPAID, LedgerEntry.run_id.is_not(None)
    )


@dataclass(frozen=True, slots=True)
class PostpaidRun:
    """A postpaid sharing run whose shares are being paid."""

    id: int
    period: str
    deduction_date: date
    window_end: date
    settled: bool


def find_run(session: Session, pool: PoolRecord, text: str) -> tuple[PostpaidRun | None, str | None]:
    """The postpaid run of the period written ``text``, or the problem with it (``period: ...``)."""
    config = pool.config
    try:
        period = parse_period(text, config)
    except ValidationError as exc:
        return None, f"period: {exc.problems[0]}"
    row = session.execute(
        select(SharingRun.id, SharingRun.deduction_date, SharingRun.payment_model).where(
            SharingRun.pool_id == pool.id, SharingRun.period == period.key, live_run(SharingRun.id)
        )
    ).first()
    if row is None:
        return None, f"period: {period.key} of pool {pool.key!r} has not been shared, so nothing is due for it"
    if row.payment_model != PaymentModel.POSTPAID:
        return None, f"period: {period.key} was shared as a prepaid period (its shares were deducted from balances)"
    settled = session.scalar(settled_runs(pool.id).where(LedgerEntry.run_id == row.id).limit(1)) is not None
    end = window_end(row.deduction_date, config.payments.retry_days)
    return PostpaidRun(row.id, period.key, row.deduction_date, end, settled), None


def pool_members(
    session: Session, pool_id: int, member_ids: Iterable[int], *columns: InstrumentedAttribute[Any]
) -> dict[int, tuple[Any, ...]]:
    """``columns`` of each of ``member_ids`` that is a member of the pool, looked up in batches by
    the primary key alone. The pool is checked here, not in the query: ``pool_id = ? AND id IN
    (...)`` lets SQLite pick the sharing index (it starts with ``pool_id`` and holds every column
    such a look-up reads) and walk the whole pool for a few thousand numbers whenever the tables
    have no statistics; by the primary key the cost follows the numbers asked for, not the pool."""
    found: dict[int, tuple[Any, ...]] = {}
    for chunk in chunks(sorted(set(member_ids))):
        for member_id, member_pool, *values in session.execute(
            select(Member.id, Member.pool_id, *columns).where(ids_in(Member.id, chunk))
        ):
            if member_pool == pool_id:
                found[member_id] = tuple(values)
    return found
