"""Members: joining (eligibility checked by the cohort), bulk import from CSV, listing.

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
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Table, bindparam, insert, select
from sqlalchemy.orm import Session

from .cohort import Applicant, age_on, waiting_until
from .errors import ImportRowsError, IneligibleError, NotFoundError, ValidationError
from .fields import parse_date, validate_fields
from .models import LIVE_STATUSES, Member
from .plugins import Plugins
from .pools import PoolRecord, get_pool, pool_today

__all__ = [
    "CORE_COLUMNS",
    "ImportResult",
    "MemberRecord",
    "check_applicant",
    "get_member",
    "import_members",
    "join_member",
    "list_members",
    "member_state",
    "normalize_id_number",
]

#: Columns every member CSV has; other columns are the cohort's member attributes.
CORE_COLUMNS = ("id_number", "name", "birth_date")
OPTIONAL_CORE_COLUMNS = ("joined_on",)
_CORE = frozenset(CORE_COLUMNS + OPTIONAL_CORE_COLUMNS)
_BATCH = 5000
_ANALYZE_AFTER = 10_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: The columns a new member's row fills, in the order of :func:`_row_tuple`.
_INSERT_COLUMNS = (
    "pool_id", "id_number", "name", "birth_date", "joined_on", "waiting_until", "status", "ended_on", "attributes_json",
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
    return session.scalar(
        select(Member.id).where(Member.pool_id == pool_id, Member.id_number == id_number, _is_live())
    )


def _deceased_member(session: Session, pool_id: int, id_number: str) -> tuple[int, date | None] | None:
    row = session.execute(
        select(Member.id, Member.ended_on)
        .where(Member.pool_id == pool_id, Member.id_number == id_number, Member.status == "deceased")
        .limit(1)
    ).first()
    return (row.id, row.ended_on) if row is not None else None


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
    if applicant is not None:
        existing = _live_member_id(session, pool.id, applicant.id_number)
        deceased = _deceased_member(session, pool.id, applicant.id_number) if existing is None else None
        if existing is not None:
            problems = [f"this person already holds live membership #{existing} in pool {pool.key!r}"]
            applicant = None
        elif deceased is not None:
            problems = [f"{_deceased_reason(*deceased)} in pool {pool.key!r}"]
            applicant = None
    if applicant is None:
        who = name.strip() or id_number
        raise IneligibleError(problems, summary=f"{who} cannot join pool {pool.key!r}:")
    row = Member(**_row_values(pool, applicant))
    session.add(row)
    session.flush()
    plugins.hook.member_joined(pool=pool.definition.config, member_id=row.id, applicant=applicant)
    return _record(row, pool.key)


@dataclass(slots=True)
class ImportResult:
    """What a CSV import did."""

    imported: int = 0
    rejected: int = 0
    rejects_path: Path | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Csv:
    """A member CSV being read: its header, then ``(line, cells)`` per record.

    ``line`` is the physical line on which the record starts (the header is line 1), also when
    a quoted cell holds line breaks. Blank lines are skipped.
    """

    path: Path
    header: list[str]
    reader: Any

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        reader = self.reader
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportRowsError(
                    [f"{self.path}:{start}: the row is not valid CSV ({exc}); a cell holding a comma, quote or "
                     "line break must be in double quotes, with its own quotes doubled"],
                    summary=f"{self.path}: cannot read the file; nothing was imported:",
                ) from None
            if cells:
                yield start, cells


def _open_csv(path: Path, handle: Any, columns: set[str]) -> _Csv:
    reader = csv.reader(handle, strict=True)
    try:
        first = next(reader, None)
    except csv.Error as exc:
        raise ImportRowsError(
            [f"{path}:1: the header row is not valid CSV ({exc})"],
            summary=f"{path}: the header row is wrong; nothing was imported:",
        ) from None
    if not first or not any(cell.strip() for cell in first):
        raise ValidationError([f"{path}: the file is empty; it needs a header row with {', '.join(CORE_COLUMNS)}"])
    header = [h.strip() for h in first]
    missing = [c for c in CORE_COLUMNS if c not in header]
    unknown = list(dict.fromkeys(c for c in header if c not in columns))
    dupes = sorted({c for c in header if header.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"{path}:1: missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(
            f"{path}:1: unknown column(s) {', '.join(repr(c) for c in unknown)}; the columns are "
            f"{', '.join(sorted(columns))}"
        )
    if dupes:
        problems.append(f"{path}:1: repeated column(s) {', '.join(dupes)}")
    if problems:
        raise ImportRowsError(problems, summary=f"{path}: the header row is wrong; nothing was imported:")
    return _Csv(path, header, reader)


def _first_undecodable_line(path: Path) -> int | None:
    # UTF-8 never uses the byte of "\n" inside a character, so the file can be split at it.
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def import_members(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    path: str | Path,
    *,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    joined_on: str | date | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import members from a CSV file, all or nothing.

    Every row is validated (core fields, cohort attributes, eligibility, one live membership per
    person, not recorded as deceased) before anything is written. With problems and
    ``skip_invalid`` false, an :class:`ImportRowsError` lists each bad row as ``FILE:LINE: reason``
    (``LINE`` is the physical line the row starts on; the header is line 1) and nothing is written.
    With ``skip_invalid``, the bad rows go to ``rejects_path`` (default ``FILE.rejects.csv``) with
    a ``line`` and a ``reason`` column, then the good rows are written.

    Rows are written with one ``executemany`` of tuples per batch of 5,000.
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
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            source = _open_csv(path, handle, columns)
            header = source.header
            width = len(header)
            for line, cells in source.rows():
                if len(cells) > width:
                    extra = ", ".join(repr(c) for c in cells[width:])
                    bad.append((line, cells, f"the row has {len(cells)} cells but the header has {width} "
                                             f"(extra: {extra}); quote a cell that holds a comma"))
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
                if progress and line % 1000 == 0:
                    progress(line)
    except UnicodeDecodeError:
        where = _first_undecodable_line(path)
        at = f"{path}:{where}" if where else str(path)
        raise ValidationError(
            [f"{at}: the file is not UTF-8 text; save it as UTF-8 CSV (in Excel: \"CSV UTF-8\")"]
        ) from None

    # Already members, or recorded as deceased? One query per batch of ID numbers, not one per row.
    known: dict[str, str] = {}
    for number, member_id, ended_on in session.execute(
        select(Member.id_number, Member.id, Member.ended_on).where(
            Member.pool_id == pool.id, Member.status == "deceased"
        )
    ):
        if number in seen:
            known[number] = f"id_number: {_deceased_reason(member_id, ended_on)}"
    numbers = list(seen)
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        for number, member_id in session.execute(
            select(Member.id_number, Member.id).where(
                Member.pool_id == pool.id, Member.id_number.in_(chunk), _is_live()
            )
        ):
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
    connection = session.connection()
    for start in range(0, len(rows), _BATCH):
        _insert_members(connection, rows[start:start + _BATCH])
        if progress:
            progress(min(start + _BATCH, len(rows)))
    if len(rows) >= _ANALYZE_AFTER and connection.dialect.name == "postgresql":
        # Fresh statistics for the next lookups: without them PostgreSQL estimates an IN list of
        # 500 ID numbers to match every member and filters the whole pool for each batch (a
        # second import of 100,000 rows right after the first took minutes instead of seconds).
        connection.exec_driver_sql("ANALYZE members")
    result.imported = len(rows)
    result.rejected = len(bad)
    return result


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


def _insert_members(connection: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert new members' rows (tuples in the order of ``_INSERT_COLUMNS``): with ``COPY`` on
    PostgreSQL (psycopg), else one ``executemany`` of tuples -- about 10x and 3x faster than a
    Core insert of dicts (see PERFORMANCE.md). Same connection, same transaction."""
    if not rows:
        return
    dialect = connection.dialect
    table = cast(Table, Member.__table__)
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in _INSERT_COLUMNS)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        driver_connection = connection.connection.driver_connection
        with driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
    if marker is None:  # pragma: no cover - neither SQLite nor psycopg
        connection.execute(insert(table), [dict(zip(_INSERT_COLUMNS, row, strict=True)) for row in rows])
        return
    # Apply the columns' own conversions (SQLite stores dates as ISO text), as SQLAlchemy would.
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in _INSERT_COLUMNS]
    converting = [(i, proc) for i, proc in enumerate(processors) if proc is not None]
    if converting:
        converted = []
        for row in rows:
            values = list(row)
            for i, proc in converting:
                if values[i] is not None:
                    values[i] = proc(values[i])
            converted.append(tuple(values))
        rows = converted
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join([marker] * len(_INSERT_COLUMNS))})"
    connection.exec_driver_sql(sql, rows)


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


def age_at(member: MemberRecord, on: date) -> int:
    return age_on(member.birth_date, on)
