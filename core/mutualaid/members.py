"""Members: joining (eligibility checked by the cohort), bulk import from CSV, listing.

Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
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
]

#: Columns every member CSV has; other columns are the cohort's member attributes.
CORE_COLUMNS = ("id_number", "name", "birth_date")
OPTIONAL_CORE_COLUMNS = ("joined_on",)
_BATCH = 5000


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
    id_number = str(raw.get("id_number") or "").strip()
    name = str(raw.get("name") or "").strip()
    if not id_number:
        problems.append("id_number: is required")
    elif len(id_number) > 64:
        problems.append("id_number: is longer than 64 characters")
    if not name:
        problems.append("name: is required")
    elif len(name) > 200:
        problems.append("name: is longer than 200 characters")
    birth: date | None = None
    joined: date | None = default_joined_on
    try:
        birth = parse_date(raw.get("birth_date") or "", "birth_date")
    except ValueError as exc:
        problems.append(f"birth_date: {exc}" if raw.get("birth_date") else "birth_date: is required")
    if raw.get("joined_on"):
        try:
            joined = parse_date(raw["joined_on"], "joined_on")
        except ValueError as exc:
            problems.append(f"joined_on: {exc}")
            joined = None
    if birth is not None and joined is not None and birth > joined:
        problems.append(f"birth_date: {birth.isoformat()} is after the joining day {joined.isoformat()}")
    attrs_raw = {k: v for k, v in raw.items() if k not in CORE_COLUMNS + OPTIONAL_CORE_COLUMNS}
    attributes, attr_problems = validate_fields(cohort.member_model, attrs_raw)
    problems.extend(attr_problems)
    if problems or birth is None or joined is None or attributes is None:
        return None, problems
    applicant = Applicant(id_number=id_number, name=name, birth_date=birth, joined_on=joined, attributes=attributes)
    problems.extend(cohort.rules.eligibility_problems(applicant, pool.definition.settings))
    for extra in plugins.hook.eligibility_problems(pool=pool.definition.config, applicant=applicant):
        problems.extend(extra or [])
    return (None, problems) if problems else (applicant, [])


def _live_member_id(session: Session, pool_id: int, id_number: str) -> int | None:
    return session.scalar(
        select(Member.id).where(
            Member.pool_id == pool_id, Member.id_number == id_number, Member.status.in_(LIVE_STATUSES)
        )
    )


def _row_values(pool: PoolRecord, applicant: Applicant) -> dict[str, Any]:
    days = pool.definition.cohort.rules.waiting_period_days(applicant, pool.definition.settings)
    return {
        "pool_id": pool.id,
        "id_number": applicant.id_number,
        "name": applicant.name,
        "birth_date": applicant.birth_date,
        "joined_on": applicant.joined_on,
        "waiting_until": waiting_until(applicant.joined_on, int(days)),
        "status": "active",
        "ended_on": None,
        "attributes_json": applicant.attributes.model_dump_json(),
    }


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
        if existing is not None:
            problems = [f"this person already holds live membership #{existing} in pool {pool.key!r}"]
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


def _read_rows(path: Path, columns: set[str]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames
        if not header:
            raise ValidationError([f"{path}: the file is empty; it needs a header row with {', '.join(CORE_COLUMNS)}"])
        header = [h.strip() for h in header]
        reader.fieldnames = header
        missing = [c for c in CORE_COLUMNS if c not in header]
        unknown = [c for c in header if c not in columns]
        dupes = sorted({c for c in header if header.count(c) > 1})
        problems = []
        if missing:
            problems.append(f"{path}:1: missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(
                f"{path}:1: unknown column(s) {', '.join(unknown)}; the columns are "
                f"{', '.join(sorted(columns))}"
            )
        if dupes:
            problems.append(f"{path}:1: repeated column(s) {', '.join(dupes)}")
        if problems:
            raise ImportRowsError(problems, summary=f"{path}: the header row is wrong; nothing was imported:")
        for row in reader:
            line = reader.line_num
            if None in row:
                yield line, {"__extra__": "the row has more cells than the header"}
                continue
            yield line, {k: (v or "") for k, v in row.items()}


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
    person) before anything is written. With problems and ``skip_invalid`` false, an
    :class:`ImportRowsError` lists each bad row as ``FILE:LINE: reason`` and nothing is written.
    With ``skip_invalid``, the good rows are written and the bad ones go to ``rejects_path``
    (default ``FILE.rejects.csv``) with a ``reason`` column.

    Rows are written with one bulk statement per batch of 5,000.
    """
    pool = get_pool(session, plugins, pool_key)
    path = Path(path)
    if not path.is_file():
        raise ValidationError([f"{path}: no such file; give the path of a CSV file of members"])
    model = pool.definition.cohort.member_model
    columns = set(CORE_COLUMNS) | set(OPTIONAL_CORE_COLUMNS) | set(model.model_fields)
    default_joined = parse_date(joined_on, "joined_on") if joined_on else pool_today(pool.definition)

    good: list[tuple[int, dict[str, Any]]] = []
    bad: list[tuple[int, dict[str, str], str]] = []
    seen: dict[str, int] = {}
    try:
        for line, raw in _read_rows(path, columns):
            if "__extra__" in raw:
                bad.append((line, raw, raw["__extra__"]))
                continue
            applicant, problems = check_applicant(plugins, pool, raw, default_joined_on=default_joined)
            if applicant is not None:
                first = seen.get(applicant.id_number)
                if first is not None:
                    problems = [f"id_number: the same person is already on line {first}"]
                    applicant = None
                else:
                    seen[applicant.id_number] = line
            if applicant is None:
                bad.append((line, raw, "; ".join(problems)))
            else:
                good.append((line, _row_values(pool, applicant)))
            if progress and line % 1000 == 0:
                progress(line)
    except UnicodeDecodeError:
        raise ValidationError([f"{path}: the file is not UTF-8 text; save it as UTF-8 CSV"]) from None
    except csv.Error as exc:
        raise ValidationError([f"{path}: not a readable CSV file: {exc}"]) from None

    # Already members? One query per batch of ID numbers, not one per row.
    live: dict[str, int] = {}
    numbers = [values["id_number"] for _, values in good]
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        for number, member_id in session.execute(
            select(Member.id_number, Member.id).where(
                Member.pool_id == pool.id, Member.id_number.in_(chunk), Member.status.in_(LIVE_STATUSES)
            )
        ):
            live[number] = member_id
    if live:
        still_good = []
        for line, values in good:
            if values["id_number"] in live:
                bad.append((line, {}, f"id_number: this person already holds live membership #{live[values['id_number']]}"))
            else:
                still_good.append((line, values))
        good = still_good
    bad.sort(key=lambda item: item[0])

    result = ImportResult(problems=[f"{path}:{line}: {reason}" for line, _, reason in bad])
    if bad and not skip_invalid:
        raise ImportRowsError(
            result.problems,
            summary=f"{path}: {len(bad)} of {len(bad) + len(good)} rows are invalid; nothing was imported "
            "(fix them, or use --skip-invalid to import the valid rows):",
        )
    table = Member.__table__
    rows = [values for _, values in good]
    connection = session.connection()
    for start in range(0, len(rows), _BATCH):
        connection.execute(insert(table), rows[start:start + _BATCH])
        if progress:
            progress(min(start + _BATCH, len(rows)))
    result.imported = len(rows)
    result.rejected = len(bad)
    if bad:
        target = Path(rejects_path) if rejects_path else path.with_suffix(".rejects.csv")
        _write_rejects(path, target, bad)
        result.rejects_path = target
    return result


def _write_rejects(source: Path, target: Path, bad: list[tuple[int, dict[str, str], str]]) -> None:
    with source.open(newline="", encoding="utf-8-sig") as handle:
        header = [h.strip() for h in (next(csv.reader(handle), None) or [])]
    with target.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["line", *header, "reason"])
        lines = {line: reason for line, _, reason in bad}
        with source.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for row in reader:
                if reader.line_num in lines:
                    writer.writerow([reader.line_num, *row, lines[reader.line_num]])


def get_member(session: Session, pool: PoolRecord, member: int | str) -> MemberRecord:
    """A member of ``pool`` by member number (``12`` or ``#12``) or by ID number (live membership first)."""
    text = str(member).strip().lstrip("#")
    row: Member | None = None
    if text.isdigit() and len(text) < 12:
        row = session.scalar(select(Member).where(Member.pool_id == pool.id, Member.id == int(text)))
    if row is None:
        row = session.scalar(
            select(Member)
            .where(Member.pool_id == pool.id, Member.id_number == text)
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
