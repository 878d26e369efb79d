"""Prepaid pools: top-ups, one at a time or imported from a file, and the unfreezing they bring.

Members keep a balance (Dr ``cash``, Cr ``member_balances``) that each sharing run deducts the
shares from (:mod:`mutualaid.payments.balances`). A top-up that brings a frozen member's balance to
``[payments] low_balance`` unfreezes them from the top-up's day
(:func:`mutualaid.members.lifecycle.unfreeze`). A single top-up and every row of a file are
checked by the same code, :func:`_problems`.

Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..csvfiles import (
    RowProblems,
    check_file,
    file_digest,
    parse_amount,
    parse_member_number,
    read_records,
    text_problem,
)
from ..db.bulk import BULK_BATCH, bulk_insert, chunks, ids_in
from ..db.models import Balance, Member, MemberStatusChange, TopUp, TopUpReversal
from ..errors import StateError, ValidationError
from ..fields import parse_date
from ..ledger.digests import DIGEST_KIND, top_up_rows_digest
from ..ledger.posting import Line, post_entry
from ..members import lifecycle
from ..members.service import get_member
from ..money import MAX_MINOR, format_minor, to_minor
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool, lock_pool, pool_today
from ..vocabulary import LIVE_STATUSES, Account, EntryKind, MemberChange, MemberStatus, PaymentModel
from .common import pool_members, require_model
from .records import TopUpImport, TopUpRecord

__all__ = ["TOP_UP_COLUMNS", "import_top_ups", "top_up"]

#: Columns of a top-ups file.
TOP_UP_COLUMNS = ("member_id", "amount", "date", "reference")


@dataclass(slots=True)
class _TopUp:
    """A top-up to record: from the API (``line`` 0) or from a row of a file."""

    line: int
    member_id: int
    amount: int
    day: date
    reference: str


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
    found = _problems(session, pool, [item])
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
    top_up_id = session.scalar(select(func.max(TopUp.id)).where(TopUp.entry_id == entry_id))
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


def _given(member_id: int, amount: object, on: date | str, reference: str, currency: str, summary: str) -> _TopUp:
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
    return _TopUp(0, member_id, minor, day, reference)


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
    require_model(pool, PaymentModel.PREPAID, "importing top-ups")
    path = Path(path)
    check_file(path, "top-ups")
    lock_pool(session, pool)
    currency = pool.currency
    problems = RowProblems(path)
    items: list[_TopUp] = []
    count = 0
    for line, cells in read_records(path, TOP_UP_COLUMNS, (), problems):
        count += 1
        item, row_problems = _row(line, cells, currency)
        for problem in row_problems:
            problems.add(line, problem)
        if item is not None:
            items.append(item)
    if count == 0 and not problems:
        raise ValidationError([f"{path}: the file has a header but no rows; nothing was imported"])
    for line, message in _problems(session, pool, items):
        problems.add(line, message)
    problems.raise_for(count, "top-ups")
    total = sum(r.amount for r in items)
    entry_id, unfrozen = _apply(
        session,
        plugins,
        pool,
        items,
        memo=f"top-ups imported from {path.name}: {len(items):,} totalling {format_minor(total, currency)} {currency}",
        facts={"source": path.name, "digest": file_digest(path), "rows": len(items), "total": total},
        member_lines=False,
    )
    return TopUpImport(
        pool_key=pool.key,
        source=str(path),
        currency=currency,
        rows=len(items),
        members=len({r.member_id for r in items}),
        total_minor=total,
        unfrozen=unfrozen,
        entry_id=entry_id,
    )


def _row(line: int, cells: Mapping[str, str], currency: str) -> tuple[_TopUp | None, list[str]]:
    """A row of a top-ups file read on its own, or its problems."""
    problems: list[str] = []
    member_id = parse_member_number(cells.get("member_id", ""))
    if member_id is None:
        problems.append(f"member_id: {cells.get('member_id', '')!r} is not a member number")
    amount, amount_problem = parse_amount(cells.get("amount", ""), currency)
    if amount_problem:
        problems.append(f"amount: {amount_problem}")
    day: date | None = None
    try:
        day = parse_date(cells.get("date", ""), "date")
    except ValueError:
        problems.append(f"date: must be a date written YYYY-MM-DD ({cells.get('date', '')!r} given)")
    reference = cells.get("reference", "")
    if not reference:
        problems.append(
            "reference: is required (the payment's own reference, so that the same top-up is never recorded twice)"
        )
    else:
        reference_problem = text_problem(reference, limit=200)
        if reference_problem:
            problems.append(f"reference: {reference_problem}")
    if problems:
        return None, problems
    return _TopUp(line, cast(int, member_id), cast(int, amount), cast(date, day), reference), []


def _problems(session: Session, pool: PoolRecord, items: list[_TopUp]) -> list[tuple[int, str]]:
    """``(line, message)`` for every top-up whose member is not live in the pool, whose day is
    impossible, or whose reference was already recorded (in the pool, or earlier in the same file)."""
    today = pool_today(pool.definition)
    members = cast(
        dict[int, tuple[str, date, date | None]],
        pool_members(session, pool.id, (r.member_id for r in items), Member.status, Member.joined_on, Member.ended_on),
    )
    known_refs: dict[str, tuple[int, int, date]] = {}
    references = sorted({r.reference for r in items if r.reference})
    for start in range(0, len(references), 1000):
        for ref, top_up_id, member_id, received in session.execute(
            select(TopUp.reference, TopUp.id, TopUp.member_id, TopUp.received_on).where(
                TopUp.pool_id == pool.id,
                TopUp.reference.in_(references[start : start + 1000]),
                TopUp.id.not_in(select(TopUpReversal.top_up_id)),  # a reversed top-up's reference is free again
            )
        ):
            known_refs.setdefault(ref, (top_up_id, member_id, received))
    balances: dict[int, int] = {}
    for chunk in chunks(sorted(members)):
        for member_id, held in session.execute(
            select(Balance.member_id, Balance.balance_minor).where(ids_in(Balance.member_id, chunk))
        ):
            balances[member_id] = int(held)
    found: list[tuple[int, str]] = []
    seen_refs: dict[str, int] = {}
    file_total = 0
    for r in items:
        # Each top-up may be within bounds and the balance it builds, or the file's entry, not.
        balances[r.member_id] = balances.get(r.member_id, 0) + r.amount
        file_total += r.amount
        if balances[r.member_id] > MAX_MINOR:
            found.append(
                (
                    r.line,
                    f"amount: member #{r.member_id}'s balance would be "
                    f"{format_minor(balances[r.member_id], pool.currency)} {pool.currency}, beyond the largest "
                    f"amount recorded ({format_minor(MAX_MINOR, pool.currency)})",
                )
            )
        elif file_total > MAX_MINOR:
            found.append(
                (
                    r.line,
                    f"amount: the top-ups up to this line total {format_minor(file_total, pool.currency)} "
                    f"{pool.currency}, beyond the largest amount recorded ({format_minor(MAX_MINOR, pool.currency)}); "
                    "split the file",
                )
            )
        member = members.get(r.member_id)
        if member is None:
            found.append((r.line, f"member_id: pool {pool.key!r} has no member #{r.member_id}"))
        elif member[0] not in LIVE_STATUSES:
            ended = f" since {member[2].isoformat()}" if member[2] else ""
            found.append(
                (
                    r.line,
                    f"member_id: member #{r.member_id} is {member[0]}{ended}; only a live (active or frozen) member "
                    "can top up",
                )
            )
        elif r.day < member[1]:
            found.append(
                (r.line, f"date: {r.day.isoformat()} is before member #{r.member_id} joined on {member[1].isoformat()}")
            )
        if r.day > today:
            found.append(
                (
                    r.line,
                    f"date: {r.day.isoformat()} is in the future (today is {today.isoformat()} in the pool's time zone)",
                )
            )
        if r.reference:
            known = known_refs.get(r.reference)
            if known is not None:
                found.append(
                    (
                        r.line,
                        f"reference: {r.reference!r} was already recorded (top-up #{known[0]} of member #{known[1]} "
                        f"on {known[2].isoformat()}); a top-up is recorded once",
                    )
                )
            elif r.reference in seen_refs:
                found.append((r.line, f"reference: {r.reference!r} is already on line {seen_refs[r.reference]}"))
            else:
                seen_refs[r.reference] = r.line
    return found


def _apply(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    items: list[_TopUp],
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
    by_member: dict[int, list[_TopUp]] = {}
    for r in items:
        by_member.setdefault(r.member_id, []).append(r)
    frozen = _frozen_balances(session, sorted(by_member))
    _add_to_balances(connection, pool.id, [(mid, sum(r.amount for r in by_member[mid])) for mid in sorted(by_member)])
    unfrozen = _unfreezing(session, pool, frozen, by_member)
    lifecycle.unfreeze(session, plugins, pool, unfrozen, cause="topped up")
    return entry.id, len(unfrozen)


def _frozen_balances(session: Session, member_ids: list[int]) -> dict[int, int]:
    """The balance before the top-ups of each frozen member among ``member_ids``."""
    frozen: dict[int, int] = {}
    for chunk in chunks(member_ids):
        for mid, held in session.execute(
            select(Member.id, func.coalesce(Balance.balance_minor, 0))
            .select_from(Member)
            .outerjoin(Balance, Balance.member_id == Member.id)
            .where(ids_in(Member.id, chunk), Member.status == MemberStatus.FROZEN)
        ):
            frozen[mid] = int(held)
    return frozen


def _unfreezing(
    session: Session, pool: PoolRecord, frozen: dict[int, int], by_member: dict[int, list[_TopUp]]
) -> list[tuple[int, date]]:
    """The frozen members whose balance reaches ``low_balance``, each with the day of the top-up
    that brought it there (not before the day they were frozen)."""
    threshold = to_minor(pool.config.payments.low_balance, pool.currency)
    frozen_since: dict[int, date] = {}
    for chunk in chunks(sorted(frozen)):
        for mid, since in session.execute(
            select(MemberStatusChange.member_id, func.max(MemberStatusChange.since))
            .where(ids_in(MemberStatusChange.member_id, chunk), MemberStatusChange.change == MemberChange.FROZEN)
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
    return unfreeze


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
    for start in range(0, len(amounts), BULK_BATCH):
        connection.execute(
            stmt,
            [{"m_id": mid, "p_id": pool_id, "amount": amount} for mid, amount in amounts[start : start + BULK_BATCH]],
        )
