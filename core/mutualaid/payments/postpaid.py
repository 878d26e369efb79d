"""Postpaid pools: the results of collecting each share, imported from a file, and a period's
shares with what became of each.

Each share a sharing run charges is an amount due (the run's entry debits ``members_due``). The
results of collecting it are imported from a CSV file (:func:`import_payments`): ``paid`` or
``failed``, on a day from the deduction day to the end of the retry window (``retry_days`` after
it; a failed attempt may be retried inside it). A share with no result at all is not a failure:
it stays due and its member keeps their rights; while the member is live it may still be reported
``paid`` after the window, also once the period is settled (:mod:`mutualaid.payments.settlement`).

Every import is all or nothing: each bad row is reported as ``FILE:LINE: field: message`` and
nothing is written. Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

from sqlalchemy import Table, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..csvfiles import RowProblems, check_file, file_digest, parse_amount, parse_member_number, read_records
from ..db.bulk import bulk_insert, chunks, ids_in
from ..db.models import Charge, Member, Payment, PaymentBatch
from ..db.statistics import refresh_statistics
from ..errors import NotFoundError, StateError, ValidationError
from ..fields import parse_date
from ..ledger.digests import DIGEST_KIND, payment_rows_digest
from ..ledger.posting import Line, post_entry
from ..money import format_minor
from ..periods import parse_period
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool, lock_pool, pool_today
from ..vocabulary import LIVE_STATUSES, Account, EntryKind, MemberStatus, PaymentModel, PaymentResult, PaymentState
from .common import PostpaidRun, find_run, pool_members, require_model
from .records import PaymentImport, PaymentStatus

__all__ = ["PAYMENT_COLUMNS", "import_payments", "list_payments"]

#: Columns of a payments file; ``amount`` may be left out.
PAYMENT_COLUMNS = ("member_id", "period", "result", "date")
PAYMENT_OPTIONAL = ("amount",)


@dataclass(slots=True)
class _PaymentRow:
    line: int
    member_id: int
    run: PostpaidRun
    paid: bool
    day: date
    amount: int | None

    @property
    def key(self) -> tuple[int, int]:
        return (self.run.id, self.member_id)


def import_payments(session: Session, plugins: Plugins, pool_key: str, path: str | Path) -> PaymentImport:
    """Record the results of collecting postpaid shares from a CSV file, all or nothing.

    The file has a header row with ``member_id,period,result,date`` and optionally ``amount``:
    one attempt to collect a member's share of a period per row, ``paid`` or ``failed``, on a day
    written ``YYYY-MM-DD`` from the period's deduction day to the last day of its retry window
    (``[payments] retry_days`` later), and not in the future. ``amount``, when given, must be the
    share charged. A failed attempt may be followed by others until one is paid; a share is paid
    once. A lapsed member cannot pay late. After the window -- and for a period already settled,
    whatever the day -- a share may only be reported ``paid``, and only when it stayed due: no
    failed result for it (so it was not written off) and its member still live.

    Everything is checked before anything is written; each bad row is reported as
    ``FILE:LINE: field: message``. The same file (by its SHA-256) is imported into a pool once.
    Writes one ``payment_batches`` row, one ``payments`` row per line (``COPY`` on PostgreSQL,
    batched ``executemany`` elsewhere) and one ledger entry of kind ``payments`` (Dr ``cash``,
    Cr ``members_due`` for the total paid).

    :raises StateError: if the pool is prepaid, or the file was already imported.
    :raises ImportRowsError: listing every bad row; nothing is written.
    """
    pool = get_pool(session, plugins, pool_key)
    require_model(pool, PaymentModel.POSTPAID, "importing payment results")
    path = Path(path)
    check_file(path, "payment results")
    lock_pool(session, pool)
    digest = file_digest(path)
    earlier = _batch_of(session, pool, digest)
    if earlier is not None:
        raise _imported_twice(path, pool, digest, *earlier)
    problems = RowProblems(path)
    rows, count = _read(session, pool, path, problems)
    if count == 0 and not problems:
        raise ValidationError([f"{path}: the file has a header but no rows; nothing was imported"])
    charges = _check_against_records(session, pool, rows, problems)
    problems.raise_for(count, "payments")
    imported = _record(session, pool, path, digest, rows, charges)
    refresh_statistics(session, Payment)
    return imported


def _batch_of(session: Session, pool: PoolRecord, digest: str) -> tuple[int, str, datetime] | None:
    row = session.execute(
        select(PaymentBatch.id, PaymentBatch.source, PaymentBatch.imported_at).where(
            PaymentBatch.pool_id == pool.id, PaymentBatch.digest == digest
        )
    ).first()
    return (row.id, row.source, row.imported_at) if row is not None else None


def _imported_twice(path: Path, pool: PoolRecord, digest: str, batch_id: int, source: str, at: datetime) -> StateError:
    when = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(pool.config.tz).date()
    return StateError(
        f"{path}: this file was already imported into pool {pool.key!r} as payment batch #{batch_id} on "
        f"{when.isoformat()} (from {source}; same contents, sha256 {digest[:12]}); nothing was imported again"
    )


def _read(session: Session, pool: PoolRecord, path: Path, problems: RowProblems) -> tuple[list[_PaymentRow], int]:
    """Each row checked on its own (its member number, period, result, day and amount)."""
    today = pool_today(pool.definition)
    runs: dict[str, tuple[PostpaidRun | None, str | None]] = {}
    rows: list[_PaymentRow] = []
    count = 0
    for line, cells in read_records(path, PAYMENT_COLUMNS, PAYMENT_OPTIONAL, problems):
        count += 1
        period_text = cells.get("period", "")
        if period_text not in runs:
            runs[period_text] = find_run(session, pool, period_text)
        row, row_problems = _row(pool, line, cells, *runs[period_text], today)
        for problem in row_problems:
            problems.add(line, problem)
        if row is not None:
            rows.append(row)
    return rows, count


def _row(
    pool: PoolRecord, line: int, cells: dict[str, str], run: PostpaidRun | None, run_problem: str | None, today: date
) -> tuple[_PaymentRow | None, list[str]]:
    problems: list[str] = []
    member_id = parse_member_number(cells.get("member_id", ""))
    if member_id is None:
        problems.append(f"member_id: {cells.get('member_id', '')!r} is not a member number")
    result = cells.get("result", "").lower()
    if run_problem:
        problems.append(run_problem)
    elif run is not None and run.settled and result == PaymentResult.FAILED:
        problems.append(
            f"period: {run.period} was settled when its retry window closed on {run.window_end.isoformat()} "
            "(shares whose collection failed were written off and their members lapsed); it takes no more "
            "failed results, only the payment of a share still due"
        )
        run = None
    if result not in (PaymentResult.PAID, PaymentResult.FAILED):
        problems.append(f"result: must be paid or failed ({cells.get('result', '')!r} given)")
    day: date | None = None
    try:
        day = parse_date(cells.get("date", ""), "date")
    except ValueError:
        problems.append(f"date: must be a date written YYYY-MM-DD ({cells.get('date', '')!r} given)")
    if day is not None:
        if day > today:
            problems.append(
                f"date: {day.isoformat()} is in the future (today is {today.isoformat()} in the pool's time zone)"
            )
        elif run is not None and day < run.deduction_date:
            problems.append(
                f"date: {day.isoformat()} is before the deduction day {run.deduction_date.isoformat()} of "
                f"period {run.period}"
            )
        elif run is not None and day > run.window_end and result != PaymentResult.PAID:
            problems.append(
                f"date: {day.isoformat()} is after the retry window of period {run.period} closed on "
                f"{run.window_end.isoformat()} (retry_days = {pool.config.payments.retry_days}); "
                "a share whose collection failed and was not paid by then is written off and the member lapses"
            )
    amount: int | None = None
    if cells.get("amount"):
        amount, amount_problem = parse_amount(cells["amount"], pool.currency)
        if amount_problem:
            problems.append(f"amount: {amount_problem}")
    if problems:
        return None, problems
    paid = result == PaymentResult.PAID
    return _PaymentRow(line, cast(int, member_id), cast(PostpaidRun, run), paid, cast(date, day), amount), []


@dataclass(slots=True)
class _Known:
    """What the database holds about the shares a file names (looked up in batches)."""

    members: dict[int, tuple[str, date | None]]
    charges: dict[tuple[int, int], int]
    paid: dict[tuple[int, int], tuple[date, int]]  # the first paid result of each share: (day, batch)
    failed: dict[tuple[int, int], tuple[date, int]]  # the first failed one


def _known(session: Session, pool: PoolRecord, rows: list[_PaymentRow]) -> _Known:
    """Members, charges and earlier payments, looked up in batches of member numbers, not row by row."""
    run_ids = sorted({r.run.id for r in rows})
    members = pool_members(session, pool.id, (r.member_id for r in rows), Member.status, Member.ended_on)
    known = _Known({number: (status, ended_on) for number, (status, ended_on) in members.items()}, {}, {}, {})
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
    return known


def _check_against_records(
    session: Session, pool: PoolRecord, rows: list[_PaymentRow], problems: RowProblems
) -> dict[tuple[int, int], int]:
    """Check the rows against the database (members, charges, earlier payments) and each other.
    Returns each (run, member) charge in minor units."""
    known = _known(session, pool, rows)
    paid_in_file: dict[tuple[int, int], _PaymentRow] = {}
    failed_in_file: dict[tuple[int, int], _PaymentRow] = {}
    for r in rows:
        (paid_in_file if r.paid else failed_in_file).setdefault(r.key, r)
    for r in rows:
        problem = _share_problem(pool, r, known, paid_in_file, failed_in_file)
        if problem:
            problems.add(r.line, problem)
            continue
        for message in _repeat_problems(pool, r, known, paid_in_file):
            problems.add(r.line, message)
    return known.charges


def _share_problem(
    pool: PoolRecord,
    r: _PaymentRow,
    known: _Known,
    paid_in_file: dict[tuple[int, int], _PaymentRow],
    failed_in_file: dict[tuple[int, int], _PaymentRow],
) -> str | None:
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
    first_paid = paid_in_file.get(r.key)
    paid_before = r.key in known.paid or (first_paid is not None and first_paid is not r)
    late = r.paid and not paid_before and (r.run.settled or r.day > r.run.window_end)
    failed_on = (
        known.failed[r.key][0]
        if r.key in known.failed
        else (failed_in_file[r.key].day if r.key in failed_in_file else None)
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


def _repeat_problems(
    pool: PoolRecord, r: _PaymentRow, known: _Known, paid_in_file: dict[tuple[int, int], _PaymentRow]
) -> Iterator[str]:
    """The amount against the share, and a share paid twice or failing after it was paid (for a row
    whose share exists: see :func:`_share_problem`)."""
    charge = known.charges[r.key]
    currency = pool.currency
    if r.amount is not None and r.amount != charge:
        yield (
            f"amount: {format_minor(r.amount, currency)} is not the share charged to member #{r.member_id} "
            f"for period {r.run.period} ({format_minor(charge, currency)} {currency})"
        )
    before = known.paid.get(r.key)
    first_in_file = paid_in_file.get(r.key)
    if r.paid:
        if before is not None:
            yield (
                f"result: member #{r.member_id} already paid the share of period {r.run.period} on "
                f"{before[0].isoformat()} (payment batch #{before[1]})"
            )
        elif first_in_file is not None and first_in_file is not r:
            yield (
                f"result: member #{r.member_id}'s share of period {r.run.period} is already paid on line "
                f"{first_in_file.line}"
            )
        return
    paid_on = before[0] if before is not None else (first_in_file.day if first_in_file else None)
    if paid_on is not None and r.day > paid_on:
        yield (
            f"result: a failed attempt on {r.day.isoformat()} comes after member #{r.member_id}'s share of "
            f"period {r.run.period} was paid on {paid_on.isoformat()}"
        )


def _record(
    session: Session,
    pool: PoolRecord,
    path: Path,
    digest: str,
    rows: list[_PaymentRow],
    charges: dict[tuple[int, int], int],
) -> PaymentImport:
    """Write the checked rows: the batch, one payment per row, and the batch's ledger entry."""
    currency = pool.currency
    paid_rows = [r for r in rows if r.paid]
    paid_minor = sum(charges[r.key] for r in paid_rows)
    batch = PaymentBatch(
        pool_id=pool.id,
        source=str(path)[:500],
        digest=digest,
        imported_at=datetime.now(UTC),
        paid_count=len(paid_rows),
        paid_minor=paid_minor,
        failed_count=len(rows) - len(paid_rows),
    )
    _insert_batch(session, pool, path, batch)
    payments = [
        (r.run.id, r.member_id, PaymentResult.PAID if r.paid else PaymentResult.FAILED, r.day, charges[r.key])
        for r in rows
    ]
    bulk_insert(
        session.connection(),
        cast(Table, Payment.__table__),
        ("batch_id", "run_id", "member_id", "result", "attempted_on", "amount_minor"),
        [(batch.id, *p) for p in payments],
    )
    entry = post_entry(
        session,
        pool.id,
        kind=EntryKind.PAYMENTS,
        posted_on=max((r.day for r in rows), default=pool_today(pool.definition)),
        memo=(
            f"payments imported from {path.name}: {len(paid_rows):,} paid ({format_minor(paid_minor, currency)} "
            f"{currency}), {len(rows) - len(paid_rows):,} failed"
        ),
        lines=[Line(Account.CASH, paid_minor), Line(Account.MEMBERS_DUE, -paid_minor)],
        batch_id=batch.id,
        facts={
            "source": path.name,
            "digest": digest,
            "rows": len(rows),
            "paid_count": len(paid_rows),
            "paid": paid_minor,
            "failed_count": len(rows) - len(paid_rows),
            "periods": _by_period(rows, charges),
            # the payments' SHA-256 digest (run, member, result, day, amount), rechecked by ledger verify
            "digest_kind": DIGEST_KIND,
            "rows_digest": payment_rows_digest(batch.id, [(*p[:2], str(p[2]), *p[3:]) for p in payments]),
        },
    )
    return PaymentImport(
        batch_id=batch.id,
        pool_key=pool.key,
        source=batch.source,
        digest=digest,
        currency=currency,
        rows=len(rows),
        paid_count=len(paid_rows),
        paid_minor=paid_minor,
        failed_count=len(rows) - len(paid_rows),
        entry_id=entry.id,
    )


def _insert_batch(session: Session, pool: PoolRecord, path: Path, batch: PaymentBatch) -> None:
    """Insert the batch's row; another import of the same file that got in between the check and
    this insert is refused by the unique (pool, digest) key, and this one with it."""
    try:
        with session.begin_nested():
            session.add(batch)
            session.flush()
    except IntegrityError:
        again = _batch_of(session, pool, batch.digest)
        if again is None:
            raise
        raise _imported_twice(path, pool, batch.digest, *again) from None


def _by_period(rows: list[_PaymentRow], charges: dict[tuple[int, int], int]) -> dict[str, dict[str, int]]:
    """The figures of a batch per period: paid (count and amount) and failed (count)."""
    periods: dict[str, dict[str, int]] = {}
    for r in rows:
        figures = periods.setdefault(r.run.period, {"paid_count": 0, "paid": 0, "failed_count": 0})
        if r.paid:
            figures["paid_count"] += 1
            figures["paid"] += charges[r.key]
        else:
            figures["failed_count"] += 1
    return periods


def list_payments(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    period_key: str,
    *,
    unpaid: bool = False,
    limit: int | None = None,
) -> Iterator[PaymentStatus]:
    """Each share of a postpaid period's run and what became of it, in member order, streamed.

    :param unpaid: only the shares without a ``paid`` payment.
    """
    pool = get_pool(session, plugins, pool_key)
    require_model(pool, PaymentModel.POSTPAID, "listing payments")
    period = parse_period(period_key, pool.config)
    run, problem = find_run(session, pool, period.key)
    if run is None:
        raise NotFoundError(
            f"{cast(str, problem).removeprefix('period: ')}; run 'mutualaid share run {pool.key} --period {period.key}'"
        )
    attempts = (
        select(
            Payment.member_id.label("member_id"),
            func.min(case((Payment.result == PaymentResult.PAID, Payment.attempted_on))).label("paid_on"),
            func.sum(case((Payment.result == PaymentResult.FAILED, 1), else_=0)).label("failed"),
            func.max(Payment.attempted_on).label("last"),
        )
        .where(Payment.run_id == run.id)
        .group_by(Payment.member_id)
        .subquery()
    )
    query = (
        select(
            Charge.member_id,
            Member.name,
            Member.status,
            Charge.amount_minor,
            attempts.c.paid_on,
            attempts.c.failed,
            attempts.c.last,
        )
        .join(Member, Member.id == Charge.member_id)
        .outerjoin(attempts, attempts.c.member_id == Charge.member_id)
        .where(Charge.run_id == run.id)
        .order_by(Charge.member_id)
    )
    if unpaid:
        query = query.where(attempts.c.paid_on.is_(None))
    if limit is not None:
        query = query.limit(limit)
    for member_id, name, status, amount, paid_on, failed, last in session.execute(
        query.execution_options(yield_per=2000)
    ):
        # Settling writes off only the shares whose collection failed; one with no result stays due.
        if paid_on is not None:
            state = PaymentState.PAID
        else:
            state = PaymentState.WRITTEN_OFF if run.settled and failed else PaymentState.UNPAID
        yield PaymentStatus(
            member_id=member_id,
            name=name,
            member_status=status,
            charge_minor=int(amount),
            currency=pool.currency,
            state=state,
            paid_on=paid_on,
            failed_attempts=int(failed or 0),
            last_attempt=last,
        )
