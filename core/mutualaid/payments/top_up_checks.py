"""What a single top-up and a file of them share: a row read on its own, the checks against the
pool (:func:`top_up_problems`, the same code for one top-up and for the rows of a file that
:func:`unusual_top_ups` finds), and the writes to the members' balances with the unfreezing they
bring."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, func, literal, or_, select, true
from sqlalchemy.orm import Session

from ..csvfiles import parse_amount, parse_member_number, text_problem
from ..db.bulk import BULK_BATCH, chunks, ids_in, upsert
from ..db.models import Balance, Member, MemberStatusChange, TopUp, TopUpReversal
from ..errors import StateError
from ..fields import parse_date
from ..members.lifecycle import has_ended
from ..money import MAX_MINOR, format_minor, to_minor
from ..pools import PoolRecord, pool_today
from ..vocabulary import LIVE_STATUSES, MemberChange, MemberStatus
from .common import pool_members

__all__ = [
    "Earlier",
    "TopUpCells",
    "TopUpItem",
    "add_staged_to_balances",
    "add_to_balances",
    "frozen_balances",
    "staged_frozen",
    "top_up_problems",
    "unfreezing",
    "unusual_top_ups",
]


@dataclass(slots=True)
class TopUpItem:
    """A top-up to record: from the API (``line`` 0) or from a row of a file."""

    line: int
    member_id: int
    amount: int
    day: date
    reference: str


@dataclass(slots=True)
class Earlier:
    """What the rows of a file before a chunk bring to its checks: each member's top-ups on earlier
    lines (``added``), the first line of each reference in the file (``first_lines``, which may
    name the chunk's own lines) and the file's total so far (advanced by :func:`top_up_problems`).
    Empty for a single top-up."""

    added: dict[int, int] = field(default_factory=dict)
    first_lines: dict[str, int] = field(default_factory=dict)
    file_total: int = 0


class TopUpCells:
    """Reads the rows of a top-ups file each on its own: the member number, amount, day and
    reference of a row's cells (in that order), or the row's problems. A file of a million top-ups
    holds a few amounts and days, so each amount and day text is parsed once (an amount exactly,
    which costs more than the rest of a row), and the row comes out as it is staged."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self._amounts: dict[str, tuple[int | None, str | None]] = {}
        self._days: dict[str, str | None] = {}

    def read(self, line: int, cells: Sequence[str]) -> tuple[tuple[int, int, int, str, str] | None, list[str]]:
        """``(line, member, amount in minor units, day as ISO text, reference)``, or the problems."""
        member_text, amount_text, day_text, reference = cells
        member_id = parse_member_number(member_text)
        amount, amount_problem = self._amount(amount_text)
        day = self._days.get(day_text, "")
        if day == "":
            if len(self._days) >= _TEXTS_KEPT:
                self._days.clear()
            try:
                day = self._days[day_text] = parse_date(day_text, "date").isoformat()
            except ValueError:
                day = self._days[day_text] = None
        if member_id is not None and amount is not None and day is not None and reference:
            if len(reference) <= _REFERENCE_LIMIT and reference.isprintable():  # text_problem's checks, passed
                return (line, member_id, amount, day, reference), []
        problems: list[str] = []
        if member_id is None:
            problems.append(f"member_id: {member_text!r} is not a member number")
        if amount_problem:
            problems.append(f"amount: {amount_problem}")
        if day is None:
            problems.append(f"date: must be a date written YYYY-MM-DD ({day_text!r} given)")
        if not reference:
            problems.append(
                "reference: is required (the payment's own reference, so that the same top-up is never recorded twice)"
            )
        else:
            reference_problem = text_problem(reference, limit=_REFERENCE_LIMIT)
            if reference_problem:
                problems.append(f"reference: {reference_problem}")
        if problems:
            return None, problems
        return (line, cast(int, member_id), cast(int, amount), cast(str, day), reference), []

    def _amount(self, text: str) -> tuple[int | None, str | None]:
        known = self._amounts.get(text)
        if known is None:
            if len(self._amounts) >= _TEXTS_KEPT:
                self._amounts.clear()
            known = self._amounts[text] = parse_amount(text, self.currency)
        return known


#: Distinct amount and day texts :class:`TopUpCells` keeps parsed at once.
_TEXTS_KEPT = 4096
#: The longest reference recorded.
_REFERENCE_LIMIT = 200


def top_up_problems(
    session: Session, pool: PoolRecord, items: list[TopUpItem], earlier: Earlier | None = None
) -> list[tuple[int, str]]:
    """``(line, message)`` for every top-up whose member is not live in the pool, whose day is
    impossible, whose amount takes a balance or the file beyond the largest amount recorded, or
    whose reference was already recorded (in the pool, or earlier in the same file). ``earlier``:
    what the lines of the file before ``items`` bring (see :class:`Earlier`)."""
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
    earlier = earlier if earlier is not None else Earlier()
    for member_id, added in earlier.added.items():
        balances[member_id] = balances.get(member_id, 0) + added
    found: list[tuple[int, str]] = []
    seen_refs = dict(earlier.first_lines)
    file_total = earlier.file_total
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
            elif seen_refs.get(r.reference, r.line) != r.line:
                found.append((r.line, f"reference: {r.reference!r} is already on line {seen_refs[r.reference]}"))
            else:
                seen_refs[r.reference] = r.line
    earlier.file_total = file_total
    return found


def unusual_top_ups(table: Table, pool: PoolRecord, headroom: int) -> Select[Any]:
    """The staged top-ups of a file (``table``: ``line``, ``member_id``, ``amount``, ``day``,
    ``reference``) that are not plainly right, for :func:`top_up_problems` to check. A plainly right
    row tops up a live member of the pool, not before they joined nor after the pool's today, with a
    reference recorded nowhere in the pool (but on a reversed top-up) nor on an earlier line of the
    file, and its member's balance is at most ``headroom`` (the largest amount recorded less the
    file's total): no balance built from it can then pass the largest amount, nor can the file's
    running total. Every row of a member above ``headroom`` is among those found, so that the
    balance the rows before one of them build is the sum of found rows; with a ``headroom`` below
    0 (a file totalling more than the largest amount) every row is. Members and balances are found
    by their keys, references in the indexes of references."""
    rows = table.c
    earlier = table.alias("earlier")
    reversed_ = select(TopUpReversal.top_up_id).where(TopUpReversal.top_up_id == TopUp.id).exists()
    recorded = select(TopUp.id).where(TopUp.pool_id == pool.id, TopUp.reference == rows.reference, ~reversed_)
    unusual = [
        Member.id.is_(None),
        Member.pool_id != pool.id,
        has_ended(),
        rows.day < Member.joined_on,
        rows.day > pool_today(pool.definition),
        func.coalesce(Balance.balance_minor, 0) > headroom,
        recorded.exists(),
        select(earlier.c.line).where(earlier.c.reference == rows.reference, earlier.c.line < rows.line).exists(),
    ]
    return (
        select(table)
        .select_from(
            table.outerjoin(Member, Member.id == rows.member_id).outerjoin(Balance, Balance.member_id == rows.member_id)
        )
        .where(or_(*unusual))
    )


def staged_frozen(session: Session, table: Table, size: int) -> Iterator[dict[int, int]]:
    """The balance before the top-ups of each frozen member the staged rows of ``table`` name,
    ``size`` members at a time in member order: one query a chunk, from the member after the
    last one read, the members found by their keys."""
    last = 0
    while True:
        frozen = {
            int(member_id): int(held)
            for member_id, held in session.execute(
                select(table.c.member_id, func.coalesce(Balance.balance_minor, 0))
                .select_from(
                    table.join(Member, Member.id == table.c.member_id).outerjoin(
                        Balance, Balance.member_id == table.c.member_id
                    )
                )
                .where(table.c.member_id > last, Member.status == MemberStatus.FROZEN)
                .group_by(table.c.member_id, Balance.balance_minor)  # a member's rows, once
                .order_by(table.c.member_id)
                .limit(size)
            )
        }
        if not frozen:
            return
        yield frozen
        if len(frozen) < size:
            return
        last = max(frozen)


def frozen_balances(session: Session, member_ids: list[int]) -> dict[int, int]:
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


def unfreezing(
    session: Session, pool: PoolRecord, frozen: dict[int, int], by_member: dict[int, list[TopUpItem]]
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


def add_to_balances(connection: Connection, pool_id: int, amounts: list[tuple[int, int]]) -> None:
    """Add to members' balances, creating the rows that do not exist yet: one upsert of tuples
    through the driver per batch (the same statement on SQLite and PostgreSQL)."""
    dialect = connection.dialect
    if dialect.name not in ("postgresql", "sqlite"):  # pragma: no cover - the two supported databases
        raise StateError(f"top-ups need SQLite or PostgreSQL, not {dialect.name}")
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO balances (member_id, pool_id, balance_minor) VALUES ({marker}, {marker}, {marker}) "
        "ON CONFLICT (member_id) DO UPDATE SET balance_minor = balances.balance_minor + excluded.balance_minor"
    )
    for start in range(0, len(amounts), BULK_BATCH):
        connection.exec_driver_sql(sql, [(mid, pool_id, amount) for mid, amount in amounts[start : start + BULK_BATCH]])


def add_staged_to_balances(connection: Connection, pool_id: int, table: Table) -> None:
    """Add the top-ups staged in ``table`` (columns ``member_id`` and ``amount``) to their members'
    balances, creating the rows that do not exist yet: one upsert of the staged rows' sums, nothing
    sent row by row."""
    balances = cast(Table, Balance.__table__)
    source = (
        select(table.c.member_id, literal(pool_id), func.sum(table.c.amount))
        .where(true())  # SQLite's upsert from a SELECT needs a WHERE
        .group_by(table.c.member_id)
    )
    stmt = upsert(connection, balances).from_select(["member_id", "pool_id", "balance_minor"], source)
    stmt = stmt.on_conflict_do_update(
        index_elements=[balances.c.member_id],
        set_={"balance_minor": balances.c.balance_minor + stmt.excluded.balance_minor},
    )
    connection.execute(stmt)
