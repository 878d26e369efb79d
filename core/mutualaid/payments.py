"""Paying the shares: postpaid payment results and lapses, prepaid balances, top-ups and freezing.

How members pay is a pool setting (``[payments] model``):

``postpaid`` (the default)
    Each share a sharing run charges is an amount due (the run's entry debits ``members_due``).
    The results of collecting it are imported from a file (:func:`import_payments`): ``paid`` or
    ``failed``, on a day from the deduction day to the end of the retry window (``retry_days``
    after it; a failed attempt may be retried inside it). :func:`settle_payments` closes the
    windows that have ended: every member whose collection failed and was not paid by then lapses
    (status ``lapsed``, the membership ending on the window's last day) and what they owe is written off
    (Cr ``members_due``) to the sponsor (Dr ``sponsor_due``) or to the deficit the next run
    collects (Dr ``deficit``), as ``[payments] unpaid`` says. A run is settled exactly when it has
    an ``unpaid`` ledger entry; one is posted even when every share was paid. A share with no
    result at all is not a failure: it stays due (in ``members_due`` and ``payment list --unpaid``)
    and its member keeps their rights, as nobody has told the pool that collecting it failed; while
    the member is live it may still be reported ``paid`` after the window, also once settled.

``prepaid``
    Members keep a balance (:func:`top_up`, :func:`import_top_ups`; Dr ``cash``, Cr
    ``member_balances``) that each run deducts the shares from. The run freezes a member whose
    balance cannot cover their share; a top-up that brings a frozen member's balance to
    ``[payments] low_balance`` unfreezes them from the top-up's day. :func:`frozen_spans` gives
    the spans in which a member was frozen (claims for events in them are not covered), and
    :func:`low_balance_members` and :func:`after_deduction` find the members to remind.

Every import is all or nothing: each bad row is reported as ``FILE:LINE: field: message`` and
nothing is written. Work over many members is SQL over whole sets (``UPDATE ... WHERE``,
``INSERT ... SELECT``, batched ``executemany`` or ``COPY``), never a Python loop over ORM objects.
Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .csvfiles import open_csv
from .database import bulk_insert
from .errors import ImportRowsError, NotFoundError, StateError, ValidationError
from .fields import parse_date
from .ledger import Line, post_entry
from .members import get_member
from .models import (
    LIVE_STATUSES,
    Balance,
    Charge,
    LedgerEntry,
    Member,
    MemberStatusChange,
    Payment,
    PaymentBatch,
    Pool,
    SharingRun,
    TopUp,
)
from .money import currency_exponent, format_minor, from_minor, to_decimal, to_minor
from .periods import parse_period
from .plugins import Plugins
from .pools import PoolRecord, get_pool, pool_today
from .wording import plural

__all__ = [
    "BalanceRecord",
    "Deduction",
    "LowBalance",
    "PaymentImport",
    "PaymentStatus",
    "Settlement",
    "TopUpImport",
    "TopUpLine",
    "TopUpRecord",
    "after_deduction",
    "balance",
    "count_low_balances",
    "frozen_spans",
    "import_payments",
    "import_top_ups",
    "list_payments",
    "low_balance_members",
    "low_balance_select",
    "settle_payments",
    "top_up",
]

#: Columns of a payments file; ``amount`` may be left out.
PAYMENT_COLUMNS = ("member_id", "period", "result", "date")
PAYMENT_OPTIONAL = ("amount",)
#: Columns of a top-ups file.
TOP_UP_COLUMNS = ("member_id", "amount", "date", "reference")
RESULTS = ("paid", "failed")
_BATCH = 5000
#: At most this many bad rows are listed in an error (the summary gives the full count).
_SHOWN_PROBLEMS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DAY = timedelta(days=1)


# -- records ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentImport:
    """What :func:`import_payments` recorded: one batch and its ledger entry (amounts in minor units)."""

    batch_id: int
    pool_key: str
    source: str
    digest: str
    currency: str
    rows: int
    paid_count: int
    paid_minor: int
    failed_count: int
    entry_id: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "pool": self.pool_key,
            "source": self.source,
            "digest": self.digest,
            "currency": self.currency,
            "rows": self.rows,
            "paid_count": self.paid_count,
            "paid": str(from_minor(self.paid_minor, self.currency)),
            "failed_count": self.failed_count,
            "entry_id": self.entry_id,
        }


@dataclass(frozen=True, slots=True)
class Settlement:
    """One postpaid run whose retry window closed: its failed shares written off, their members lapsed.

    ``unpaid_count``/``unpaid_minor`` are the shares whose collection was reported ``failed`` and never
    ``paid`` (written off); ``due_count`` the shares with no result reported at all, which stay due.
    ``lapsed`` counts the members whose membership this ended; a failed share of a member who had
    already left (or lapsed over an earlier period) is written off without changing the member.
    """

    run_id: int
    pool_key: str
    period: str
    currency: str
    window_closed: date
    charged_count: int
    unpaid_count: int
    unpaid_minor: int
    lapsed: int
    policy: str
    entry_id: int
    due_count: int = 0

    @property
    def paid_count(self) -> int:
        return self.charged_count - self.unpaid_count - self.due_count

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "pool": self.pool_key,
            "period": self.period,
            "currency": self.currency,
            "window_closed": self.window_closed.isoformat(),
            "charged_count": self.charged_count,
            "paid_count": self.paid_count,
            "unpaid_count": self.unpaid_count,
            "unpaid": str(from_minor(self.unpaid_minor, self.currency)),
            "due_count": self.due_count,
            "lapsed": self.lapsed,
            "policy": self.policy,
            "entry_id": self.entry_id,
        }


@dataclass(frozen=True, slots=True)
class PaymentStatus:
    """A member's share of one postpaid run and what became of it.

    ``state`` is ``paid``, ``unpaid`` (not paid and still due: the retry window is open, the run is
    not yet settled, or no result was ever reported) or ``written-off`` (collecting it failed, no
    retry was paid, and the run was settled).
    """

    member_id: int
    name: str
    member_status: str
    charge_minor: int
    currency: str
    state: str
    paid_on: date | None
    failed_attempts: int
    last_attempt: date | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "name": self.name,
            "member_status": self.member_status,
            "charge": str(from_minor(self.charge_minor, self.currency)),
            "state": self.state,
            "paid_on": self.paid_on.isoformat() if self.paid_on else None,
            "failed_attempts": self.failed_attempts,
            "last_attempt": self.last_attempt.isoformat() if self.last_attempt else None,
        }


@dataclass(frozen=True, slots=True)
class TopUpRecord:
    """One top-up as recorded, with the member's balance after it."""

    id: int
    pool_key: str
    member_id: int
    currency: str
    amount_minor: int
    received_on: date
    reference: str
    balance_minor: int
    unfrozen: bool
    entry_id: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pool": self.pool_key,
            "member_id": self.member_id,
            "currency": self.currency,
            "amount": str(from_minor(self.amount_minor, self.currency)),
            "received_on": self.received_on.isoformat(),
            "reference": self.reference,
            "balance": str(from_minor(self.balance_minor, self.currency)),
            "unfrozen": self.unfrozen,
            "entry_id": self.entry_id,
        }


@dataclass(frozen=True, slots=True)
class TopUpImport:
    """What :func:`import_top_ups` recorded."""

    pool_key: str
    source: str
    currency: str
    rows: int
    members: int
    total_minor: int
    unfrozen: int
    entry_id: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool_key,
            "source": self.source,
            "currency": self.currency,
            "rows": self.rows,
            "members": self.members,
            "total": str(from_minor(self.total_minor, self.currency)),
            "unfrozen": self.unfrozen,
            "entry_id": self.entry_id,
        }


@dataclass(frozen=True, slots=True)
class TopUpLine:
    """A top-up in a member's history."""

    id: int
    received_on: date
    amount_minor: int
    reference: str


@dataclass(frozen=True, slots=True)
class Deduction:
    """A share deducted from a member's balance by a prepaid run."""

    run_id: int
    period: str
    deducted_on: date
    amount_minor: int


@dataclass(frozen=True, slots=True)
class BalanceRecord:
    """A prepaid member's balance, state and history (amounts in minor units)."""

    member_id: int
    pool_key: str
    name: str
    status: str
    currency: str
    balance_minor: int
    low_balance_minor: int
    top_ups: tuple[TopUpLine, ...]
    deductions: tuple[Deduction, ...]
    frozen_spans: tuple[tuple[date, date | None], ...]

    @property
    def frozen(self) -> bool:
        return self.status == "frozen"

    @property
    def low(self) -> bool:
        return self.balance_minor < self.low_balance_minor

    def amount(self, minor: int) -> Decimal:
        return from_minor(minor, self.currency)

    def as_dict(self) -> dict[str, Any]:
        cur = self.currency
        return {
            "member_id": self.member_id,
            "pool": self.pool_key,
            "name": self.name,
            "status": self.status,
            "frozen": self.frozen,
            "currency": cur,
            "balance": str(from_minor(self.balance_minor, cur)),
            "low_balance": str(from_minor(self.low_balance_minor, cur)),
            "low": self.low,
            "top_ups": [
                {
                    "id": t.id,
                    "received_on": t.received_on.isoformat(),
                    "amount": str(from_minor(t.amount_minor, cur)),
                    "reference": t.reference,
                }
                for t in self.top_ups
            ],
            "deductions": [
                {
                    "run_id": d.run_id,
                    "period": d.period,
                    "deducted_on": d.deducted_on.isoformat(),
                    "amount": str(from_minor(d.amount_minor, cur)),
                }
                for d in self.deductions
            ],
            "frozen_spans": [[start.isoformat(), end.isoformat() if end else None] for start, end in self.frozen_spans],
        }


@dataclass(frozen=True, slots=True)
class LowBalance:
    """A live member of a prepaid pool whose balance is below the threshold."""

    member_id: int
    name: str
    status: str
    balance_minor: int


# -- reading files --------------------------------------------------------------------------------


class _Problems:
    """Bad rows of a file, each ``FILE:LINE: field: message``, sorted by line when reported."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[tuple[int, str]] = []
        self.lines: set[int] = set()
        #: Rows the reader could not split into the header's cells (reported, never yielded).
        self.unread = 0

    def add(self, line: int, message: str) -> None:
        self.items.append((line, message))
        self.lines.add(line)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_for(self, rows: int, what: str) -> None:
        if not self.items:
            return
        self.items.sort(key=lambda item: item[0])
        shown = [f"{self.path}:{line}: {message}" for line, message in self.items[:_SHOWN_PROBLEMS]]
        if len(self.items) > _SHOWN_PROBLEMS:
            shown.append(f"... and {len(self.items) - _SHOWN_PROBLEMS:,} more problems")
        bad = len(self.lines)
        total = rows + self.unread
        raise ImportRowsError(
            shown, summary=f"{self.path}: {bad:,} of {total:,} rows are invalid; no {what} were imported:"
        )


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise ValidationError([f"{path}: no such file; give the path of a CSV file of {what}"])


def _csv_rows(
    path: Path, required: Sequence[str], optional: Sequence[str], problems: _Problems
) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, {column: cell})`` for each record of a CSV file with a header row (see
    :func:`~mutualaid.csvfiles.open_csv`), cells trimmed.

    Lines of blank cells are skipped. A wrong header, a file that is not UTF-8 or a row that is
    not valid CSV stops the import at once; a row with too many cells is reported in
    ``problems`` and skipped.
    """
    with open_csv(path, required, optional) as source:
        for line, cells in source.rows():
            if not any(cell.strip() for cell in cells):
                continue
            too_many = source.too_many_cells(cells)
            if too_many:
                problems.add(line, too_many)
                problems.unread += 1
                continue
            yield line, {name: cell.strip() for name, cell in zip(source.header, cells, strict=False)}


def _member_number(text: str) -> int | None:
    number = text.strip().lstrip("#")
    if number.isdigit() and len(number) < 19:
        return int(number)
    return None


def _amount_minor(text: str, currency: str) -> tuple[int | None, str | None]:
    """Minor units of a positive amount written in major units, or the problem with it."""
    try:
        value = to_decimal(text)
    except (ValueError, TypeError):
        return None, f"{text!r} is not an amount; write it like 12.50"
    try:
        minor = to_minor(value, currency)
    except ValueError:
        return None, f"{text!r} has more decimals than {currency} allows ({currency_exponent(currency)})"
    if minor <= 0:
        return None, f"must be above 0 ({text!r} given)"
    return minor, None


def _chunks(values: Sequence[int], size: int = _BATCH) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _ids(column: Any, values: list[int]) -> ColumnElement[bool]:
    # Integers rendered into the statement: a few thousand bound parameters per query would run
    # into SQLite's limit, and ints cannot inject anything.
    return cast(ColumnElement[bool], column.in_(bindparam(None, values, expanding=True, literal_execute=True)))


def _live() -> ColumnElement[bool]:
    # Literal statuses, so the planners can use the partial unique index on live members.
    return Member.status.in_(bindparam("live_statuses", list(LIVE_STATUSES), expanding=True, literal_execute=True))


def _lock_pool(session: Session, pool: PoolRecord) -> None:
    """Serialise payment work on one pool (and with its sharing runs): the pool row is locked."""
    session.get(Pool, pool.id, with_for_update=True)


def _require_model(pool: PoolRecord, model: str, action: str) -> None:
    actual = pool.definition.config.payments.model
    if actual == model:
        return
    if model == "prepaid":
        raise StateError(
            f"pool {pool.key!r} is postpaid: members pay each share after the sharing run and keep no balance, so "
            f"{action} is for prepaid pools only; import payment results with 'mutualaid payment import'"
        )
    raise StateError(
        f"pool {pool.key!r} is prepaid: shares are deducted from members' balances, so {action} is for postpaid "
        "pools only; record money received with 'mutualaid balance topup' or 'mutualaid balance import'"
    )


# -- postpaid: payment results -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Run:
    id: int
    period: str
    deduction_date: date
    window_end: date
    settled: bool


def _window_end(deduction_date: date, retry_days: int) -> date:
    """The last day a postpaid share may be paid: ``retry_days`` after the deduction day."""
    return deduction_date + timedelta(days=retry_days)


def _settled_runs(pool_id: int) -> Select[int | None]:
    return select(LedgerEntry.run_id).where(
        LedgerEntry.pool_id == pool_id, LedgerEntry.kind == "unpaid", LedgerEntry.run_id.is_not(None)
    )


def _find_run(session: Session, pool: PoolRecord, text: str) -> tuple[_Run | None, str | None]:
    """The postpaid run of the period written ``text``, or the problem with it (``period: ...``)."""
    config = pool.definition.config
    try:
        period = parse_period(text, config)
    except ValidationError as exc:
        return None, f"period: {exc.problems[0]}"
    row = session.execute(
        select(SharingRun.id, SharingRun.deduction_date, SharingRun.payment_model).where(
            SharingRun.pool_id == pool.id, SharingRun.period == period.key
        )
    ).first()
    if row is None:
        return None, f"period: {period.key} of pool {pool.key!r} has not been shared, so nothing is due for it"
    if row.payment_model != "postpaid":
        return None, f"period: {period.key} was shared as a prepaid period (its shares were deducted from balances)"
    settled = session.scalar(_settled_runs(pool.id).where(LedgerEntry.run_id == row.id).limit(1)) is not None
    end = _window_end(row.deduction_date, config.payments.retry_days)
    return _Run(row.id, period.key, row.deduction_date, end, settled), None


@dataclass(slots=True)
class _PaymentRow:
    line: int
    member_id: int
    run: _Run
    paid: bool
    day: date
    amount: int | None


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
    _require_model(pool, "postpaid", "importing payment results")
    path = Path(path)
    _check_file(path, "payment results")
    _lock_pool(session, pool)
    digest = _file_digest(path)
    earlier = session.execute(
        select(PaymentBatch.id, PaymentBatch.source, PaymentBatch.imported_at).where(
            PaymentBatch.pool_id == pool.id, PaymentBatch.digest == digest
        )
    ).first()
    if earlier is not None:
        raise _imported_twice(path, pool, digest, earlier.id, earlier.source, earlier.imported_at)

    currency = pool.currency
    today = pool_today(pool.definition)
    problems = _Problems(path)
    runs: dict[str, tuple[_Run | None, str | None]] = {}
    rows: list[_PaymentRow] = []
    count = 0
    for line, cells in _csv_rows(path, PAYMENT_COLUMNS, PAYMENT_OPTIONAL, problems):
        count += 1
        row_problems: list[str] = []
        member_id = _member_number(cells.get("member_id", ""))
        if member_id is None:
            row_problems.append(f"member_id: {cells.get('member_id', '')!r} is not a member number")
        period_text = cells.get("period", "")
        if period_text not in runs:
            runs[period_text] = _find_run(session, pool, period_text)
        run, run_problem = runs[period_text]
        result = cells.get("result", "").lower()
        if run_problem:
            row_problems.append(run_problem)
        elif run is not None and run.settled and result == "failed":
            row_problems.append(
                f"period: {run.period} was settled when its retry window closed on {run.window_end.isoformat()} "
                "(shares whose collection failed were written off and their members lapsed); it takes no more "
                "failed results, only the payment of a share still due"
            )
            run = None
        if result not in RESULTS:
            row_problems.append(f"result: must be paid or failed ({cells.get('result', '')!r} given)")
        day: date | None = None
        try:
            day = parse_date(cells.get("date", ""), "date")
        except ValueError:
            row_problems.append(f"date: must be a date written YYYY-MM-DD ({cells.get('date', '')!r} given)")
        if day is not None:
            if day > today:
                row_problems.append(
                    f"date: {day.isoformat()} is in the future (today is {today.isoformat()} in the pool's time zone)"
                )
            elif run is not None and day < run.deduction_date:
                row_problems.append(
                    f"date: {day.isoformat()} is before the deduction day {run.deduction_date.isoformat()} of "
                    f"period {run.period}"
                )
            elif run is not None and day > run.window_end and result != "paid":
                row_problems.append(
                    f"date: {day.isoformat()} is after the retry window of period {run.period} closed on "
                    f"{run.window_end.isoformat()} (retry_days = {pool.definition.config.payments.retry_days}); "
                    "a share whose collection failed and was not paid by then is written off and the member lapses"
                )
        amount: int | None = None
        if cells.get("amount"):
            amount, amount_problem = _amount_minor(cells["amount"], currency)
            if amount_problem:
                row_problems.append(f"amount: {amount_problem}")
        if row_problems:
            for problem in row_problems:
                problems.add(line, problem)
            continue
        rows.append(_PaymentRow(line, cast(int, member_id), cast(_Run, run), result == "paid", cast(date, day), amount))
    if count == 0 and not problems:
        raise ValidationError([f"{path}: the file has a header but no rows; nothing was imported"])

    charges = _check_payments(session, pool, rows, problems)
    problems.raise_for(count, "payments")

    paid_rows = [r for r in rows if r.paid]
    paid_minor = sum(charges[(r.run.id, r.member_id)] for r in paid_rows)
    batch = PaymentBatch(
        pool_id=pool.id,
        source=str(path)[:500],
        digest=digest,
        imported_at=datetime.now(UTC),
        paid_count=len(paid_rows),
        paid_minor=paid_minor,
        failed_count=len(rows) - len(paid_rows),
    )
    try:
        with session.begin_nested():
            session.add(batch)
            session.flush()
    except IntegrityError:
        # Another import of the same file got in between the check above and this insert.
        again = session.execute(
            select(PaymentBatch.id, PaymentBatch.source, PaymentBatch.imported_at).where(
                PaymentBatch.pool_id == pool.id, PaymentBatch.digest == digest
            )
        ).first()
        if again is None:
            raise
        raise _imported_twice(path, pool, digest, again.id, again.source, again.imported_at) from None
    bulk_insert(
        session.connection(),
        cast(Table, Payment.__table__),
        ("batch_id", "run_id", "member_id", "result", "attempted_on", "amount_minor"),
        [
            (batch.id, r.run.id, r.member_id, "paid" if r.paid else "failed", r.day, charges[(r.run.id, r.member_id)])
            for r in rows
        ],
    )
    periods: dict[str, dict[str, int]] = {}
    for r in rows:
        figures = periods.setdefault(r.run.period, {"paid_count": 0, "paid": 0, "failed_count": 0})
        if r.paid:
            figures["paid_count"] += 1
            figures["paid"] += charges[(r.run.id, r.member_id)]
        else:
            figures["failed_count"] += 1
    entry = post_entry(
        session,
        pool.id,
        kind="payments",
        posted_on=max((r.day for r in rows), default=today),
        memo=(
            f"payments imported from {path.name}: {len(paid_rows):,} paid ({format_minor(paid_minor, currency)} "
            f"{currency}), {len(rows) - len(paid_rows):,} failed"
        ),
        lines=[Line("cash", paid_minor), Line("members_due", -paid_minor)],
        batch_id=batch.id,
        facts={
            "source": path.name,
            "digest": digest,
            "rows": len(rows),
            "paid_count": len(paid_rows),
            "paid": paid_minor,
            "failed_count": len(rows) - len(paid_rows),
            "periods": periods,
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


def _imported_twice(path: Path, pool: PoolRecord, digest: str, batch_id: int, source: str, at: datetime) -> StateError:
    when = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(pool.definition.config.tz).date()
    return StateError(
        f"{path}: this file was already imported into pool {pool.key!r} as payment batch #{batch_id} on "
        f"{when.isoformat()} (from {source}; same contents, sha256 {digest[:12]}); nothing was imported again"
    )


def _check_payments(
    session: Session, pool: PoolRecord, rows: list[_PaymentRow], problems: _Problems
) -> dict[tuple[int, int], int]:
    """Check the rows against the database (members, charges, earlier payments) and each other.

    Looks members, charges and earlier payments up in batches of member numbers, not row by row.
    Returns each (run, member) charge in minor units.
    """
    run_ids = sorted({r.run.id for r in rows})
    member_ids = sorted({r.member_id for r in rows})
    members: dict[int, tuple[str, date | None]] = {}
    charges: dict[tuple[int, int], int] = {}
    # The first paid and the first failed result already recorded for each share: (day, batch).
    paid: dict[tuple[int, int], tuple[date, int]] = {}
    failed: dict[tuple[int, int], tuple[date, int]] = {}
    for chunk in _chunks(member_ids):
        for member_id, status, ended_on in session.execute(
            select(Member.id, Member.status, Member.ended_on).where(Member.pool_id == pool.id, _ids(Member.id, chunk))
        ):
            members[member_id] = (status, ended_on)
        for run_id, member_id, amount in session.execute(
            select(Charge.run_id, Charge.member_id, Charge.amount_minor).where(
                _ids(Charge.run_id, run_ids), _ids(Charge.member_id, chunk)
            )
        ):
            charges[(run_id, member_id)] = int(amount)
        for run_id, member_id, result, day, batch_id in session.execute(
            select(
                Payment.run_id,
                Payment.member_id,
                Payment.result,
                func.min(Payment.attempted_on),
                func.min(Payment.batch_id),
            )
            .where(_ids(Payment.run_id, run_ids), _ids(Payment.member_id, chunk))
            .group_by(Payment.run_id, Payment.member_id, Payment.result)
        ):
            (paid if result == "paid" else failed)[(run_id, member_id)] = (day, batch_id)

    currency = pool.currency
    paid_in_file: dict[tuple[int, int], _PaymentRow] = {}
    failed_in_file: dict[tuple[int, int], _PaymentRow] = {}
    for r in rows:
        (paid_in_file if r.paid else failed_in_file).setdefault((r.run.id, r.member_id), r)
    for r in rows:
        key = (r.run.id, r.member_id)
        member = members.get(r.member_id)
        if member is None:
            problems.add(r.line, f"member_id: pool {pool.key!r} has no member #{r.member_id}")
            continue
        charge = charges.get(key)
        if charge is None:
            problems.add(r.line, f"period: member #{r.member_id} was not charged in period {r.run.period}")
            continue
        status, ended_on = member
        # Paid after the window closed, or reported once the period was settled: only a share that
        # stayed due (no failed result, so not written off) of a member still live may be paid. A
        # share already paid is left to the checks below.
        first_paid = paid_in_file.get(key)
        paid_before = key in paid or (first_paid is not None and first_paid is not r)
        late = r.paid and not paid_before and (r.run.settled or r.day > r.run.window_end)
        failed_on = failed[key][0] if key in failed else (failed_in_file[key].day if key in failed_in_file else None)
        if late and failed_on is not None:
            fate = "was written off" if r.run.settled else "is written off when the period is settled"
            problems.add(
                r.line,
                f"result: collecting member #{r.member_id}'s share of period {r.run.period} failed on "
                f"{failed_on.isoformat()} and it was not paid by the end of its retry window on "
                f"{r.run.window_end.isoformat()}; the share {fate} and cannot be paid late",
            )
            continue
        if status == "lapsed" and ended_on is not None and (late or r.day > ended_on):
            problems.add(
                r.line,
                f"member_id: member #{r.member_id} lapsed on {ended_on.isoformat()} for an unpaid share; "
                "a lapsed member cannot pay late",
            )
            continue
        if late and status not in LIVE_STATUSES:
            ended = f" on {ended_on.isoformat()}" if ended_on is not None else ""
            problems.add(
                r.line,
                f"member_id: member #{r.member_id}'s membership ended ({status}{ended}); after the retry window of "
                f"period {r.run.period} closed on {r.run.window_end.isoformat()} only a live member's share still "
                "due can be paid",
            )
            continue
        if r.amount is not None and r.amount != charge:
            problems.add(
                r.line,
                f"amount: {format_minor(r.amount, currency)} is not the share charged to member #{r.member_id} "
                f"for period {r.run.period} ({format_minor(charge, currency)} {currency})",
            )
        before = paid.get(key)
        first_in_file = paid_in_file.get(key)
        if r.paid:
            if before is not None:
                problems.add(
                    r.line,
                    f"result: member #{r.member_id} already paid the share of period {r.run.period} on "
                    f"{before[0].isoformat()} (payment batch #{before[1]})",
                )
            elif first_in_file is not None and first_in_file is not r:
                problems.add(
                    r.line,
                    f"result: member #{r.member_id}'s share of period {r.run.period} is already paid on line "
                    f"{first_in_file.line}",
                )
        else:
            paid_on = before[0] if before is not None else (first_in_file.day if first_in_file else None)
            if paid_on is not None and r.day > paid_on:
                problems.add(
                    r.line,
                    f"result: a failed attempt on {r.day.isoformat()} comes after member #{r.member_id}'s share of "
                    f"period {r.run.period} was paid on {paid_on.isoformat()}",
                )
    return charges


# -- postpaid: settling the retry windows -------------------------------------------------------


def settle_payments(session: Session, plugins: Plugins, pool: PoolRecord, on: date) -> list[Settlement]:
    """Settle every postpaid run of ``pool`` whose retry window closed before ``on``.

    For each such run not yet settled, in period order: every member charged by it whose payment
    was reported ``failed`` and never ``paid``, and who is still live, lapses (status ``lapsed``, ``ended_on`` the window's last day,
    and a ``member_status_changes`` row from the day after), so the member shares no later period;
    and the unpaid total is written off in one ledger entry of kind ``unpaid`` (Cr
    ``members_due``; Dr ``sponsor_due`` or, with ``[payments] unpaid = "carry"``, Dr ``deficit``,
    which the next sharing run collects). The entry is posted even when every share was paid (with
    no lines): it is what marks the run settled, so a run is settled once.

    The lapses are one ``INSERT ... SELECT`` and one ``UPDATE`` per run, whatever the pool's size.
    The per-member ``member_ended`` hook is not called for them: a settlement can lapse millions of
    members at once, and the run's entry and the status-change rows record who lapsed and why.

    A prepaid pool has nothing to settle (an empty list). The sharing run calls this at its start
    with the period's notice day, so members who lapsed no longer share.
    """
    config = pool.definition.config
    if config.payments.model != "postpaid":
        return []
    retry_days = config.payments.retry_days
    _lock_pool(session, pool)
    runs = session.execute(
        select(SharingRun.id, SharingRun.period, SharingRun.deduction_date)
        .where(
            SharingRun.pool_id == pool.id,
            SharingRun.payment_model == "postpaid",
            SharingRun.deduction_date < on - timedelta(days=retry_days),
            SharingRun.id.not_in(_settled_runs(pool.id)),
        )
        .order_by(SharingRun.notice_date, SharingRun.id)
    ).all()
    return [
        _settle_run(session, pool, run_id, period, _window_end(deducted, retry_days))
        for run_id, period, deducted in runs
    ]


def _settle_run(session: Session, pool: PoolRecord, run_id: int, period: str, window_end: date) -> Settlement:
    policy = pool.definition.config.payments.unpaid
    # Driven by the run's payment results (few), not by its charges (one per member): the charges
    # are looked up by key only for the members whose collection failed.
    paid_members = select(Payment.member_id).where(Payment.run_id == run_id, Payment.result == "paid")
    # Unpaid: collecting it failed and no retry succeeded. A share with no result stays due.
    failed_members = select(Payment.member_id).where(
        Payment.run_id == run_id, Payment.result == "failed", Payment.member_id.not_in(paid_members)
    )
    charged_count = int(session.scalar(select(SharingRun.charge_rows).where(SharingRun.id == run_id)) or 0)
    unpaid_count, unpaid_minor = session.execute(
        select(func.count(), func.coalesce(func.sum(Charge.amount_minor), 0)).where(
            Charge.run_id == run_id, Charge.member_id.in_(failed_members)
        )
    ).one()
    unpaid_count, unpaid_minor = int(unpaid_count), int(unpaid_minor)
    paid_count = int(
        session.scalar(
            select(func.count(func.distinct(Payment.member_id))).where(
                Payment.run_id == run_id, Payment.result == "paid"
            )
        )
        or 0
    )
    due_count = charged_count - paid_count - unpaid_count
    lapsed = 0
    if unpaid_count:
        unpaid_members = select(Charge.member_id).where(Charge.run_id == run_id, Charge.member_id.in_(failed_members))
        lapsing = and_(Member.pool_id == pool.id, Member.id.in_(unpaid_members), _live())
        cause = (
            f"share of period {period} (run #{run_id}) unpaid when its retry window closed on {window_end.isoformat()}"
        )
        # Core statements on the session's connection: an ORM-enabled INSERT ... SELECT reports no
        # row count on PostgreSQL. The history rows first, while the members are still live.
        connection = session.connection()
        connection.execute(
            insert(cast(Table, MemberStatusChange.__table__)).from_select(
                ["member_id", "status", "since", "cause"],
                select(Member.id, literal("lapsed"), literal(window_end + _DAY), literal(cause)).where(lapsing),
            )
        )
        lapsed = int(
            connection.execute(
                update(cast(Table, Member.__table__)).where(lapsing).values(status="lapsed", ended_on=window_end)
            ).rowcount
        )
    debit = "sponsor_due" if policy == "sponsor" else "deficit"
    cur = pool.currency
    entry = post_entry(
        session,
        pool.id,
        kind="unpaid",
        posted_on=window_end,
        memo=(
            f"period {period}: retry window closed on {window_end.isoformat()}; {unpaid_count:,} of "
            f"{plural(charged_count, 'share')} unpaid ({format_minor(unpaid_minor, cur)} {cur}, "
            + ("borne by the sponsor" if policy == "sponsor" else "carried to the next period")
            + f"), {plural(lapsed, 'member')} lapsed"
        ),
        lines=[Line(debit, unpaid_minor), Line("members_due", -unpaid_minor)],
        run_id=run_id,
        facts={
            "period": period,
            "window_closed": window_end.isoformat(),
            "charged_count": charged_count,
            "unpaid_count": unpaid_count,
            "unpaid": unpaid_minor,
            "lapsed": lapsed,
            "policy": policy,
        },
    )
    return Settlement(
        run_id=run_id,
        pool_key=pool.key,
        period=period,
        currency=cur,
        window_closed=window_end,
        charged_count=charged_count,
        unpaid_count=unpaid_count,
        unpaid_minor=unpaid_minor,
        lapsed=lapsed,
        policy=policy,
        entry_id=entry.id,
        due_count=due_count,
    )


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
    _require_model(pool, "postpaid", "listing payments")
    period = parse_period(period_key, pool.definition.config)
    run, problem = _find_run(session, pool, period.key)
    if run is None:
        raise NotFoundError(
            f"{cast(str, problem).removeprefix('period: ')}; run 'mutualaid share run {pool.key} --period {period.key}'"
        )
    attempts = (
        select(
            Payment.member_id.label("member_id"),
            func.min(case((Payment.result == "paid", Payment.attempted_on))).label("paid_on"),
            func.sum(case((Payment.result == "failed", 1), else_=0)).label("failed"),
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
        state = "paid" if paid_on is not None else ("written-off" if run.settled and failed else "unpaid")
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


# -- prepaid: top-ups, freezing and balances -------------------------------------------------------


@dataclass(slots=True)
class _TopUpRow:
    line: int
    member_id: int
    amount: int
    day: date
    reference: str


def _check_reference(reference: str) -> str | None:
    if len(reference) > 200:
        return "reference: is longer than 200 characters"
    if _CONTROL.search(reference):
        return "reference: contains a line break or another control character"
    return None


def top_up(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    member: int | str,
    amount: Decimal | str | int,
    on: date | str,
    reference: str = "",
) -> TopUpRecord:
    """Record money a prepaid member put into their balance.

    ``amount`` must be above 0 and exact in the pool's currency; ``on`` (the day it was received)
    not before the member joined nor in the future; ``reference`` (the payment's own reference)
    may be empty, but one already recorded in the pool is refused, so a top-up is recorded once.
    The member must be live (active or frozen). A frozen member whose balance reaches
    ``[payments] low_balance`` is unfrozen from ``on``. Posts a ledger entry of kind ``top-up``
    (Dr ``cash``, Cr ``member_balances``, both lines naming the member).

    :raises StateError: if the pool is postpaid or the membership is not live.
    :raises ValidationError: listing every problem with the amount, the day or the reference.
    """
    pool = get_pool(session, plugins, pool_key)
    _require_model(pool, "prepaid", "a top-up")
    record = get_member(session, pool, member)
    if record.status not in LIVE_STATUSES:
        ended = f" (ended on {record.ended_on.isoformat()})" if record.ended_on else ""
        raise StateError(
            f"member #{record.id} of pool {pool.key!r} is {record.status}{ended}; only a live (active or frozen) "
            "member can top up"
        )
    currency = pool.currency
    problems: list[str] = []
    minor: int | None = None
    try:
        minor = to_minor(to_decimal(amount), currency)
    except (ValueError, TypeError) as exc:
        problems.append(f"amount: {exc}")
    if minor is not None and minor <= 0:
        problems.append(f"amount: must be above 0 ({amount} given)")
        minor = None
    day: date | None = None
    try:
        day = parse_date(on, "the top-up date")
    except ValueError as exc:
        problems.append(str(exc))
    reference = reference.strip()
    reference_problem = _check_reference(reference)
    if reference_problem:
        problems.append(reference_problem)
    summary = f"the top-up of member #{record.id} was not recorded:"
    if problems or minor is None or day is None:
        raise ValidationError(problems, summary=summary)
    _lock_pool(session, pool)
    row = _TopUpRow(0, record.id, minor, day, reference)
    check = _Problems(Path("-"))
    _check_top_ups(session, pool, [row], check)
    if check:
        raise ValidationError([message for _, message in sorted(check.items)], summary=summary)
    applied = _apply_top_ups(
        session,
        pool,
        [row],
        memo=f"top-up of member #{record.id}: {format_minor(minor, currency)} {currency}"
        + (f" (reference {reference})" if reference else ""),
        facts={"member_id": record.id, "amount": minor, "reference": reference},
        member_lines=True,
    )
    top_up_id = session.scalar(select(func.max(TopUp.id)).where(TopUp.entry_id == applied.entry_id))
    new_balance = session.scalar(select(Balance.balance_minor).where(Balance.member_id == record.id))
    return TopUpRecord(
        id=int(top_up_id or 0),
        pool_key=pool.key,
        member_id=record.id,
        currency=currency,
        amount_minor=minor,
        received_on=day,
        reference=reference,
        balance_minor=int(new_balance or 0),
        unfrozen=bool(applied.unfrozen),
        entry_id=applied.entry_id,
    )


def import_top_ups(session: Session, plugins: Plugins, pool_key: str, path: str | Path) -> TopUpImport:
    """Record the top-ups of a CSV file (``member_id,amount,date,reference``), all or nothing.

    Each row is checked as by :func:`top_up`, and a reference is required (so a file imported
    twice is refused: its references are already recorded). Every bad row is reported as
    ``FILE:LINE: field: message`` and nothing is written. Writes the ``top_ups`` rows and the
    balances in batches, unfreezes the frozen members whose balance reaches ``[payments]
    low_balance`` (from the day of the top-up that brought it there) and posts one ledger entry
    of kind ``top-up`` for the file (Dr ``cash``, Cr ``member_balances``).

    :raises StateError: if the pool is postpaid.
    :raises ImportRowsError: listing every bad row; nothing is written.
    """
    pool = get_pool(session, plugins, pool_key)
    _require_model(pool, "prepaid", "importing top-ups")
    path = Path(path)
    _check_file(path, "top-ups")
    _lock_pool(session, pool)
    currency = pool.currency
    problems = _Problems(path)
    rows: list[_TopUpRow] = []
    count = 0
    for line, cells in _csv_rows(path, TOP_UP_COLUMNS, (), problems):
        count += 1
        row_problems: list[str] = []
        member_id = _member_number(cells.get("member_id", ""))
        if member_id is None:
            row_problems.append(f"member_id: {cells.get('member_id', '')!r} is not a member number")
        amount, amount_problem = _amount_minor(cells.get("amount", ""), currency)
        if amount_problem:
            row_problems.append(f"amount: {amount_problem}")
        day: date | None = None
        try:
            day = parse_date(cells.get("date", ""), "date")
        except ValueError:
            row_problems.append(f"date: must be a date written YYYY-MM-DD ({cells.get('date', '')!r} given)")
        reference = cells.get("reference", "")
        if not reference:
            row_problems.append(
                "reference: is required (the payment's own reference, so that the same top-up is never recorded twice)"
            )
        else:
            reference_problem = _check_reference(reference)
            if reference_problem:
                row_problems.append(reference_problem)
        if row_problems:
            for problem in row_problems:
                problems.add(line, problem)
            continue
        rows.append(_TopUpRow(line, cast(int, member_id), cast(int, amount), cast(date, day), reference))
    if count == 0 and not problems:
        raise ValidationError([f"{path}: the file has a header but no rows; nothing was imported"])
    _check_top_ups(session, pool, rows, problems)
    problems.raise_for(count, "top-ups")
    total = sum(r.amount for r in rows)
    applied = _apply_top_ups(
        session,
        pool,
        rows,
        memo=f"top-ups imported from {path.name}: {len(rows):,} totalling {format_minor(total, currency)} {currency}",
        facts={"source": path.name, "digest": _file_digest(path), "rows": len(rows), "total": total},
        member_lines=False,
    )
    return TopUpImport(
        pool_key=pool.key,
        source=str(path),
        currency=currency,
        rows=len(rows),
        members=len({r.member_id for r in rows}),
        total_minor=total,
        unfrozen=applied.unfrozen,
        entry_id=applied.entry_id,
    )


def _check_top_ups(session: Session, pool: PoolRecord, rows: list[_TopUpRow], problems: _Problems) -> None:
    """Members live and in the pool, days possible, references new (in the file and the pool)."""
    today = pool_today(pool.definition)
    members: dict[int, tuple[str, date, date | None]] = {}
    known_refs: dict[str, tuple[int, int, date]] = {}
    member_ids = sorted({r.member_id for r in rows})
    for chunk in _chunks(member_ids):
        for member_id, status, joined_on, ended_on in session.execute(
            select(Member.id, Member.status, Member.joined_on, Member.ended_on).where(
                Member.pool_id == pool.id, _ids(Member.id, chunk)
            )
        ):
            members[member_id] = (status, joined_on, ended_on)
    references = sorted({r.reference for r in rows if r.reference})
    for start in range(0, len(references), 1000):
        chunk_refs = references[start : start + 1000]
        for ref, top_up_id, member_id, received in session.execute(
            select(TopUp.reference, TopUp.id, TopUp.member_id, TopUp.received_on).where(
                TopUp.pool_id == pool.id, TopUp.reference.in_(chunk_refs)
            )
        ):
            known_refs.setdefault(ref, (top_up_id, member_id, received))
    seen_refs: dict[str, int] = {}
    for r in rows:
        member = members.get(r.member_id)
        if member is None:
            problems.add(r.line, f"member_id: pool {pool.key!r} has no member #{r.member_id}")
        else:
            status, joined_on, ended_on = member
            if status not in LIVE_STATUSES:
                ended = f" since {ended_on.isoformat()}" if ended_on else ""
                problems.add(
                    r.line,
                    f"member_id: member #{r.member_id} is {status}{ended}; only a live (active or frozen) member can top up",
                )
            elif r.day < joined_on:
                problems.add(
                    r.line,
                    f"date: {r.day.isoformat()} is before member #{r.member_id} joined on {joined_on.isoformat()}",
                )
        if r.day > today:
            problems.add(
                r.line,
                f"date: {r.day.isoformat()} is in the future (today is {today.isoformat()} in the pool's time zone)",
            )
        if r.reference:
            known = known_refs.get(r.reference)
            if known is not None:
                problems.add(
                    r.line,
                    f"reference: {r.reference!r} was already recorded (top-up #{known[0]} of member #{known[1]} on "
                    f"{known[2].isoformat()}); a top-up is recorded once",
                )
            elif r.reference in seen_refs:
                problems.add(r.line, f"reference: {r.reference!r} is already on line {seen_refs[r.reference]}")
            else:
                seen_refs[r.reference] = r.line


@dataclass(frozen=True, slots=True)
class _Applied:
    entry_id: int
    unfrozen: int


def _apply_top_ups(
    session: Session, pool: PoolRecord, rows: list[_TopUpRow], *, memo: str, facts: dict[str, Any], member_lines: bool
) -> _Applied:
    """Write checked top-ups: the ledger entry, the rows, the balances, then unfreeze who is covered."""
    total = sum(r.amount for r in rows)
    member_id = rows[0].member_id if member_lines else None
    entry = post_entry(
        session,
        pool.id,
        kind="top-up",
        posted_on=max(r.day for r in rows),
        memo=memo,
        lines=[Line("cash", total, member_id=member_id), Line("member_balances", -total, member_id=member_id)],
        facts=facts,
    )
    connection = session.connection()
    bulk_insert(
        connection,
        cast(Table, TopUp.__table__),
        ("pool_id", "member_id", "amount_minor", "received_on", "reference", "entry_id"),
        [(pool.id, r.member_id, r.amount, r.day, r.reference, entry.id) for r in rows],
    )
    by_member: dict[int, list[_TopUpRow]] = {}
    for r in rows:
        by_member.setdefault(r.member_id, []).append(r)
    member_ids = sorted(by_member)
    # The balances before, and who is frozen since when, for the frozen members only.
    frozen: dict[int, int] = {}
    for chunk in _chunks(member_ids):
        for mid, held in session.execute(
            select(Member.id, func.coalesce(Balance.balance_minor, 0))
            .select_from(Member)
            .outerjoin(Balance, Balance.member_id == Member.id)
            .where(_ids(Member.id, chunk), Member.status == "frozen")
        ):
            frozen[mid] = int(held)
    _add_to_balances(connection, pool.id, [(mid, sum(r.amount for r in by_member[mid])) for mid in member_ids])

    threshold = to_minor(pool.definition.config.payments.low_balance, pool.currency)
    frozen_since: dict[int, date] = {}
    for chunk in _chunks(sorted(frozen)):
        for mid, since in session.execute(
            select(MemberStatusChange.member_id, func.max(MemberStatusChange.since))
            .where(_ids(MemberStatusChange.member_id, chunk), MemberStatusChange.status == "frozen")
            .group_by(MemberStatusChange.member_id)
        ):
            frozen_since[mid] = since
    unfreeze: list[tuple[int, date]] = []
    for mid, held in frozen.items():
        running = held
        for r in sorted(by_member[mid], key=lambda item: (item.day, item.line)):
            running += r.amount
            if running >= threshold:
                frozen_on = frozen_since.get(mid)
                unfreeze.append((mid, max(r.day, frozen_on) if frozen_on is not None else r.day))
                break
    if unfreeze:
        bulk_insert(
            connection,
            cast(Table, MemberStatusChange.__table__),
            ("member_id", "status", "since", "cause"),
            [(mid, "active", day, "topped up") for mid, day in unfreeze],
        )
        for chunk in _chunks(sorted(mid for mid, _ in unfreeze)):
            session.execute(
                update(Member)
                .where(_ids(Member.id, chunk), Member.status == "frozen")
                .values(status="active")
                .execution_options(synchronize_session=False)
            )
    return _Applied(entry.id, len(unfreeze))


def _add_to_balances(connection: Connection, pool_id: int, amounts: list[tuple[int, int]]) -> None:
    """Add to members' balances, creating the rows that do not exist yet (one upsert per batch)."""
    table = cast(Table, Balance.__table__)
    dialect = connection.dialect.name
    builder: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - the two supported databases
        raise StateError(f"top-ups need SQLite or PostgreSQL, not {dialect}")
    stmt = builder(table).values(
        member_id=bindparam("m_id"), pool_id=bindparam("p_id"), balance_minor=bindparam("amount")
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.member_id],
        set_={"balance_minor": table.c.balance_minor + stmt.excluded.balance_minor},
    )
    for start in range(0, len(amounts), _BATCH):
        connection.execute(
            stmt, [{"m_id": mid, "p_id": pool_id, "amount": amount} for mid, amount in amounts[start : start + _BATCH]]
        )


def frozen_spans(session: Session, member_id: int) -> tuple[tuple[date, date | None], ...]:
    """The spans in which a member was frozen, from ``member_status_changes``, oldest first.

    Each span is ``(first day, last day)``: it ends the day before the member's next change of
    status (unfrozen by a top-up, lapsed), on the day the membership ended, or is ``None`` while
    the member is still frozen. A member unfrozen on the day they were frozen has no span.
    """
    changes = session.execute(
        select(MemberStatusChange.status, MemberStatusChange.since)
        .where(MemberStatusChange.member_id == member_id)
        .order_by(MemberStatusChange.since, MemberStatusChange.id)
    ).all()
    ended_on = session.scalar(select(Member.ended_on).where(Member.id == member_id))
    spans: list[tuple[date, date | None]] = []
    start: date | None = None
    for status, since in changes:
        if status == "frozen":
            if start is None:
                start = since
        elif start is not None:
            end = since - _DAY
            if end >= start:
                spans.append((start, end))
            start = None
    if start is not None:
        if ended_on is None:
            spans.append((start, None))
        elif ended_on >= start:
            spans.append((start, ended_on))
    return tuple(spans)


def _low_condition(pool: PoolRecord, threshold_minor: int) -> ColumnElement[bool]:
    return and_(Member.pool_id == pool.id, _live(), func.coalesce(Balance.balance_minor, 0) < literal(threshold_minor))


def _threshold_minor(pool: PoolRecord, threshold: Decimal | str | int | None) -> int:
    value = pool.definition.config.payments.low_balance if threshold is None else threshold
    try:
        minor = to_minor(to_decimal(value), pool.currency)
    except (ValueError, TypeError) as exc:
        raise ValidationError([f"threshold: {exc}"]) from None
    if minor < 0:
        raise ValidationError([f"threshold: must not be negative ({value} given)"])
    return minor


def low_balance_select(pool: PoolRecord, threshold: Decimal | str | int | None = None) -> Select[Member, int]:
    """The query of :func:`low_balance_members`: ``(Member, balance in minor units)`` rows in member
    order, for callers that need the whole member (notices); stream it with ``yield_per``."""
    minor = _threshold_minor(pool, threshold)
    return (
        select(Member, func.coalesce(Balance.balance_minor, 0))
        .outerjoin(Balance, Balance.member_id == Member.id)
        .where(_low_condition(pool, minor))
        .order_by(Member.id)
    )


def low_balance_members(
    session: Session, pool: PoolRecord, threshold: Decimal | str | int | None = None, *, limit: int | None = None
) -> Iterator[LowBalance]:
    """The live members of a prepaid pool whose balance is below ``threshold`` (default
    ``[payments] low_balance``), frozen members included, in member order; streamed from one query.

    A member with no balance row has a balance of 0.

    :raises StateError: if the pool is postpaid (its members keep no balance).
    """
    _require_model(pool, "prepaid", "a low-balance list")
    minor = _threshold_minor(pool, threshold)
    query = (
        select(Member.id, Member.name, Member.status, func.coalesce(Balance.balance_minor, 0))
        .select_from(Member)
        .outerjoin(Balance, Balance.member_id == Member.id)
        .where(_low_condition(pool, minor))
        .order_by(Member.id)
    )
    if limit is not None:
        query = query.limit(limit)
    for member_id, name, status, held in session.execute(query.execution_options(yield_per=2000)):
        yield LowBalance(member_id=member_id, name=name, status=status, balance_minor=int(held))


def count_low_balances(session: Session, pool: PoolRecord, threshold: Decimal | str | int | None = None) -> int:
    """How many members :func:`low_balance_members` would give (one ``count`` in the database)."""
    minor = _threshold_minor(pool, threshold)
    return int(
        session.scalar(
            select(func.count())
            .select_from(Member)
            .outerjoin(Balance, Balance.member_id == Member.id)
            .where(_low_condition(pool, minor))
        )
        or 0
    )


def after_deduction(session: Session, plugins: Plugins, pool: PoolRecord, run: Any) -> int:
    """After a prepaid run's deductions: count the members whose balance is now low and, if there
    are any, call the ``balances_low`` hook once for the pool (not per member).

    :param run: the run (a ``SharingRun`` row or a ``SharingResult``; its ``period`` key is used).
    :returns: the number of live members below ``[payments] low_balance`` (0 for a postpaid pool).
    """
    config = pool.definition.config
    if config.payments.model != "prepaid":
        return 0
    count = count_low_balances(session, pool)
    if count:
        plugins.hook.balances_low(
            pool=config, period=parse_period(run.period, config), count=count, threshold=config.payments.low_balance
        )
    return count


def balance(session: Session, plugins: Plugins, pool_key: str, member: int | str) -> BalanceRecord:
    """A prepaid member's balance, whether they are frozen, and their top-ups, deductions and frozen spans.

    :raises StateError: if the pool is postpaid (its members keep no balance).
    """
    pool = get_pool(session, plugins, pool_key)
    _require_model(pool, "prepaid", "a balance")
    record = get_member(session, pool, member)
    held = session.scalar(select(Balance.balance_minor).where(Balance.member_id == record.id))
    top_ups = tuple(
        TopUpLine(t.id, t.received_on, int(t.amount_minor), t.reference)
        for t in session.scalars(
            select(TopUp)
            .where(TopUp.member_id == record.id, TopUp.pool_id == pool.id)
            .order_by(TopUp.received_on, TopUp.id)
        )
    )
    deductions = tuple(
        Deduction(run_id, period, deducted_on, int(amount))
        for run_id, period, deducted_on, amount in session.execute(
            select(SharingRun.id, SharingRun.period, SharingRun.deduction_date, Charge.amount_minor)
            .join(Charge, Charge.run_id == SharingRun.id)
            .where(SharingRun.pool_id == pool.id, SharingRun.payment_model == "prepaid", Charge.member_id == record.id)
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
        low_balance_minor=_threshold_minor(pool, None),
        top_ups=top_ups,
        deductions=deductions,
        frozen_spans=frozen_spans(session, record.id),
    )
