"""The checks of postpaid payment results against the pool's records and each other: does the
share exist, may it take this result (a late payment, a lapsed member), is it paid twice or does a
failure follow its payment. Used by :func:`mutualaid.payments.postpaid.import_payments` on the
rows it staged (:func:`check_staged`): one query finds those not plainly right, which are checked
a chunk at a time, with the first rows of each share in the whole file looked up in the staged
rows; then what the rows come to is added up in SQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Exists, Index, Table, and_, func, or_, select
from sqlalchemy.orm import Session

from ..csvfiles import RowProblems
from ..db.bulk import chunks, ids_in
from ..db.models import Charge, Member, Payment
from ..members.lifecycle import has_ended
from ..money import format_minor
from ..pools import PoolRecord
from ..vocabulary import LIVE_STATUSES, MemberStatus, PaymentResult
from .common import PostpaidRun, pool_members
from .staging import CHUNK_ROWS, RepeatedNumbers, analyse, staged_chunks

__all__ = ["Figures", "Known", "PaymentRow", "check_staged", "known_shares", "repeat_problems", "share_problem"]


@dataclass(slots=True)
class PaymentRow:
    """A row of a payments file that passed the checks of its own cells, with its run."""

    line: int
    member_id: int
    run: PostpaidRun
    paid: bool
    day: date
    amount: int | None

    @property
    def key(self) -> tuple[int, int]:
        return (self.run.id, self.member_id)


@dataclass(slots=True)
class Known:
    """What the database holds about the shares of a chunk of rows (looked up in batches), and
    the first paid and first failed row of each of those shares in the whole file (line, day)."""

    members: dict[int, tuple[str, date | None]]
    charges: dict[tuple[int, int], int]
    paid: dict[tuple[int, int], tuple[date, int]]  # the first paid result of each share: (day, batch)
    failed: dict[tuple[int, int], tuple[date, int]]  # the first failed one
    paid_in_file: dict[tuple[int, int], tuple[int, date]] = field(default_factory=dict)
    failed_in_file: dict[tuple[int, int], tuple[int, date]] = field(default_factory=dict)


def known_shares(
    session: Session, pool: PoolRecord, rows: list[PaymentRow], table: Table, repeated: RepeatedNumbers
) -> Known:
    """Members, charges and earlier payments of a chunk's rows, looked up in batches of member
    numbers, not row by row; and the first rows of their shares in the file, from the staged rows
    for a member the file names more than once, else from the row itself."""
    run_ids = sorted({r.run.id for r in rows})
    members = pool_members(session, pool.id, (r.member_id for r in rows), Member.status, Member.ended_on)
    known = Known({number: (status, ended_on) for number, (status, ended_on) in members.items()}, {}, {}, {})
    # Charges and payments by their (run, member) keys: the primary key of charges and the
    # (run_id, member_id) index of payments, whatever the statistics say.
    for chunk in chunks(sorted(members)):
        for run_id, member_id, amount in session.execute(
            select(Charge.run_id, Charge.member_id, Charge.amount_minor).where(
                ids_in(Charge.run_id, run_ids), ids_in(Charge.member_id, chunk)
            )
        ):
            known.charges[(run_id, member_id)] = int(amount)
        for run_id, member_id, result, day, batch_id in session.execute(
            select(
                Payment.run_id,
                Payment.member_id,
                Payment.result,
                func.min(Payment.attempted_on),
                func.min(Payment.batch_id),
            )
            .where(ids_in(Payment.run_id, run_ids), ids_in(Payment.member_id, chunk))
            .group_by(Payment.run_id, Payment.member_id, Payment.result)
        ):
            (known.paid if result == PaymentResult.PAID else known.failed)[(run_id, member_id)] = (day, batch_id)
    again = sorted({r.member_id for r in rows if r.member_id in repeated and r.member_id in members})
    for chunk in chunks(again):
        first = (
            select(table.c.run_id, table.c.member_id, table.c.paid, func.min(table.c.line).label("line"))
            .where(ids_in(table.c.member_id, chunk))
            .group_by(table.c.run_id, table.c.member_id, table.c.paid)
            .subquery()
        )
        for run_id, member_id, paid, line, day in session.execute(
            select(first.c.run_id, first.c.member_id, first.c.paid, first.c.line, table.c.day).join(
                table, table.c.line == first.c.line
            )
        ):
            (known.paid_in_file if paid else known.failed_in_file)[(run_id, member_id)] = (line, day)
    for r in rows:
        if r.member_id not in repeated:
            (known.paid_in_file if r.paid else known.failed_in_file)[r.key] = (r.line, r.day)
    return known


def share_problem(pool: PoolRecord, r: PaymentRow, known: Known) -> str | None:
    """Whether this row's share exists and can take this result (a late payment, a lapsed member)."""
    member = known.members.get(r.member_id)
    if member is None:
        return f"member_id: pool {pool.key!r} has no member #{r.member_id}"
    if r.key not in known.charges:
        return f"period: member #{r.member_id} was not charged in period {r.run.period}"
    status, ended_on = member
    # Paid after the window closed, or reported once the period was settled: only a share that
    # stayed due (no failed result, so not written off) of a member still live may be paid. A
    # share already paid is left to the checks of repeats.
    first_paid = known.paid_in_file.get(r.key)
    paid_before = r.key in known.paid or (first_paid is not None and first_paid[0] != r.line)
    late = r.paid and not paid_before and (r.run.settled or r.day > r.run.window_end)
    failed_on = (
        known.failed[r.key][0]
        if r.key in known.failed
        else (known.failed_in_file[r.key][1] if r.key in known.failed_in_file else None)
    )
    if late and failed_on is not None:
        fate = "was written off" if r.run.settled else "is written off when the period is settled"
        return (
            f"result: collecting member #{r.member_id}'s share of period {r.run.period} failed on "
            f"{failed_on.isoformat()} and it was not paid by the end of its retry window on "
            f"{r.run.window_end.isoformat()}; the share {fate} and cannot be paid late"
        )
    if status == MemberStatus.LAPSED and ended_on is not None and (late or r.day > ended_on):
        return (
            f"member_id: member #{r.member_id} lapsed on {ended_on.isoformat()} for an unpaid share; "
            "a lapsed member cannot pay late"
        )
    if late and status not in LIVE_STATUSES:
        ended = f" on {ended_on.isoformat()}" if ended_on is not None else ""
        return (
            f"member_id: member #{r.member_id}'s membership ended ({status}{ended}); after the retry window of "
            f"period {r.run.period} closed on {r.run.window_end.isoformat()} only a live member's share still "
            "due can be paid"
        )
    return None


def repeat_problems(pool: PoolRecord, r: PaymentRow, known: Known) -> Iterator[str]:
    """The amount against the share, and a share paid twice or failing after it was paid (for a row
    whose share exists: see :func:`share_problem`)."""
    charge = known.charges[r.key]
    currency = pool.currency
    if r.amount is not None and r.amount != charge:
        yield (
            f"amount: {format_minor(r.amount, currency)} is not the share charged to member #{r.member_id} "
            f"for period {r.run.period} ({format_minor(charge, currency)} {currency})"
        )
    before = known.paid.get(r.key)
    first_in_file = known.paid_in_file.get(r.key)
    if r.paid:
        if before is not None:
            yield (
                f"result: member #{r.member_id} already paid the share of period {r.run.period} on "
                f"{before[0].isoformat()} (payment batch #{before[1]})"
            )
        elif first_in_file is not None and first_in_file[0] != r.line:
            yield (
                f"result: member #{r.member_id}'s share of period {r.run.period} is already paid on line "
                f"{first_in_file[0]}"
            )
        return
    paid_on = before[0] if before is not None else (first_in_file[1] if first_in_file else None)
    if paid_on is not None and r.day > paid_on:
        yield (
            f"result: a failed attempt on {r.day.isoformat()} comes after member #{r.member_id}'s share of "
            f"period {r.run.period} was paid on {paid_on.isoformat()}"
        )


@dataclass(slots=True)
class Figures:
    """What the rows of a file come to: the batch's figures and each period's."""

    rows: int = 0
    paid_count: int = 0
    paid: int = 0
    last_day: date | None = None
    periods: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def failed_count(self) -> int:
        return self.rows - self.paid_count


def check_staged(
    session: Session,
    pool: PoolRecord,
    table: Table,
    runs: dict[int, PostpaidRun],
    repeated: RepeatedNumbers,
    problems: RowProblems,
) -> Figures:
    """Check the staged rows against the database (members, charges, earlier payments) and each
    other. Returns what the rows come to (the batch's figures), once no row has a problem.

    Most rows of a file are plainly right -- a member of the pool, charged for the period, the
    amount given (if any) the one charged, the share not paid before, its member on no other row
    of the file, not after the member lapsed, and if paid late (after the retry window, or in a
    settled period) then for a share that never failed, by a live member -- and one query finds
    the others, a chunk at a time in line order. Only those are checked one by one, with everything
    the database and the file hold about their shares."""
    connection = session.connection()
    if repeated.any:  # the rows of a member named again are looked up by member number
        Index(f"ix_{table.name}_member", table.c.member_id, table.c.run_id, table.c.paid, table.c.line).create(
            connection
        )
    analyse(session, table)
    run_ids = sorted(runs)
    for staged_rows in _unusual_chunks(session, table, run_ids, repeated.any, CHUNK_ROWS):
        rows = [
            PaymentRow(line, member_id, runs[run_id], bool(paid), day, amount)
            for line, run_id, member_id, paid, day, amount, _ in staged_rows
        ]
        known = known_shares(session, pool, rows, table, repeated)
        for r in rows:
            problem = share_problem(pool, r, known)
            if problem:
                problems.add(r.line, problem)
                continue
            for message in repeat_problems(pool, r, known):
                problems.add(r.line, message)
    if problems or not run_ids:
        return Figures()
    return _add_up(session, table, runs)


def _charge_of(table: Table, run_ids: list[int]) -> ColumnElement[bool]:
    """A staged row's charge, among the runs the file names (on PostgreSQL, only their partitions)."""
    return and_(ids_in(Charge.run_id, run_ids), Charge.run_id == table.c.run_id, Charge.member_id == table.c.member_id)


def _unusual_chunks(
    session: Session, table: Table, run_ids: list[int], repeated: bool, size: int
) -> Iterator[list[Any]]:
    """The staged rows that are not plainly right (see :func:`check_staged`) in line order,
    ``size`` at a time. Members and charges are found by their keys."""
    rows = table.c

    def before(result: PaymentResult) -> Exists:
        return (
            select(Payment.id)
            .where(Payment.run_id == rows.run_id, Payment.member_id == rows.member_id, Payment.result == result.value)
            .exists()
        )

    unusual = [
        Member.id.is_(None),
        Charge.amount_minor.is_(None),  # the member of another pool among them: no charge of this one
        # a late payment is refused for a share that failed, or a member no longer live
        and_(
            rows.late,
            or_(before(PaymentResult.FAILED), has_ended()),
        ),
        and_(rows.amount.is_not(None), rows.amount != Charge.amount_minor),
        and_(Member.status == MemberStatus.LAPSED.value, Member.ended_on.is_not(None), rows.day > Member.ended_on),
        before(PaymentResult.PAID),
    ]
    if repeated:
        again = table.alias("again")
        unusual.append(
            select(again.c.line).where(again.c.member_id == rows.member_id, again.c.line != rows.line).exists()
        )
    query = (
        select(table)
        .select_from(table.outerjoin(Member, Member.id == rows.member_id).outerjoin(Charge, _charge_of(table, run_ids)))
        .where(or_(*unusual))
    )
    return staged_chunks(session, table, size, query)


def _add_up(session: Session, table: Table, runs: dict[int, PostpaidRun]) -> Figures:
    """The figures of the staged rows, every one of them checked: rows, paid and failed by period
    (the periods in the order the file first names them), the sum of the shares paid, the last day."""
    rows = table.c
    groups = session.execute(
        select(
            rows.run_id,
            rows.paid,
            func.count(),
            func.sum(Charge.amount_minor),
            func.max(rows.day),
            func.min(rows.line),
        )
        .select_from(table.join(Charge, _charge_of(table, sorted(runs))))
        .group_by(rows.run_id, rows.paid)
    ).all()
    figures = Figures()
    first_line: dict[int, int] = {}
    for run_id, _, _, _, _, line in groups:
        first_line[run_id] = min(line, first_line.get(run_id, line))
    for run_id in sorted(first_line, key=first_line.__getitem__):
        figures.periods[runs[run_id].period] = {"paid_count": 0, "paid": 0, "failed_count": 0}
    for run_id, paid, count, total, last_day, _ in groups:
        period = figures.periods[runs[run_id].period]
        figures.rows += count
        if paid:
            figures.paid_count += count
            figures.paid += int(total)
            period["paid_count"] += count
            period["paid"] += int(total)
        else:
            period["failed_count"] += count
        if figures.last_day is None or last_day > figures.last_day:
            figures.last_day = last_day
    return figures
