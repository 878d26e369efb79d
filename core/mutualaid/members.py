"""Members: joining (eligibility checked by the cohort), bulk import from CSV, listing, updating a
member's cohort attributes, and ending a membership (the member exits, or died).

A person holds at most one live (active or frozen) membership per pool; an ended membership keeps
its row, with the status ``exited`` or ``deceased`` and the day it ended.
Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .cohort import Applicant, waiting_until
from .csvfiles import open_csv
from .database import bulk_insert
from .errors import ImportRowsError, IneligibleError, NotFoundError, StateError, ValidationError
from .fields import parse_date, validate_fields
from .models import LIVE_STATUSES, Claim, Member
from .plugins import Plugins
from .pools import PoolRecord, get_pool, pool_today

__all__ = [
    "CORE_COLUMNS",
    "ENDED_STATUSES",
    "ImportProgress",
    "ImportResult",
    "MemberRecord",
    "MemberUpdate",
    "check_applicant",
    "end_membership",
    "get_member",
    "import_members",
    "join_member",
    "list_members",
    "member_state",
    "normalize_id_number",
    "update_member",
]

#: The statuses of a membership that has ended, each with the day it ended (``ended_on``).
ENDED_STATUSES = ("exited", "deceased")
#: Claim statuses whose benefit was granted (approved, or approved and already shared).
_PAID_CLAIMS = ("approved", "shared")
#: Columns every member CSV has; other columns are the cohort's member attributes.
CORE_COLUMNS = ("id_number", "name", "birth_date")
OPTIONAL_CORE_COLUMNS = ("joined_on",)
_CORE = frozenset(CORE_COLUMNS + OPTIONAL_CORE_COLUMNS)
_BATCH = 5000
_ANALYZE_AFTER = 10_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: The columns a new member's row fills, in the order of :func:`_row_tuple`.
_INSERT_COLUMNS = (
    "pool_id",
    "id_number",
    "name",
    "birth_date",
    "joined_on",
    "waiting_until",
    "status",
    "ended_on",
    "attributes_json",
)


def _is_live() -> ColumnElement[bool]:
    # The statuses are rendered as literals, not bound: only then can SQLite (and a generic
    # PostgreSQL plan) prove that the query implies the WHERE of the partial unique index
    # uq_members_live_person and use it, instead of scanning every member of the pool.
    return Member.status.in_(bindparam("live_statuses", list(LIVE_STATUSES), expanding=True, literal_execute=True))


def normalize_id_number(text: object) -> str:
    """An identity number as stored: NFKC (full-width digits become ASCII), trimmed, and the check
    character ``x`` of an 18-character resident ID upper-cased, so one person has one number."""
    number = unicodedata.normalize("NFKC", str(text)).strip()
    if len(number) == 18 and number[17] == "x" and number[:17].isascii() and number[:17].isdigit():
        number = number[:17] + "X"
    return number


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A member as the API returns it."""

    id: int
    pool_key: str
    id_number: str
    name: str
    birth_date: date
    joined_on: date
    waiting_until: date
    status: str
    ended_on: date | None
    attributes: dict[str, Any]

    def state_on(self, on: date) -> str:
        return member_state(self.status, self.waiting_until, on)

    def as_dict(self, on: date | None = None) -> dict[str, Any]:
        data = {
            "id": self.id,
            "pool": self.pool_key,
            "id_number": self.id_number,
            "name": self.name,
            "birth_date": self.birth_date.isoformat(),
            "joined_on": self.joined_on.isoformat(),
            "waiting_until": self.waiting_until.isoformat(),
            "status": self.status,
            "ended_on": self.ended_on.isoformat() if self.ended_on else None,
            "attributes": self.attributes,
        }
        if on is not None:
            data["state"] = self.state_on(on)
        return data


def member_state(status: str, waiting: date, on: date) -> str:
    """The state a person sees: ``waiting`` while an active member is inside the waiting period."""
    if status == "active" and on <= waiting:
        return "waiting"
    return status


def _record(row: Member, pool_key: str) -> MemberRecord:
    return MemberRecord(
        id=row.id,
        pool_key=pool_key,
        id_number=row.id_number,
        name=row.name,
        birth_date=row.birth_date,
        joined_on=row.joined_on,
        waiting_until=row.waiting_until,
        status=row.status,
        ended_on=row.ended_on,
        attributes=json.loads(row.attributes_json),
    )


def check_applicant(
    plugins: Plugins, pool: PoolRecord, raw: Mapping[str, Any], *, default_joined_on: date
) -> tuple[Applicant | None, list[str]]:
    """Validate one applicant's core fields and cohort attributes, then every eligibility rule.

    :returns: the applicant, or ``None`` with every problem (``field: message`` or a sentence).
    """
    problems: list[str] = []
    cohort = pool.definition.cohort
    id_number = normalize_id_number(raw.get("id_number") or "")
    name = str(raw.get("name") or "").strip()
    if not id_number:
        problems.append("id_number: is required")
    elif len(id_number) > 64:
        problems.append("id_number: is longer than 64 characters")
    elif _CONTROL.search(id_number):
        problems.append("id_number: contains a line break or another control character")
    if not name:
        problems.append("name: is required")
    elif len(name) > 200:
        problems.append("name: is longer than 200 characters")
    elif _CONTROL.search(name):
        problems.append("name: contains a line break or another control character")
    birth: date | None = None
    joined: date | None = default_joined_on
    if not raw.get("birth_date"):
        problems.append("birth_date: is required")
    else:
        birth = _date_field(raw["birth_date"], "birth_date", problems)
    if raw.get("joined_on"):
        joined = _date_field(raw["joined_on"], "joined_on", problems)
    if birth is not None and joined is not None and birth > joined:
        problems.append(f"birth_date: {birth.isoformat()} is after the joining day {joined.isoformat()}")
    attrs_raw = {k: v for k, v in raw.items() if k not in _CORE}
    attributes, attr_problems = validate_fields(cohort.member_model, attrs_raw)
    problems.extend(attr_problems)
    if problems or birth is None or joined is None or attributes is None:
        return None, problems
    applicant = Applicant(id_number=id_number, name=name, birth_date=birth, joined_on=joined, attributes=attributes)
    problems.extend(cohort.rules.eligibility_problems(applicant, pool.definition.settings))
    for extra in plugins.hook.eligibility_problems(pool=pool.definition.config, applicant=applicant):
        problems.extend(extra or [])
    return (None, problems) if problems else (applicant, [])


def _date_field(value: Any, key: str, problems: list[str]) -> date | None:
    try:
        return parse_date(value, key)
    except ValueError:
        problems.append(f"{key}: {value!r} is not a date; write it as YYYY-MM-DD")
        return None


def _live_member_id(session: Session, pool_id: int, id_number: str) -> int | None:
    return session.scalar(select(Member.id).where(Member.pool_id == pool_id, Member.id_number == id_number, _is_live()))


def _deceased_member(session: Session, pool_id: int, id_number: str) -> tuple[int, date | None] | None:
    row = session.execute(
        select(Member.id, Member.ended_on)
        .where(Member.pool_id == pool_id, Member.id_number == id_number, Member.status == "deceased")
        .limit(1)
    ).first()
    return (row.id, row.ended_on) if row is not None else None


def _already_live(member_id: int, pool: PoolRecord) -> str:
    return f"this person already holds live membership #{member_id} in pool {pool.key!r}"


def _deceased_reason(member_id: int, ended_on: date | None) -> str:
    died = f", died on {ended_on.isoformat()}" if ended_on is not None else ""
    return f"this person is recorded as deceased (member #{member_id}{died})"


def _row_tuple(pool: PoolRecord, applicant: Applicant) -> tuple[Any, ...]:
    """A new member's row, in the order of ``_INSERT_COLUMNS``."""
    days = pool.definition.cohort.rules.waiting_period_days(applicant, pool.definition.settings)
    return (
        pool.id,
        applicant.id_number,
        applicant.name,
        applicant.birth_date,
        applicant.joined_on,
        waiting_until(applicant.joined_on, int(days)),
        "active",
        None,
        applicant.attributes.model_dump_json(),
    )


def _row_values(pool: PoolRecord, applicant: Applicant) -> dict[str, Any]:
    return dict(zip(_INSERT_COLUMNS, _row_tuple(pool, applicant), strict=True))


def join_member(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    *,
    id_number: str,
    name: str,
    birth_date: str | date,
    attributes: Mapping[str, Any] | None = None,
    joined_on: str | date | None = None,
) -> MemberRecord:
    """Add one member after checking every eligibility rule.

    :raises IneligibleError: listing every reason the applicant may not join.
    """
    pool = get_pool(session, plugins, pool_key)
    raw: dict[str, Any] = dict(attributes or {})
    raw.update(id_number=id_number, name=name, birth_date=birth_date)
    if joined_on is not None:
        raw["joined_on"] = joined_on
    applicant, problems = check_applicant(plugins, pool, raw, default_joined_on=pool_today(pool.definition))
    who = name.strip() or id_number
    if applicant is not None:
        existing = _live_member_id(session, pool.id, applicant.id_number)
        deceased = _deceased_member(session, pool.id, applicant.id_number) if existing is None else None
        if existing is not None:
            problems = [_already_live(existing, pool)]
            applicant = None
        elif deceased is not None:
            problems = [f"{_deceased_reason(*deceased)} in pool {pool.key!r}"]
            applicant = None
    if applicant is None:
        raise IneligibleError(problems, summary=f"{who} cannot join pool {pool.key!r}:")
    row = Member(**_row_values(pool, applicant))
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Another transaction gave this person a live membership between the check above and this
        # insert: the partial unique index uq_members_live_person refused the second one. The
        # savepoint is rolled back (and the new row expunged), so the session is still usable.
        existing = _live_member_id(session, pool.id, applicant.id_number)
        if existing is None:
            raise
        raise IneligibleError(
            [_already_live(existing, pool)], summary=f"{who} cannot join pool {pool.key!r}:"
        ) from None
    plugins.hook.member_joined(pool=pool.definition.config, member_id=row.id, applicant=applicant)
    return _record(row, pool.key)


#: How :func:`import_members` reports progress: ``progress(stage, done, total)``. First
#: ``("checking", line, None)`` while the rows are validated, where ``line`` is the physical line of
#: the file reached (the file is streamed, so its length is not known; the header is line 1), then
#: ``("writing", rows_written, rows_to_write)`` while the valid rows are written.
ImportProgress = Callable[[str, int, int | None], None]


@dataclass(slots=True)
class ImportResult:
    """What a CSV import did."""

    imported: int = 0
    rejected: int = 0
    rejects_path: Path | None = None
    problems: list[str] = field(default_factory=list)


def import_members(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    path: str | Path,
    *,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    joined_on: str | date | None = None,
    progress: ImportProgress | None = None,
) -> ImportResult:
    """Import members from a CSV file, all or nothing.

    Every row is validated (core fields, cohort attributes, eligibility, one live membership per
    person, not recorded as deceased) before anything is written. With problems and
    ``skip_invalid`` false, an :class:`ImportRowsError` lists each bad row as ``FILE:LINE: reason``
    (``LINE`` is the physical line the row starts on; the header is line 1) and nothing is written.
    With ``skip_invalid``, the bad rows go to ``rejects_path`` (default ``FILE.rejects.csv``) with
    a ``line`` and a ``reason`` column, then the good rows are written.

    Rows are written with one ``executemany`` of tuples per batch of 5,000 (``COPY`` on PostgreSQL).
    ``progress`` is called as described at :data:`ImportProgress`, every 1,000 rows checked and
    every batch written.
    """
    pool = get_pool(session, plugins, pool_key)
    path = Path(path)
    if not path.is_file():
        raise ValidationError([f"{path}: no such file; give the path of a CSV file of members"])
    target = Path(rejects_path) if rejects_path else path.with_suffix(".rejects.csv")
    if skip_invalid and target.resolve() == path.resolve():
        raise ValidationError([f"{target}: the rejects file would overwrite the file being imported; choose another"])
    model = pool.definition.cohort.member_model
    columns = set(_CORE) | set(model.model_fields)
    try:
        default_joined = parse_date(joined_on, "joined_on") if joined_on else pool_today(pool.definition)
    except ValueError as exc:
        raise ValidationError([str(exc)]) from None

    good: list[tuple[int, list[str], tuple[Any, ...]]] = []
    bad: list[tuple[int, list[str], str]] = []
    seen: dict[str, int] = {}
    with open_csv(path, CORE_COLUMNS, columns - set(CORE_COLUMNS), listing=", ".join(sorted(columns))) as source:
        header = source.header
        for line, cells in source.rows():
            too_many = source.too_many_cells(cells)
            if too_many:
                bad.append((line, cells, too_many))
                continue
            raw = dict(zip(header, cells, strict=False))  # a short row: the missing cells are empty
            applicant, problems = check_applicant(plugins, pool, raw, default_joined_on=default_joined)
            if applicant is not None:
                first = seen.get(applicant.id_number)
                if first is not None:
                    problems = [f"id_number: the same person is already on line {first}"]
                    applicant = None
                else:
                    seen[applicant.id_number] = line
            if applicant is None:
                bad.append((line, cells, "; ".join(problems)))
            else:
                good.append((line, cells, _row_tuple(pool, applicant)))
            if progress and (len(good) + len(bad)) % 1000 == 0:
                progress("checking", line, None)
        if progress:
            progress("checking", source.line, None)

    # Already members, or recorded as deceased? One query per batch of ID numbers, not one per row.
    known: dict[str, str] = {}
    for number, member_id, ended_on in session.execute(
        select(Member.id_number, Member.id, Member.ended_on).where(
            Member.pool_id == pool.id, Member.status == "deceased"
        )
    ):
        if number in seen:
            known[number] = f"id_number: {_deceased_reason(member_id, ended_on)}"
    for number, member_id in _live_members(session, pool, list(seen)):
        known[number] = f"id_number: this person already holds live membership #{member_id}"
    if known:
        still_good = []
        for line, cells, values in good:
            reason = known.get(values[1])
            if reason is None:
                still_good.append((line, cells, values))
            else:
                bad.append((line, cells, reason))
        good = still_good
    bad.sort(key=lambda item: item[0])

    result = ImportResult(problems=[f"{path}:{line}: {reason}" for line, _, reason in bad])
    if bad and not skip_invalid:
        raise ImportRowsError(
            result.problems,
            summary=f"{path}: {len(bad)} of {len(bad) + len(good)} rows are invalid; nothing was imported "
            "(fix them, or use --skip-invalid to import the valid rows):",
        )
    if bad:
        _write_rejects(target, header, bad)
        result.rejects_path = target
    rows = [values for _, _, values in good]
    del good
    if progress and rows:
        progress("writing", 0, len(rows))
    dbapi_integrity_error = session.connection().dialect.loaded_dbapi.IntegrityError  # raised by COPY
    try:
        with session.begin_nested():
            connection = session.connection()  # the savepoint is begun here
            for start in range(0, len(rows), _BATCH):
                bulk_insert(connection, cast(Table, Member.__table__), _INSERT_COLUMNS, rows[start : start + _BATCH])
                if progress:
                    progress("writing", min(start + _BATCH, len(rows)), len(rows))
    except (IntegrityError, dbapi_integrity_error):
        # Another join or import gave some of these people a live membership after they were
        # checked (uq_members_live_person refused them): name them, as a check would have.
        taken = sorted((seen[number], member_id) for number, member_id in _live_members(session, pool, list(seen)))
        if not taken:
            raise
        raise ImportRowsError(
            [
                f"{path}:{line}: id_number: this person already holds live membership #{member_id}"
                for line, member_id in taken
            ],
            summary=f"{path}: {len(taken)} of these people joined pool {pool.key!r} while the file was being "
            "checked; nothing was imported:",
        ) from None
    connection = session.connection()
    if len(rows) >= _ANALYZE_AFTER and connection.dialect.name == "postgresql":
        # Fresh statistics for the next lookups: without them PostgreSQL estimates an IN list of
        # 500 ID numbers to match every member and filters the whole pool for each batch (a
        # second import of 100,000 rows right after the first took minutes instead of seconds).
        connection.exec_driver_sql("ANALYZE members")
    result.imported = len(rows)
    result.rejected = len(bad)
    return result


def _live_members(session: Session, pool: PoolRecord, numbers: list[str]) -> Iterator[tuple[str, int]]:
    """``(id_number, member_id)`` of the live memberships in ``pool`` among ``numbers``, one query per 500."""
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        rows = session.execute(
            select(Member.id_number, Member.id).where(
                Member.pool_id == pool.id, Member.id_number.in_(chunk), _is_live()
            )
        )
        yield from ((number, member_id) for number, member_id in rows)


def _write_rejects(target: Path, header: list[str], bad: list[tuple[int, list[str], str]]) -> None:
    """The rejected rows with their line and reason; each row padded or cut to the header's width
    (the reason of a row with too many cells quotes the extra ones)."""
    width = len(header)
    try:
        with target.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["line", *header, "reason"])
            for line, cells, reason in bad:
                row = (cells + [""] * width)[:width]
                writer.writerow([line, *row, reason])
    except OSError as exc:
        raise ValidationError(
            [f"{target}: cannot write the rejects file ({exc.strerror or exc}); nothing was imported"]
        ) from None


def get_member(session: Session, pool: PoolRecord, member: int | str) -> MemberRecord:
    """A member of ``pool`` by member number (``12`` or ``#12``) or by ID number (live membership first)."""
    text = str(member).strip().lstrip("#")
    row: Member | None = None
    if text.isdigit() and len(text) < 12:
        row = session.scalar(select(Member).where(Member.pool_id == pool.id, Member.id == int(text)))
    if row is None:
        row = session.scalar(
            select(Member)
            .where(Member.pool_id == pool.id, Member.id_number == normalize_id_number(member))
            .order_by(Member.status.in_(LIVE_STATUSES).desc(), Member.id.desc())
            .limit(1)
        )
    if row is None:
        raise NotFoundError(f"pool {pool.key!r} has no member {member!r} (give a member number or an ID number)")
    return _record(row, pool.key)


def list_members(
    session: Session, plugins: Plugins, pool_key: str, *, status: str | None = None, limit: int | None = None
) -> Iterator[MemberRecord]:
    """Members of a pool in joining order, streamed in batches."""
    pool = get_pool(session, plugins, pool_key)
    query = select(Member).where(Member.pool_id == pool.id).order_by(Member.id)
    if status:
        query = query.where(Member.status == status)
    if limit is not None:
        query = query.limit(limit)
    for row in session.scalars(query.execution_options(yield_per=2000)):
        yield _record(row, pool.key)


def _locked_member(session: Session, pool: PoolRecord, member: int | str) -> Member:
    """The member's row, locked (FOR UPDATE on PostgreSQL) until the transaction ends and re-read,
    so that two operators changing one member at once are served one after the other."""
    member_id = get_member(session, pool, member).id
    return session.execute(
        select(Member).where(Member.id == member_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def _require_live(row: Member, pool: PoolRecord, action: str) -> None:
    if row.status in LIVE_STATUSES:
        return
    ended = f" (ended on {row.ended_on.isoformat()})" if row.ended_on is not None else ""
    raise StateError(
        f"member #{row.id} of pool {pool.key!r} is already {row.status}{ended}; only a live (active or frozen) "
        f"membership can {action}"
    )


def end_membership(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    member: int | str,
    *,
    status: Literal["exited", "deceased"],
    on: str | date | None = None,
) -> MemberRecord:
    """End a live membership: the member exits (``status="exited"``) or died (``"deceased"``) on ``on``.

    ``on`` defaults to today in the pool's time zone; it may not be before the joining day, in the
    future, or before an event for which this member was granted a benefit. The member shares every
    period whose notice day is on or before ``on`` -- members are counted at 00:00 of the notice
    day, so a period whose cases were already in public notice is still owed -- and no later one.
    Shares already charged stand (nothing is refunded).

    :raises StateError: if the membership is not live (it has already ended, or lapsed).
    :raises ValidationError: for a bad ``on``, listing every problem.
    """
    if status not in ENDED_STATUSES:
        raise ValidationError([f"status: {status!r} does not end a membership; use 'exited' or 'deceased'"])
    pool = get_pool(session, plugins, pool_key)
    row = _locked_member(session, pool, member)
    _require_live(row, pool, "be ended")
    what = "exit" if status == "exited" else "death"
    today = pool_today(pool.definition)
    try:
        day = parse_date(on, f"the {what} date") if on is not None else today
    except ValueError as exc:
        raise ValidationError([str(exc)], summary=f"the {what} of member #{row.id} was not recorded:") from None
    problems = []
    if day < row.joined_on:
        problems.append(
            f"the {what} date {day.isoformat()} is before member #{row.id} joined on {row.joined_on.isoformat()}; "
            "give a day on or after the joining day"
        )
    if day > today:
        problems.append(
            f"the {what} date {day.isoformat()} is in the future (today is {today.isoformat()} in the pool's time "
            f"zone); record the {what} on or after the day it happens"
        )
    paid = session.execute(
        select(Claim.id, Claim.event_date)
        .where(Claim.member_id == row.id, Claim.status.in_(_PAID_CLAIMS), Claim.event_date > day)
        .order_by(Claim.event_date, Claim.id)
        .limit(1)
    ).first()
    if paid is not None:
        problems.append(
            f"claim #{paid.id} of this member was approved for an event on {paid.event_date.isoformat()}, after the "
            f"{what} date {day.isoformat()}; check the date"
        )
    if problems:
        raise ValidationError(problems, summary=f"the {what} of member #{row.id} was not recorded:")
    row.status = status
    row.ended_on = day
    session.flush()
    plugins.hook.member_ended(pool=pool.definition.config, member_id=row.id, status=status, on=day)
    return _record(row, pool.key)


@dataclass(frozen=True, slots=True)
class MemberUpdate:
    """What :func:`update_member` did: the member as now stored, and each attribute that changed
    as ``name: (old, new)`` (JSON values; ``None`` where there was or is no value)."""

    member: MemberRecord
    changes: dict[str, tuple[Any, Any]]

    def as_dict(self, on: date | None = None) -> dict[str, Any]:
        return {
            "member": self.member.as_dict(on),
            "changes": {name: {"old": old, "new": new} for name, (old, new) in self.changes.items()},
        }


def update_member(
    session: Session, plugins: Plugins, pool_key: str, member: int | str, attributes: Mapping[str, Any]
) -> MemberUpdate:
    """Change some of a live member's cohort attributes (a driver renews their licence, say).

    The values given are merged into the stored ones and the whole set is validated again with the
    cohort's member model, as at joining; an empty value removes an attribute (its default
    applies). Eligibility is not checked again: a member does not lose the membership by ageing or
    by what is recorded here. The member's name, ID number and dates are not attributes.

    :raises StateError: if the membership is not live.
    :raises ValidationError: listing every problem (an unknown name, a bad value); nothing is changed.
    """
    pool = get_pool(session, plugins, pool_key)
    cohort = pool.definition.cohort
    row = _locked_member(session, pool, member)
    _require_live(row, pool, "be updated")
    summary = f"member #{row.id} of pool {pool.key!r} was not updated:"
    if not attributes:
        raise ValidationError(
            [
                f"no attribute was given; give NAME=VALUE for each one to change ('mutualaid cohorts show {cohort.key}' "
                "lists them)"
            ],
            summary=summary,
        )
    problems = [
        f"{name}: is part of the member's own record, not an attribute of cohort {cohort.key!r}; it cannot be changed"
        for name in attributes
        if name in _CORE
    ]
    old = json.loads(row.attributes_json)
    merged = {**old, **{name: value for name, value in attributes.items() if name not in _CORE}}
    parsed, attribute_problems = validate_fields(cohort.member_model, merged)
    problems.extend(attribute_problems)
    if problems or parsed is None:
        raise ValidationError(problems, summary=summary)
    new = parsed.model_dump(mode="json")
    names = [*new, *(name for name in old if name not in new)]
    changes = {name: (old.get(name), new.get(name)) for name in names if old.get(name) != new.get(name)}
    if changes:
        row.attributes_json = parsed.model_dump_json()
        session.flush()
    return MemberUpdate(_record(row, pool.key), changes)
