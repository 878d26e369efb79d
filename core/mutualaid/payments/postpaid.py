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

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    Table,
    and_,
    case,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..csvfiles import RowProblems, check_file, file_digest, parse_amount, parse_member_number, read_columns
from ..db.models import Charge, Member, Payment, PaymentBatch
from ..db.statistics import refresh_statistics
from ..errors import StateError, ValidationError
from ..fields import parse_date
from ..ledger.digests import DIGEST_KIND, payments_digest
from ..ledger.posting import Line, post_entry
from ..money import format_minor
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool, lock_pool, pool_today
from ..vocabulary import Account, EntryKind, PaymentModel, PaymentResult
from . import staging
from .common import PostpaidRun, find_run, require_model
from .listing import list_payments
from .records import PaymentImport
from .share_checks import Figures, check_staged
from .staging import RepeatedNumbers, StreamedProblems, stage, staged

__all__ = ["PAYMENT_COLUMNS", "import_payments", "list_payments"]

#: Columns of a payments file; ``amount`` may be left out.
PAYMENT_COLUMNS = ("member_id", "period", "result", "date")
PAYMENT_OPTIONAL = ("amount",)


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
    Writes one ``payment_batches`` row, one ``payments`` row per line and one ledger entry of kind
    ``payments`` (Dr ``cash``, Cr ``members_due`` for the total paid).

    The file is read once and its rows staged in a temporary table of the transaction, then
    checked and written a chunk at a time (:mod:`mutualaid.payments.staging`): the memory held
    does not grow with the file.

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
    problems = StreamedProblems(path)
    with staged(session, "mutualaid_payment_rows", *_staged_columns()) as table:
        count, runs, repeated = _read(session, pool, path, problems, table)
        if count == 0 and not problems:
            raise ValidationError([f"{path}: the file has a header but no rows; nothing was imported"])
        figures = check_staged(session, pool, table, runs, repeated, problems)
        problems.raise_for(count, "payments")
        imported = _record(session, pool, path, digest, table, figures)
    refresh_statistics(session, Payment)
    return imported


def _staged_columns() -> tuple[Column[Any], ...]:
    """The staged rows of a payments file: each row that passed the checks of its own cells."""
    return (
        Column("line", Integer, primary_key=True),  # SQLite's rowid: the rows in file order
        Column("run_id", BigInteger, nullable=False),
        Column("member_id", BigInteger, nullable=False),
        Column("paid", Boolean, nullable=False),
        Column("day", Date, nullable=False),
        Column("amount", BigInteger),
        Column("late", Boolean, nullable=False),
    )


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


#: Period texts whose run :func:`_read` keeps at once (a file names a few; a broken one, any number).
_PERIODS_KEPT = 1000


def _read(
    session: Session, pool: PoolRecord, path: Path, problems: RowProblems, table: Table
) -> tuple[int, dict[int, PostpaidRun], RepeatedNumbers]:
    """Each row checked on its own (its member number, period, result, day and amount), those that
    pass staged in ``table`` a chunk at a time. Returns the rows read, the runs they name by number
    and the member numbers named more than once.

    A file of a million results names a few periods, days and amounts: everything of a row but its
    member number is checked once per distinct (period, result, day, amount), not once per row
    (parsing an amount exactly costs more than the rest of a row's checks)."""
    today = pool_today(pool.definition)
    found: dict[str, tuple[PostpaidRun | None, str | None]] = {}
    runs: dict[int, PostpaidRun] = {}
    repeated = RepeatedNumbers(int(session.scalar(select(func.max(Member.id))) or 0))
    checked: dict[tuple[str, str, str, str], tuple[_Rest, PostpaidRun | None, tuple[Any, ...]]] = {}
    chunk: list[_Staged] = []
    count = 0
    add_problem, add_number, stage_row = problems.add, repeated.add, chunk.append
    for line, cells in read_columns(path, PAYMENT_COLUMNS, PAYMENT_OPTIONAL, problems):
        count += 1
        key = (cells[1], cells[2], cells[3], cells[4])  # period, result, day, amount
        known = checked.get(key)
        if known is None:
            run = found.get(key[0])
            if run is None:
                if len(found) >= _PERIODS_KEPT:
                    found.clear()
                run = found[key[0]] = find_run(session, pool, key[0])
            if len(checked) >= _VALUES_KEPT:
                checked.clear()
            rest = _rest_of_row(pool, *key, *run, today, pool.currency)
            good: PostpaidRun | None = None
            staged: tuple[Any, ...] = ()
            if not rest.problems and rest.run is not None and rest.day is not None:
                # the cells a row of it stages after its line and member, the day as ISO text
                good, staged = rest.run, (rest.paid, rest.day.isoformat(), rest.amount, rest.late)
            known = checked[key] = (rest, good, staged)
        rest, good, staged = known
        member_id = parse_member_number(cells[0])
        if member_id is None:
            add_problem(line, f"member_id: {cells[0]!r} is not a member number")
        for problem in rest.problems:
            add_problem(line, problem)
        if member_id is None or good is None:
            continue
        runs[good.id] = good
        add_number(member_id)
        stage_row((line, good.id, member_id, *staged))
        if len(chunk) >= staging.CHUNK_ROWS:
            stage(session, table, chunk, days_as_text=True)
            chunk.clear()
    stage(session, table, chunk, days_as_text=True)
    return count, runs, repeated


#: A row as staged: line, run, member, paid (else failed), day (ISO text), the amount
#: given (if any), and whether it is a late payment (after the retry window, or of a settled period).
_Staged = tuple[Any, ...]

#: Distinct (period, result, day, amount) :func:`_read` keeps checked at once.
_VALUES_KEPT = 4096


@dataclass(frozen=True, slots=True)
class _Rest:
    """A row's period, result, day and amount, checked: the run, what the row records, and the
    problems with them (in the order a row's problems are reported, after its member number's)."""

    run: PostpaidRun | None
    paid: bool
    day: date | None
    amount: int | None
    late: bool
    problems: tuple[str, ...]


def _rest_of_row(
    pool: PoolRecord,
    period_text: str,
    result_text: str,
    day_text: str,
    amount_text: str,
    run: PostpaidRun | None,
    run_problem: str | None,
    today: date,
    currency: str,
) -> _Rest:
    problems: list[str] = []
    result = result_text.lower()
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
        problems.append(f"result: must be paid or failed ({result_text!r} given)")
    try:
        day: date | None = parse_date(day_text, "date")
    except ValueError:
        day = None
    if day is None:
        problems.append(f"date: must be a date written YYYY-MM-DD ({day_text!r} given)")
    else:
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
    if amount_text:
        amount, amount_problem = parse_amount(amount_text, currency)
        if amount_problem:
            problems.append(f"amount: {amount_problem}")
    paid = result == PaymentResult.PAID
    late = paid and run is not None and day is not None and (run.settled or day > run.window_end)
    return _Rest(run, paid, day, amount, late, tuple(problems))


def _record(
    session: Session, pool: PoolRecord, path: Path, digest: str, table: Table, figures: Figures
) -> PaymentImport:
    """Write the checked rows: the batch, one payment per staged row (in line order, charged the
    share's amount, by one ``INSERT ... SELECT``), and the batch's ledger entry, whose digest is
    computed from the payments as written, as ``ledger verify`` recomputes it."""
    currency = pool.currency
    batch = PaymentBatch(
        pool_id=pool.id,
        source=str(path)[:500],
        digest=digest,
        imported_at=datetime.now(UTC),
        paid_count=figures.paid_count,
        paid_minor=figures.paid,
        failed_count=figures.failed_count,
    )
    _insert_batch(session, pool, path, batch)
    result = case(
        (table.c.paid == true(), literal(PaymentResult.PAID.value)), else_=literal(PaymentResult.FAILED.value)
    )
    session.connection().execute(
        insert(Payment).from_select(
            ["batch_id", "run_id", "member_id", "result", "attempted_on", "amount_minor"],
            select(literal(batch.id), table.c.run_id, table.c.member_id, result, table.c.day, Charge.amount_minor)
            .join(Charge, and_(Charge.run_id == table.c.run_id, Charge.member_id == table.c.member_id))
            .order_by(table.c.line),
        )
    )
    # the payments' SHA-256 digest (run, member, result, day, amount), rechecked by ledger verify
    written, _, _, _, rows_digest = payments_digest(session, batch.id)
    if written != figures.rows:  # pragma: no cover - every staged row was found charged by the checks
        raise StateError(f"payment batch #{batch.id} wrote {written:,} rows of {figures.rows:,}; nothing was imported")
    entry = post_entry(
        session,
        pool.id,
        kind=EntryKind.PAYMENTS,
        posted_on=figures.last_day or pool_today(pool.definition),
        memo=(
            f"payments imported from {path.name}: {figures.paid_count:,} paid "
            f"({format_minor(figures.paid, currency)} {currency}), {figures.failed_count:,} failed"
        ),
        lines=[Line(Account.CASH, figures.paid), Line(Account.MEMBERS_DUE, -figures.paid)],
        batch_id=batch.id,
        facts={
            "source": path.name,
            "digest": digest,
            "rows": figures.rows,
            "paid_count": figures.paid_count,
            "paid": figures.paid,
            "failed_count": figures.failed_count,
            "periods": figures.periods,
            "digest_kind": DIGEST_KIND,
            "rows_digest": rows_digest,
        },
    )
    return PaymentImport(
        batch_id=batch.id,
        pool_key=pool.key,
        source=batch.source,
        digest=digest,
        currency=currency,
        rows=figures.rows,
        paid_count=figures.paid_count,
        paid_minor=figures.paid,
        failed_count=figures.failed_count,
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
