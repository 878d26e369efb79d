"""Importing members from a CSV file, all or nothing (or the valid rows, with a rejects file).

Every row is checked as a single join is (:mod:`mutualaid.members.eligibility`, and the optional
contact columns ``email``, ``phone``, ``locale``, ``city`` by :mod:`mutualaid.contacts`) before
anything is written; the valid rows are then written in batches by
:func:`mutualaid.members.lifecycle.admit_many`.
Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..contacts import CONTACT_CHECKS, CONTACT_FIELDS
from ..csvfiles import open_csv
from ..db.models import Member, MemberStatusChange
from ..db.statistics import refresh_statistics
from ..errors import ImportRowsError, ValidationError
from ..fields import parse_date
from ..keys import IdentityKeys
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool, pool_today
from ..vocabulary import MemberStatus
from . import lifecycle
from .eligibility import (
    CORE,
    CORE_COLUMNS,
    JoinWindow,
    check_applicant,
    deceased_reason,
    join_window,
    live_members,
)
from .sealing import database_keys

__all__ = ["ImportProgress", "ImportResult", "import_members"]

#: How :func:`import_members` reports progress: ``progress(stage, done, total)``. First
#: ``("checking", line, None)`` while the rows are validated, where ``line`` is the physical line of
#: the file reached (the file is streamed, so its length is not known; the header is line 1), then
#: ``("writing", rows_written, rows_to_write)`` while the valid rows are written.
ImportProgress = Callable[[str, int, int | None], None]

_BATCH = 5000
#: Where a row of :func:`~mutualaid.members.lifecycle.new_member_row` holds the keyed hash of the ID number.
_HASH = lifecycle.INSERT_COLUMNS.index("id_hash")
_ANALYZE_AFTER = 10_000
#: At most this many bad rows are shown in an error's lines (the error holds them all).
SHOWN_PROBLEMS = 50


@dataclass(slots=True)
class ImportResult:
    """What a CSV import did."""

    imported: int = 0
    rejected: int = 0
    rejects_path: Path | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Checked:
    """The rows of a file once checked: ``good`` as (line, cells, applicant, row, ID number),
    ``bad`` as (line, cells, reason); ``seen`` maps each valid person's ID number to their line.
    Each row holds the cells of :data:`~mutualaid.members.lifecycle.INSERT_COLUMNS` (the ID number
    encrypted, hashed and masked), then those of ``contacts``: the contact columns the file has."""

    header: list[str]
    contacts: tuple[str, ...] = ()
    good: list[tuple[int, list[str], Any, tuple[Any, ...], str]] = field(default_factory=list)
    bad: list[tuple[int, list[str], str]] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)


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
    try:
        default_joined = parse_date(joined_on, "joined_on") if joined_on else pool_today(pool.definition)
    except ValueError as exc:
        raise ValidationError([str(exc)]) from None

    # The applicants are kept for the member_joined hook only when a plugin implements it: holding
    # 100,000 of them (with their pydantic attributes) costs memory and makes the garbage collector
    # slow the whole import down by a third.
    observed = lifecycle.has_observers(plugins, "member_joined")
    keys = database_keys(session, create=True, purpose="import members")
    with _no_cyclic_gc():
        checked = _check_rows(
            plugins,
            pool,
            path,
            default_joined,
            progress,
            keys,
            keep_applicants=observed,
            window=join_window(session, pool),
        )
    if not checked.good and not checked.bad:
        raise ValidationError([f"{path}: the file has a header but no rows; nothing was imported"])
    _refuse_known_people(session, pool, checked)
    result = ImportResult(problems=[f"{path}:{line}: {reason}" for line, _, reason in checked.bad])
    if checked.bad and not skip_invalid:
        raise ImportRowsError(
            result.problems,
            summary=f"{path}: {len(checked.bad)} of {len(checked.bad) + len(checked.good)} rows are invalid; nothing "
            "was imported (fix them, or use --skip-invalid to import the valid rows):",
            shown=SHOWN_PROBLEMS,
        )
    if checked.bad:
        _write_rejects(target, checked.header, checked.bad)
        result.rejects_path = target
    applicants = [applicant for _, _, applicant, _, _ in checked.good if applicant is not None]
    rows = [row for _, _, _, row, _ in checked.good]
    numbers = [number for _, _, _, _, number in checked.good]
    lines = {row[_HASH]: line for line, _, _, row, _ in checked.good}
    checked.good = []
    columns = (*lifecycle.INSERT_COLUMNS, *checked.contacts)
    _write(session, plugins, pool, path, applicants, rows, numbers, keys, lines, progress, columns)
    refresh_statistics(session, Member, MemberStatusChange)
    result.imported = len(rows)
    result.rejected = len(checked.bad)
    return result


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Keep the cyclic garbage collector off while the rows are checked: every row checked is kept
    until the rows are written, and the collector would walk all of them again and again (a
    quarter of the import's time at 100,000 rows). The rows hold no reference cycles; reference
    counting frees what they drop, and the collector is back on afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_rows(
    plugins: Plugins,
    pool: PoolRecord,
    path: Path,
    default_joined: date,
    progress: ImportProgress | None,
    keys: IdentityKeys,
    *,
    keep_applicants: bool,
    window: JoinWindow | None = None,
) -> _Checked:
    """Check every row of the file on its own and against the rows before it (one person once);
    the valid applicants are kept only with ``keep_applicants``. The contact columns (those of
    :data:`~mutualaid.contacts.CONTACT_FIELDS` the file has) are checked apart from the cohort's
    attributes, and their values added to the row only when the file has them. Each valid row's ID
    number is encrypted, hashed and masked with ``keys`` as it is checked."""
    own = set(pool.cohort.member_model.model_fields)
    columns = set(CORE) | own
    # A header with an unknown column is told every column it may have, the contact ones too.
    optional = (columns | set(CONTACT_FIELDS)) - set(CORE_COLUMNS)
    checks = plugins.collector("eligibility_problems")
    with open_csv(path, CORE_COLUMNS, optional, listing=", ".join(sorted(columns | set(CONTACT_FIELDS)))) as source:
        contacts = tuple(name for name in CONTACT_FIELDS if name in source.header and name not in own)
        checked = _Checked(source.header, contacts)
        contact_checks = [(name, CONTACT_CHECKS[name]) for name in contacts]
        contact_values: tuple[str | None, ...] = ()
        for line, cells in source.rows():
            too_many = source.too_many_cells(cells)
            if too_many:
                checked.bad.append((line, cells, too_many))
                continue
            raw = dict(zip(source.header, cells, strict=False))  # a short row: the missing cells are empty
            contact_problems: list[str] = []
            if contact_checks:
                found = []
                for name, check in contact_checks:
                    value, problem = check(raw.pop(name, ""))
                    found.append(value)
                    if problem is not None:
                        contact_problems.append(problem)
                contact_values = tuple(found)
            applicant, problems = check_applicant(
                plugins, pool, raw, default_joined_on=default_joined, checks=checks, window=window
            )
            if contact_problems:
                problems = [*problems, *contact_problems]
                applicant = None
            if applicant is not None:
                first = checked.seen.get(applicant.id_number)
                if first is not None:
                    problems = [f"id_number: the same person is already on line {first}"]
                    applicant = None
                else:
                    checked.seen[applicant.id_number] = line
            if applicant is None:
                checked.bad.append((line, cells, "; ".join(problems)))
            else:
                row = lifecycle.new_member_row(pool, applicant, keys)
                if contacts:
                    row = (*row, *contact_values)
                checked.good.append((line, cells, applicant if keep_applicants else None, row, applicant.id_number))
            if progress and (len(checked.good) + len(checked.bad)) % 1000 == 0:
                progress("checking", line, None)
        if progress:
            progress("checking", source.line, None)
    return checked


def _refuse_known_people(session: Session, pool: PoolRecord, checked: _Checked) -> None:
    """Move to ``bad`` the rows of people already members, or recorded as deceased, in the pool:
    one query per batch of keyed hashes of ID numbers, not one per row."""
    hashes = {item[3][_HASH] for item in checked.good}
    known: dict[str, str] = {}
    for id_hash, member_id, ended_on in session.execute(
        select(Member.id_hash, Member.id, Member.ended_on).where(
            Member.pool_id == pool.id, Member.status == MemberStatus.DECEASED
        )
    ):
        if id_hash in hashes:
            known[id_hash] = f"id_number: {deceased_reason(member_id, ended_on)}"
    for id_hash, member_id in live_members(session, pool, list(hashes)):
        known[id_hash] = f"id_number: this person already holds live membership #{member_id}"
    if known:
        still_good = []
        for item in checked.good:
            reason = known.get(item[3][_HASH])
            if reason is None:
                still_good.append(item)
            else:
                checked.bad.append((item[0], item[1], reason))
        checked.good = still_good
    checked.bad.sort(key=lambda item: item[0])


def _write(
    session: Session,
    plugins: Plugins,
    pool: PoolRecord,
    path: Path,
    applicants: list[Any],
    rows: list[tuple[Any, ...]],
    numbers: list[str],
    keys: IdentityKeys,
    lines: dict[str, int],
    progress: ImportProgress | None,
    columns: tuple[str, ...] = lifecycle.INSERT_COLUMNS,
) -> None:
    """Write the valid rows (cells of ``columns``, ID numbers ``numbers``) in a savepoint; a person
    who joined meanwhile is named by line (``lines``: keyed hash to line), as a check would."""
    if progress and rows:
        progress("writing", 0, len(rows))
    dbapi_integrity_error = session.connection().dialect.loaded_dbapi.IntegrityError  # raised by COPY
    try:
        with session.begin_nested(), _index_cache(session, len(rows)):
            lifecycle.admit_many(
                session,
                plugins,
                pool,
                applicants,
                rows,
                keys,
                numbers,
                batch=_BATCH,
                progress=(lambda done: progress("writing", done, len(rows))) if progress else None,
                columns=columns,
            )
    except (IntegrityError, dbapi_integrity_error):
        # Another join or import gave some of these people a live membership after they were
        # checked (uq_members_live_person refused them): name them, as a check would have.
        taken = sorted((lines[h], member_id) for h, member_id in live_members(session, pool, list(lines)))
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


@contextmanager
def _index_cache(session: Session, rows: int) -> Iterator[None]:
    """On SQLite, a page cache that holds the members' indexes of the keyed hashes while the rows are
    written: the hashes are random, so each row lands on any page of the two indexes, and with
    SQLite's default 2 MB cache a large import would read and write them back and forth (six times
    slower at 100,000 rows). About a quarter of a kilobyte per row, at most 256 MB; as it was after."""
    connection = session.connection()
    if connection.dialect.name != "sqlite" or rows < _BATCH:
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{min(2000 + rows // 4, 262_144)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


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
