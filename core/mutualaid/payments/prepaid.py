"""Prepaid pools: top-ups, one at a time or imported from a file, and the unfreezing they bring.

Members keep a balance (Dr ``cash``, Cr ``member_balances``) that each sharing run deducts the
shares from (:mod:`mutualaid.payments.balances`). A top-up that brings a frozen member's balance to
``[payments] low_balance`` unfreezes them from the top-up's day
(:func:`mutualaid.members.lifecycle.unfreeze`). A single top-up and every row of a file are
checked by the same code, :func:`~mutualaid.payments.top_up_checks.top_up_problems`; a file is
read, checked and written a chunk at a time (:mod:`mutualaid.payments.staging`), so the memory
an import holds does not grow with the file.

Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String, Table, func, insert, literal, select
from sqlalchemy.orm import Session

from ..csvfiles import RowProblems, check_file, file_digest, read_columns, text_problem
from ..db.bulk import bulk_insert, chunks, ids_in
from ..db.models import Balance, Member, TopUp
from ..db.statistics import refresh_statistics
from ..errors import StateError, ValidationError
from ..fields import parse_date
from ..ledger.digests import DIGEST_KIND, staged_top_ups_digest, top_up_rows_digest
from ..ledger.posting import Line, post_entry
from ..members import lifecycle
from ..members.service import get_member
from ..money import MAX_MINOR, format_minor, to_minor
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool, lock_pool, pool_today
from ..vocabulary import LIVE_STATUSES, Account, EntryKind, PaymentModel
from . import staging
from .common import require_model
from .records import TopUpImport, TopUpRecord
from .staging import RepeatedNumbers, StreamedProblems, stage, staged, staged_chunks
from .top_up_checks import (
    Earlier,
    TopUpCells,
    TopUpItem,
    add_staged_to_balances,
    add_to_balances,
    frozen_balances,
    staged_frozen,
    top_up_problems,
    unfreezing,
    unusual_top_ups,
)

__all__ = ["TOP_UP_COLUMNS", "import_top_ups", "top_up"]

#: Columns of a top-ups file.
TOP_UP_COLUMNS = ("member_id", "amount", "date", "reference")


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
    require_model(pool, PaymentModel.PREPAID, "a top-up")
    record = get_member(session, pool, member)
    if record.status not in LIVE_STATUSES:
        ended = f" (ended on {record.ended_on.isoformat()})" if record.ended_on else ""
        raise StateError(
            f"member #{record.id} of pool {pool.key!r} is {record.status}{ended}; only a live (active or frozen) "
            "member can top up"
        )
    currency = pool.currency
    summary = f"the top-up of member #{record.id} was not recorded:"
    item = _given(record.id, amount, on, reference.strip(), currency, summary)
    minor, day, reference = item.amount, item.day, item.reference
    lock_pool(session, pool)
    found = top_up_problems(session, pool, [item])
    if found:
        raise ValidationError([message for _, message in found], summary=summary)
    entry_id, unfrozen = _apply(
        session,
        plugins,
        pool,
        [item],
        memo=f"top-up of member #{record.id}: {format_minor(minor, currency)} {currency}"
        + (f" (reference {reference})" if reference else ""),
        facts={"member_id": record.id, "amount": minor, "reference": reference},
        member_lines=True,
    )
    top_up_id = session.scalar(select(func.max(TopUp.id)).where(TopUp.pool_id == pool.id, TopUp.entry_id == entry_id))
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
        unfrozen=bool(unfrozen),
        entry_id=entry_id,
    )


def _given(member_id: int, amount: object, on: date | str, reference: str, currency: str, summary: str) -> TopUpItem:
    """A single top-up as given to the API, checked on its own.

    :raises ValidationError: listing every problem with the amount, the day or the reference.
    """
    problems: list[str] = []
    minor: int | None = None
    try:
        minor = to_minor(amount, currency)
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
    reference_problem = text_problem(reference, limit=200)
    if reference_problem:
        problems.append(f"reference: {reference_problem}")
    if problems or minor is None or day is None:
        raise ValidationError(problems, summary=summary)
    return TopUpItem(0, member_id, minor, day, reference)


def import_top_ups(session: Session, plugins: Plugins, pool_key: str, path: str | Path) -> TopUpImport:
    """Record the top-ups of a CSV file (``member_id,amount,date,reference``), all or nothing.

    Each row is checked as by :func:`top_up`, and a reference is required (so a file imported
    twice is refused: its references are already recorded). Every bad row is reported as
    ``FILE:LINE: field: message`` and nothing is written. Writes the ``top_ups`` rows and the
    balances in batches, unfreezes the frozen members whose balance reaches ``[payments]
    low_balance`` (from the day of the top-up that brought it there) and posts one ledger entry
    of kind ``top-up`` for the file (Dr ``cash``, Cr ``member_balances``).

    The rows are staged in a temporary table of the transaction as they are read, then checked
    and written a chunk at a time: the memory held does not grow with the file.

    :raises StateError: if the pool is postpaid.
    :raises ImportRowsError: listing every bad row; nothing is written.
    """
    pool = get_pool(session, plugins, pool_key)
    require_model(pool, PaymentModel.PREPAID, "importing top-ups")
    path = Path(path)
    check_file(path, "top-ups")
    lock_pool(session, pool)
    currency = pool.currency
    problems = StreamedProblems(path)
    with staged(session, "mutualaid_top_up_rows", *_staged_columns()) as table:
        read = _read(session, path, currency, problems, table)
        if read.count == 0 and not problems:
            raise ValidationError([f"{path}: the file has a header but no rows; nothing was imported"])
        figures = _check_staged(session, pool, table, read, problems)
        problems.raise_for(read.count, "top-ups")
        entry_id, unfrozen = _apply_staged(
            session,
            plugins,
            pool,
            table,
            figures,
            memo=(
                f"top-ups imported from {path.name}: {figures.rows:,} totalling "
                f"{format_minor(figures.total, currency)} {currency}"
            ),
            facts={"source": path.name, "digest": file_digest(path)},
        )
    refresh_statistics(session, TopUp, Balance, postgresql=True)
    return TopUpImport(
        pool_key=pool.key,
        source=str(path),
        currency=currency,
        rows=figures.rows,
        members=figures.members,
        total_minor=figures.total,
        unfrozen=unfrozen,
        entry_id=entry_id,
    )


def _staged_columns() -> tuple[Column[Any], ...]:
    """The staged rows of a top-ups file: each row that passed the checks of its own cells."""
    return (
        Column("line", Integer, primary_key=True),  # SQLite's rowid: the rows in file order
        Column("member_id", BigInteger, nullable=False),
        Column("amount", BigInteger, nullable=False),
        Column("day", Date, nullable=False),
        Column("reference", String(200), nullable=False),
    )


@dataclass(slots=True)
class _Read:
    """What reading a file came to: its rows, those staged, their total and last day, and the member
    numbers named more than once."""

    repeated: RepeatedNumbers
    count: int = 0
    staged: int = 0
    total: int = 0
    last_day: date | None = None


def _read(session: Session, path: Path, currency: str, problems: RowProblems, table: Table) -> _Read:
    """Each row read on its own, those that pass staged in ``table`` a chunk at a time, and what
    they come to added up as they go."""
    read = _Read(repeated=RepeatedNumbers(int(session.scalar(select(func.max(Member.id))) or 0)))
    chunk: list[tuple[int, int, int, str, str]] = []
    count = total = 0
    last_day = ""
    read_row, add_problem, add_number = TopUpCells(currency).read, problems.add, read.repeated.add
    for line, cells in read_columns(path, TOP_UP_COLUMNS, (), problems):
        count += 1
        staged, row_problems = read_row(line, cells)
        for problem in row_problems:
            add_problem(line, problem)
        if staged is not None:
            add_number(staged[1])
            total += staged[2]
            if staged[3] > last_day:  # ISO days order as their text
                last_day = staged[3]
            chunk.append(staged)
            if len(chunk) >= staging.CHUNK_ROWS:
                read.staged += len(chunk)
                stage(session, table, chunk, days_as_text=True)
                chunk.clear()
    read.staged += len(chunk)
    stage(session, table, chunk, days_as_text=True)
    read.count, read.total = count, total
    read.last_day = date.fromisoformat(last_day) if last_day else None
    return read


@dataclass(slots=True)
class _Figures:
    """What the staged top-ups come to."""

    rows: int = 0
    total: int = 0
    last_day: date | None = None
    members: int = 0


def _check_staged(session: Session, pool: PoolRecord, table: Table, read: _Read, problems: RowProblems) -> _Figures:
    """Check the staged top-ups against the pool and each other. One query finds the rows that are
    not plainly right (:func:`~mutualaid.payments.top_up_checks.unusual_top_ups`); only those are
    checked one by one, a chunk at a time in line order, each chunk with what the earlier lines
    bring: the top-ups of its members on earlier lines, the first line of its references."""
    connection = session.connection()
    Index(f"ix_{table.name}_reference", table.c.reference, table.c.line).create(connection)
    Index(f"ix_{table.name}_member", table.c.member_id, table.c.line).create(connection)
    staging.analyse(session, table)  # the look-ups of each row, and the balances' sums, by the indexes
    earlier = Earlier()
    query = unusual_top_ups(table, pool, MAX_MINOR - read.total)
    for rows in staged_chunks(session, table, staging.CHUNK_ROWS, query):
        items = [TopUpItem(line, member_id, amount, day, reference) for line, member_id, amount, day, reference in rows]
        del rows
        earlier.added = _added_before(session, table, items, read.repeated)
        earlier.first_lines = _first_lines(session, table, items)
        for line, message in top_up_problems(session, pool, items, earlier):
            problems.add(line, message)
    members = int(session.scalar(select(func.count(table.c.member_id.distinct()))) or 0)
    return _Figures(rows=read.staged, total=read.total, last_day=read.last_day, members=members)


def _added_before(session: Session, table: Table, items: list[TopUpItem], repeated: RepeatedNumbers) -> dict[int, int]:
    """What the lines before a chunk add to each of its members named more than once in the file.
    (The chunk's rows need not follow each other in the file: every row of a member whose balance
    could pass the largest amount is checked, so the rows before such a member's are in earlier
    chunks; for any other member the sum cannot matter.)"""
    again = sorted({r.member_id for r in items if r.member_id in repeated})
    added: dict[int, int] = {}
    for chunk in chunks(again):
        for member_id, amount in session.execute(
            select(table.c.member_id, func.sum(table.c.amount))
            .where(ids_in(table.c.member_id, chunk), table.c.line < items[0].line)
            .group_by(table.c.member_id)
        ):
            added[member_id] = int(amount)
    return added


def _first_lines(session: Session, table: Table, items: list[TopUpItem]) -> dict[str, int]:
    """The first line in the file of each reference of a chunk that an earlier line already holds
    (a reference first met on its own line is left out). A query a batch of the chunk's lines: each
    row searched in the index of references and lines, a scalar sub-query a row, which both
    databases run as a probe of that index. (A join of the chunk with the whole table was planned
    on PostgreSQL as a hash of every staged row, each chunk: an import quadratic in its file.)"""
    earlier = table.alias("earlier")
    first = select(func.min(earlier.c.line)).where(earlier.c.reference == table.c.reference).scalar_subquery()
    found: dict[str, int] = {}
    for lines in chunks([r.line for r in items]):
        for own, reference, line in session.execute(
            select(table.c.line, table.c.reference, first).where(ids_in(table.c.line, lines))
        ):
            if line < own:
                found[reference] = int(line)
    return found


def _apply_staged(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    table: Table,
    figures: _Figures,
    *,
    memo: str,
    facts: dict[str, Any],
) -> tuple[int, int]:
    """Write the checked top-ups of a file: the ledger entry, the rows (one ``INSERT ... SELECT``
    in line order), the balances and the unfreezing, a chunk of members at a time. Returns the
    entry's id and how many members were unfrozen."""
    facts = {
        **facts,
        "rows": figures.rows,
        "total": figures.total,
        "digest_kind": DIGEST_KIND,
        # the rows' SHA-256 digest (member, amount, day, reference), rechecked by ledger verify
        "rows_digest": staged_top_ups_digest(session, table.name),
    }
    entry = post_entry(
        session,
        pool.id,
        kind=EntryKind.TOP_UP,
        posted_on=figures.last_day or pool_today(pool.definition),
        memo=memo,
        lines=[Line(Account.CASH, figures.total), Line(Account.MEMBER_BALANCES, -figures.total)],
        facts=facts,
    )
    connection = session.connection()
    columns = ["pool_id", "member_id", "amount_minor", "received_on", "reference", "entry_id"]
    connection.execute(
        insert(TopUp).from_select(
            columns,
            select(
                literal(pool.id), table.c.member_id, table.c.amount, table.c.day, table.c.reference, literal(entry.id)
            ).order_by(table.c.line),
        )
    )
    unfreeze: list[tuple[int, date]] = []
    for frozen in staged_frozen(session, table, staging.CHUNK_ROWS):  # their balances before the file's
        unfreeze.extend(unfreezing(session, pool, frozen, _top_ups_of(session, table, sorted(frozen))))
    add_staged_to_balances(connection, pool.id, table)
    lifecycle.unfreeze(session, plugins, pool, unfreeze, cause="topped up")
    return entry.id, len(unfreeze)


def _top_ups_of(session: Session, table: Table, member_ids: list[int]) -> dict[int, list[TopUpItem]]:
    """The staged top-ups of each of ``member_ids``, in line order."""
    found: dict[int, list[TopUpItem]] = {}
    for chunk in chunks(member_ids):
        for line, member_id, amount, day, reference in session.execute(
            select(table).where(ids_in(table.c.member_id, chunk)).order_by(table.c.line)
        ):
            found.setdefault(member_id, []).append(TopUpItem(line, member_id, amount, day, reference))
    return found


def _apply(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    items: list[TopUpItem],
    *,
    memo: str,
    facts: dict[str, Any],
    member_lines: bool,
) -> tuple[int, int]:
    """Write checked top-ups: the ledger entry, the rows, the balances, then unfreeze who is covered.
    Returns the entry's id and how many members were unfrozen."""
    total = sum(r.amount for r in items)
    member_id = items[0].member_id if member_lines else None
    # the rows' SHA-256 digest (member, amount, day, reference), rechecked by ledger verify
    digest = top_up_rows_digest([(r.member_id, r.amount, r.day, r.reference) for r in items])
    facts = {**facts, "rows": len(items), "total": total, "digest_kind": DIGEST_KIND, "rows_digest": digest}
    entry = post_entry(
        session,
        pool.id,
        kind=EntryKind.TOP_UP,
        posted_on=max(r.day for r in items),
        memo=memo,
        lines=[
            Line(Account.CASH, total, member_id=member_id),
            Line(Account.MEMBER_BALANCES, -total, member_id=member_id),
        ],
        facts=facts,
    )
    connection = session.connection()
    bulk_insert(
        connection,
        cast(Table, TopUp.__table__),
        ("pool_id", "member_id", "amount_minor", "received_on", "reference", "entry_id"),
        [(pool.id, r.member_id, r.amount, r.day, r.reference, entry.id) for r in items],
    )
    by_member: dict[int, list[TopUpItem]] = {}
    for r in items:
        by_member.setdefault(r.member_id, []).append(r)
    frozen = frozen_balances(session, sorted(by_member))
    add_to_balances(connection, pool.id, [(mid, sum(r.amount for r in by_member[mid])) for mid in sorted(by_member)])
    unfrozen = unfreezing(session, pool, frozen, by_member)
    lifecycle.unfreeze(session, plugins, pool, unfrozen, cause="topped up")
    return entry.id, len(unfrozen)
