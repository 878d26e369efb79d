"""A postpaid period's shares and what became of each, listed page by page in member order, so
that the first shares of a pool of millions print at once and the memory held stays flat."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, cast

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from ..db.bulk import ids_in
from ..db.models import Charge, Member, Payment
from ..errors import NotFoundError
from ..periods import parse_period
from ..plugins import Plugins
from ..pools import get_pool
from ..vocabulary import PaymentModel, PaymentResult, PaymentState
from .common import PostpaidRun, find_run, require_model
from .records import PaymentStatus

__all__ = ["LIST_BATCH", "list_payments"]

#: Shares read at a time: one query of charges (and their members) and one of their payments.
LIST_BATCH = 2000


def list_payments(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    period_key: str,
    *,
    unpaid: bool = False,
    limit: int | None = None,
    after: int | None = None,
) -> Iterator[PaymentStatus]:
    """Each share of a postpaid period's run and what became of it, in member order, streamed.

    The shares are read :data:`LIST_BATCH` at a time by member number after the last one read
    (keyset paging on the charges' primary key), each page's payments by the (run, member) index:
    the cost of a page does not grow with the pool, and nothing is held beyond a page.

    :param unpaid: only the shares without a ``paid`` payment.
    :param after: start after this member number (the last one of the previous page).
    """
    pool = get_pool(session, plugins, pool_key)
    require_model(pool, PaymentModel.POSTPAID, "listing payments")
    period = parse_period(period_key, pool.config)
    run, problem = find_run(session, pool, period.key)
    if run is None:
        raise NotFoundError(
            f"{cast(str, problem).removeprefix('period: ')}; run 'mutualaid share run {pool.key} --period {period.key}'"
        )
    query = (
        select(Charge.member_id, Member.name, Member.status, Charge.amount_minor)
        .join(Member, Member.id == Charge.member_id)
        .where(Charge.run_id == run.id)
        .order_by(Charge.member_id)
    )
    if unpaid:
        query = query.where(
            ~exists().where(
                Payment.run_id == run.id, Payment.member_id == Charge.member_id, Payment.result == PaymentResult.PAID
            )
        )
    last, left = after, limit
    while left is None or left > 0:
        size = LIST_BATCH if left is None else min(LIST_BATCH, left)
        page = query if last is None else query.where(Charge.member_id > last)
        rows = session.execute(page.limit(size)).all()
        attempts = _attempts(session, run, [row[0] for row in rows])
        for member_id, name, status, amount in rows:
            yield _status(run, pool.currency, member_id, name, status, int(amount), attempts.get(member_id))
        if len(rows) < size:
            return
        last = rows[-1][0]
        left = None if left is None else left - len(rows)


def _attempts(session: Session, run: PostpaidRun, member_ids: list[int]) -> dict[int, tuple[Any, ...]]:
    """Per member of a page: the day its share was first paid, its failed attempts and its last attempt."""
    if not member_ids:
        return {}
    found: dict[int, tuple[Any, ...]] = {}
    for member_id, paid_on, failed, last in session.execute(
        select(
            Payment.member_id,
            func.min(case((Payment.result == PaymentResult.PAID, Payment.attempted_on))),
            func.sum(case((Payment.result == PaymentResult.FAILED, 1), else_=0)),
            func.max(Payment.attempted_on),
        )
        .where(and_(Payment.run_id == run.id, ids_in(Payment.member_id, member_ids)))
        .group_by(Payment.member_id)
    ):
        found[member_id] = (paid_on, failed, last)
    return found


def _status(
    run: PostpaidRun,
    currency: str,
    member_id: int,
    name: str,
    status: str,
    amount: int,
    attempts: tuple[Any, ...] | None,
) -> PaymentStatus:
    paid_on: date | None
    paid_on, failed, last = attempts if attempts is not None else (None, 0, None)
    # Settling writes off only the shares whose collection failed; one with no result stays due.
    if paid_on is not None:
        state = PaymentState.PAID
    else:
        state = PaymentState.WRITTEN_OFF if run.settled and failed else PaymentState.UNPAID
    return PaymentStatus(
        member_id=member_id,
        name=name,
        member_status=status,
        charge_minor=amount,
        currency=currency,
        state=state,
        paid_on=paid_on,
        failed_attempts=int(failed or 0),
        last_attempt=last,
    )
