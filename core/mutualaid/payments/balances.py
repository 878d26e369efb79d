"""Prepaid balances: the balance each member of a prepaid pool holds from joining, who a balance
covers when a period is shared, the deduction of a run's shares, the members whose balance is low
(and the hook that tells plugins), and a member's balance with its history.

Every member of a prepaid pool has a balance row from the day they join (0 until a top-up:
:func:`open_balances`, which the API calls as members join or are imported; revision 0016 wrote
them for the members who joined before). The members whose balance is low are then found in
``balances`` alone, which is read in member order, without looking every member's balance up one
by one: on a pool of 20M where nobody was low, that look-up took 14 s.

The sharing run asks :func:`covers` which members' balances cover the most the period could ask
of them (the others are frozen); once the run is written, the API deducts its charges
(:func:`deduct`) and reports low balances (:func:`after_deduction`), in the run's transaction.
Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, TextClause, and_, exists, func, literal, select, text, update
from sqlalchemy.orm import Session

from ..db.bulk import upsert
from ..db.models import Balance, Charge, Member, SharingRun, TopUp, TopUpReversal
from ..db.runs import voided_run
from ..errors import ValidationError
from ..members.history import frozen_spans
from ..members.lifecycle import is_live
from ..members.service import get_member
from ..money import to_minor
from ..periods import Period
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool
from ..vocabulary import LIVE_STATUSES, PaymentModel
from .common import require_model
from .records import BalanceRecord, Deduction, LowBalance, TopUpLine

__all__ = [
    "after_deduction",
    "balance",
    "count_low_balances",
    "covers",
    "deduct",
    "give_back",
    "low_balance_members",
    "low_balance_condition",
    "low_balance_rows",
    "open_balances",
    "threshold_minor",
]


#: SQLite's name of the index of the balances' primary key (the member): made with the table.
BALANCES_KEY = "sqlite_autoindex_balances_1"


def open_balances(session: Session, pool: PoolRecord, *, after: int) -> None:
    """Open a balance of 0 for each member of a prepaid pool numbered above ``after`` that has
    none (the members just joined or imported: the largest member number before them is
    ``after``); nothing for a postpaid pool. One ``INSERT ... SELECT``; a row that is there already
    (a member another transaction opened) is kept as it is."""
    if pool.config.payments.model != PaymentModel.PREPAID:
        return
    connection = session.connection()
    joined = select(Member.id, Member.pool_id, literal(0)).where(Member.pool_id == pool.id, Member.id > after)
    table = cast(Table, Balance.__table__)
    connection.execute(
        upsert(connection, table)
        .from_select(["member_id", "pool_id", "balance_minor"], joined)
        .on_conflict_do_nothing(index_elements=[table.c.member_id])
    )


def covers(amount: Any, *, least: int = 0) -> ColumnElement[bool]:
    """SQL: the member's prepaid balance (0 without a balance row) is at least ``amount`` (an SQL
    expression over the member, such as the most a weight class could be asked for).

    ``least`` is the smallest value ``amount`` takes. When it is above 0 a member without a balance
    row cannot be covered, and the condition is an ``EXISTS``, which PostgreSQL runs as one join
    of the members with their balances (a million members counted in 0.35 s) where the balance
    read as a value is looked up member by member (1.05 s); SQLite runs both the same way."""
    if least > 0:
        return exists().where(Balance.member_id == Member.id, Balance.balance_minor >= amount)
    held = select(Balance.balance_minor).where(Balance.member_id == Member.id).scalar_subquery()
    return func.coalesce(held, 0) >= amount


def deduct(session: Session, run_id: int) -> None:
    """Take every charge of a prepaid run off its member's balance (one statement)."""
    session.execute(
        update(Balance)
        .where(Balance.member_id == Charge.member_id, Charge.run_id == run_id)
        .values(balance_minor=Balance.balance_minor - Charge.amount_minor)
        .execution_options(synchronize_session=False)
    )


def give_back(session: Session, run_id: int) -> int:
    """Give every charge of a voided prepaid run back to its member's balance (one statement, the
    opposite of :func:`deduct`); the run's reversing entry accounts for it. Returns the total."""
    session.execute(
        update(Balance)
        .where(Balance.member_id == Charge.member_id, Charge.run_id == run_id)
        .values(balance_minor=Balance.balance_minor + Charge.amount_minor)
        .execution_options(synchronize_session=False)
    )
    return int(
        session.scalar(select(func.coalesce(func.sum(Charge.amount_minor), 0)).where(Charge.run_id == run_id)) or 0
    )


def _balances_below(pool: PoolRecord, below: int) -> ColumnElement[bool]:
    """The pool's balances below ``below`` minor units."""
    return and_(Balance.pool_id == pool.id, Balance.balance_minor < literal(below))


def _low_condition(pool: PoolRecord, below: int) -> ColumnElement[bool]:
    # The pool's balances are what is read, each low one's member looked up after. The pool is named
    # on the balances alone (a balance holds its member's pool): named on the members too, SQLite
    # reads every member of the pool from its sharing index and looks each one's balance up, 8x slower.
    return and_(_balances_below(pool, below), is_live())


def threshold_minor(pool: PoolRecord, threshold: Decimal | str | int | None) -> int:
    """A low-balance threshold in minor units (default: the pool's ``low_balance``).

    :raises ValidationError: for an amount that is not exact in the pool's currency, or negative.
    """
    value = pool.config.payments.low_balance if threshold is None else threshold
    try:
        minor = to_minor(value, pool.currency)
    except (ValueError, TypeError) as exc:
        raise ValidationError([f"threshold: {exc}"]) from None
    if minor < 0:
        raise ValidationError([f"threshold: must not be negative ({value} given)"])
    return minor


def low_balance_condition(pool: PoolRecord, threshold: Decimal | str | int | None = None) -> ColumnElement[bool]:
    """The members :func:`low_balance_members` gives, as a condition over the members (outer-joined
    to their balance or not), for callers that read the members in member order and select their
    own columns: the low-balance notices, each worker a range of member numbers.

    The member's number must be among those of the pool's balances below the threshold: the
    database reads the pool's balances once for the numbers of the low ones, puts them in order
    (SQLite: a list of numbers; PostgreSQL: a join it chooses by its statistics), and looks each
    one's member up by its key. A pool where few balances are low then costs one read of its
    balances, not of every member with their balance (0.14 s against 1.15 s at 5M on SQLite, 0.13
    against 0.50 s at 2M on PostgreSQL), and the members are never read by the pool's index, which
    SQLite's sampled statistics (about a thousand members to a pool, they guess) made it choose and
    then sort every recipient before the first notice (2 s at 5M)."""
    below = threshold_minor(pool, threshold)
    low = select(Balance.member_id).where(_balances_below(pool, below))
    return and_(Member.id.in_(low), Member.pool_id == pool.id, is_live())


def low_balance_members(
    session: Session, pool: PoolRecord, threshold: Decimal | str | int | None = None, *, limit: int | None = None
) -> Iterator[LowBalance]:
    """The live members of a prepaid pool whose balance is below ``threshold`` (default
    ``[payments] low_balance``), frozen members included, in member order; streamed from one query.

    The balances are read in member order and each low one's member looked up: the members who
    are not low are never read (every member holds a balance row: :func:`open_balances`). On
    SQLite the balances are read by their key (:data:`BALANCES_KEY`), which gives them in member
    order: the first page stops at ``limit``, and a listing of millions is not sorted first. Left
    to the statistics a sampled ``ANALYZE`` gathers (about a thousand balances to a pool, it
    guessed), SQLite read a pool's balances by its pool and sorted them (1.9 s for the first 50 of
    10M); told not to, it first built a filter of every member's number (0.9 s).

    :raises StateError: if the pool is postpaid (its members keep no balance).
    """
    require_model(pool, PaymentModel.PREPAID, "a low-balance list")
    minor = threshold_minor(pool, threshold)
    query: Any
    if session.get_bind().dialect.name == "sqlite":
        query = _by_key_on_sqlite(pool, minor, limit)
    else:
        query = low_balance_rows(Member.id, Member.name, Member.status, Balance.balance_minor).where(
            _low_condition(pool, minor)
        )
        if limit is not None:
            query = query.limit(limit)
    for member_id, name, status, held in session.execute(query.execution_options(yield_per=2000)):
        yield LowBalance(member_id=member_id, name=name, status=status, balance_minor=int(held), currency=pool.currency)


def _by_key_on_sqlite(pool: PoolRecord, below: int, limit: int | None) -> TextClause:
    """:func:`low_balance_members`' query on SQLite, the balances read by their key (SQLAlchemy
    does not write SQLite's ``INDEXED BY``); the same rows as :func:`low_balance_rows` gives with
    the balances-first condition the count uses."""
    live = ", ".join(f"'{status}'" for status in LIVE_STATUSES)
    sql = (
        f"SELECT m.id, m.name, m.status, b.balance_minor FROM balances AS b INDEXED BY {BALANCES_KEY} "
        "JOIN members AS m ON m.id = b.member_id "
        f"WHERE b.pool_id = :pool AND b.balance_minor < :below AND m.status IN ({live}) ORDER BY b.member_id"
    )
    if limit is None:
        return text(sql).bindparams(pool=pool.id, below=below)
    return text(f"{sql} LIMIT :limit").bindparams(pool=pool.id, below=below, limit=limit)


def count_low_balances(session: Session, pool: PoolRecord, threshold: Decimal | str | int | None = None) -> int:
    """How many members :func:`low_balance_members` would give (one ``count`` in the database)."""
    minor = threshold_minor(pool, threshold)
    return int(session.scalar(low_balance_rows(func.count()).order_by(None).where(_low_condition(pool, minor))) or 0)


def low_balance_rows(*columns: Any) -> Any:
    """``SELECT columns`` from the balances joined to their members, in member order: what the
    listing and the count of the low balances are written over."""
    return (
        select(*columns).select_from(Balance).join(Member, Member.id == Balance.member_id).order_by(Balance.member_id)
    )


def after_deduction(session: Session, plugins: Plugins, pool: PoolRecord, period: Period) -> int:
    """After a prepaid run's deductions: count the members whose balance is now low and, if there
    are any, call the ``balances_low`` hook once for the pool (not per member).

    :param period: the period the run shared.
    :returns: the number of live members below ``[payments] low_balance`` (0 for a postpaid pool).
    """
    config = pool.config
    if config.payments.model != PaymentModel.PREPAID:
        return 0
    count = count_low_balances(session, pool)
    if count:
        plugins.hook.balances_low(pool=config, period=period, count=count, threshold=config.payments.low_balance)
    return count


def balance(session: Session, plugins: Plugins, pool_key: str, member: int | str) -> BalanceRecord:
    """A prepaid member's balance, whether they are frozen, and their top-ups, deductions and frozen spans.

    :raises StateError: if the pool is postpaid (its members keep no balance).
    """
    pool = get_pool(session, plugins, pool_key)
    require_model(pool, PaymentModel.PREPAID, "a balance")
    record = get_member(session, pool, member)
    held = session.scalar(select(Balance.balance_minor).where(Balance.member_id == record.id))
    top_ups = tuple(
        TopUpLine(t.id, t.received_on, int(t.amount_minor), t.reference, reversed_on, reason)
        for t, reversed_on, reason in session.execute(
            select(TopUp, TopUpReversal.reversed_on, TopUpReversal.reason)
            .outerjoin(TopUpReversal, TopUpReversal.top_up_id == TopUp.id)
            .where(TopUp.member_id == record.id, TopUp.pool_id == pool.id)
            .order_by(TopUp.received_on, TopUp.id)
        )
    )
    deductions = tuple(
        Deduction(run_id, period, deducted_on, int(amount), bool(voided))
        for run_id, period, deducted_on, amount, voided in session.execute(
            select(
                SharingRun.id,
                SharingRun.period,
                SharingRun.deduction_date,
                Charge.amount_minor,
                voided_run(SharingRun.id),
            )
            .join(Charge, Charge.run_id == SharingRun.id)
            .where(
                SharingRun.pool_id == pool.id,
                SharingRun.payment_model == PaymentModel.PREPAID,
                Charge.member_id == record.id,
            )
            .order_by(SharingRun.notice_date, SharingRun.id)
        )
    )
    return BalanceRecord(
        member_id=record.id,
        pool_key=pool.key,
        name=record.name,
        status=record.status,
        currency=pool.currency,
        balance_minor=int(held or 0),
        low_balance_minor=threshold_minor(pool, None),
        top_ups=top_ups,
        deductions=deductions,
        frozen_spans=frozen_spans(session, record.id),
    )
