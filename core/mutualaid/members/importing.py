"""Importing members from a CSV file, all or nothing (or the valid rows, with a rejects file).

The file is streamed a chunk of rows at a time, so an import of ten million rows holds one chunk,
not the file: each chunk's rows are checked as a single join is
(:mod:`mutualaid.members.import_checks`), the valid ones checked against the pool (a person who
already holds a live membership, is recorded as deceased, or was on an earlier line of the file)
and written (:func:`mutualaid.members.lifecycle.admit_many`), inside a savepoint of the caller's
transaction. A bad row refuses the whole import: the rest of the file is still checked, to report
every problem, then nothing written is kept -- nothing was visible before the commit anyway.
On a large file the rows are checked by worker processes while this one writes.
Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import bisect
import gc
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..contacts import CONTACT_FIELDS
from ..csvfiles import CsvFile, open_csv
from ..db.models import Member, MemberStatusChange
from ..db.statistics import refresh_statistics
from ..errors import ImportRowsError, ValidationError
from ..fields import parse_date
from ..keys import IdentityKeys
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool, pool_today
from ..vocabulary import MemberStatus
from . import lifecycle
from .eligibility import CORE, CORE_COLUMNS, deceased_reason, join_window, live_members
from .import_checks import CheckedChunk, RowChecker
from .import_chunks import WORKERS_ENV, checked_chunks, worker_count
from .rejects import RejectsFile
from .sealing import database_keys

__all__ = ["WORKERS_ENV", "ImportProgress", "ImportResult", "import_members"]

#: How :func:`import_members` reports progress: ``progress("importing", line, None)`` after each
#: chunk of rows is checked and written, where ``line`` is the physical line of the file reached
#: (the file is streamed, so its length is not known; the header is line 1).
ImportProgress = Callable[[str, int, int | None], None]

#: Rows checked, then written, at a time: what an import holds in memory whatever the file's size.
CHUNK_ROWS = 10_000
#: At most this many problems are kept (in the error, or :attr:`ImportResult.problems`); the error
#: counts every one, and the rejects file has every row.
KEPT_PROBLEMS = 10_000
#: At most this many bad rows are shown in an error's lines.
SHOWN_PROBLEMS = 50
#: Where a row of :class:`~mutualaid.members.import_checks.CheckedChunk` holds the keyed hash.
_HASH = lifecycle.INSERT_COLUMNS.index("id_hash")
#: On PostgreSQL the members table is analysed again, inside the import's transaction (which
#: counts its own rows), once this many rows are written, then each time their number doubles.
_ANALYZE_AFTER = 10_000
#: The most valid rows an import bound to fail remembers instead of writing (see ``_Import.take``).
_UNWRITTEN = 200_000
#: The most page cache (KiB) an import gives SQLite (see :func:`_index_cache`).
_CACHE_KIB = 65_536


@dataclass(slots=True)
class ImportResult:
    """What a CSV import did; ``problems`` holds at most :data:`KEPT_PROBLEMS` of the rejected
    rows' problems (the rejects file has them all)."""

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
    person, not recorded as deceased). With problems and ``skip_invalid`` false, an
    :class:`ImportRowsError` lists each bad row as ``FILE:LINE: reason`` (``LINE`` is the physical
    line the row starts on; the header is line 1) and nothing is written. With ``skip_invalid``,
    the bad rows go to ``rejects_path`` (default ``FILE.rejects.csv``) with a ``line`` and a
    ``reason`` column, and the good rows are written.

    A person already in the pool (or recorded as deceased) is refused as such on every line they
    are on; a person on an earlier line of the file, as being on that line. Rows are written a
    chunk of :data:`CHUNK_ROWS` at a time, with one ``executemany`` of tuples (``COPY`` on
    PostgreSQL); ``progress`` is called as described at :data:`ImportProgress`.
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

    # The applicants are kept for the member_joined hook only when a plugin implements it; then the
    # rows are checked here, as applicants (pydantic objects of the cohort's models) are not sent
    # between processes.
    observed = lifecycle.has_observers(plugins, "member_joined")
    keys = database_keys(session, create=True, purpose="import members")
    window = join_window(session, pool)
    own = set(pool.cohort.member_model.model_fields)
    columns = set(CORE) | own
    # A header with an unknown column is told every column it may have, the contact ones too.
    optional = (columns | set(CONTACT_FIELDS)) - set(CORE_COLUMNS)
    listing = ", ".join(sorted(columns | set(CONTACT_FIELDS)))
    with open_csv(path, CORE_COLUMNS, optional, listing=listing) as source, _no_cyclic_gc():
        checker = RowChecker(
            plugins,
            pool,
            path,
            source.header,
            keys,
            default_joined_on=default_joined,
            window=window,
            keep_applicants=observed,
        )
        rejects = RejectsFile(target, source.header) if skip_invalid else None
        run = _Import(session, plugins, pool, path, keys, checker, rejects, observed)
        run.deceased = _deceased(session, pool)
        workers = 0 if observed else worker_count(path)
        try:
            run.stream(source, workers, progress)
        finally:
            if rejects is not None and not run.done:
                rejects.discard()
    if rejects is not None and run.rejected:
        rejects.finish()
        result_rejects: Path | None = target
    else:
        result_rejects = None
        if rejects is not None:
            rejects.discard()
    return ImportResult(imported=run.written, rejected=run.rejected, rejects_path=result_rejects, problems=run.problems)


class WrittenLines:
    """The line of the file each member an import wrote came from, by member number, in memory that
    does not grow with a clean file: kept as runs of rows whose member numbers and lines both go up
    by one, (first number, first line, count) in three arrays. A file whose rows are all valid, on
    one line each, is one run per stretch of consecutive numbers; each refused or blank line, or row
    over several lines, starts another (24 bytes)."""

    def __init__(self) -> None:
        self.starts = array("q")
        self.first_lines = array("q")
        self.counts = array("q")

    def add(self, ids: Sequence[int], lines: Sequence[int]) -> None:
        """Record that members ``ids`` were written from ``lines`` (pairwise, numbers ascending)."""
        starts, first_lines, counts = self.starts, self.first_lines, self.counts
        for member_id, line in zip(ids, lines, strict=True):
            if starts:
                count = counts[-1]
                if member_id == starts[-1] + count and line == first_lines[-1] + count:
                    counts[-1] = count + 1
                    continue
                if member_id < starts[-1]:  # numbers handed out of order: keep the runs sorted
                    at = bisect.bisect(starts, member_id)
                    starts.insert(at, member_id)
                    first_lines.insert(at, line)
                    counts.insert(at, 1)
                    continue
            starts.append(member_id)
            first_lines.append(line)
            counts.append(1)

    def line_of(self, member_id: int) -> int | None:
        """The line member ``member_id`` was written from, if this import wrote it."""
        at = bisect.bisect(self.starts, member_id) - 1
        if at < 0 or member_id - self.starts[at] >= self.counts[at]:
            return None
        return self.first_lines[at] + member_id - self.starts[at]


class _Import:
    """One import under way: the chunks checked against the pool and written, the problems found,
    and the lines of the rows written (to name the line of a person met again further on)."""

    def __init__(
        self,
        session: Session,
        plugins: Plugins,
        pool: PoolRecord,
        path: Path,
        keys: IdentityKeys,
        checker: RowChecker,
        rejects: RejectsFile | None,
        observed: bool,
    ) -> None:
        self.session, self.plugins, self.pool, self.path, self.keys = session, plugins, pool, path, keys
        self.checker = checker
        self.rejects = rejects
        self.observed = observed
        self.columns = (*lifecycle.INSERT_COLUMNS, *checker.contacts)
        self.deceased: dict[str, str] = {}
        self.problems: list[str] = []
        self.rejected = 0
        self.written = 0
        #: Rows that passed every check (written, or remembered once the import is bound to fail).
        self.passed = 0
        self.done = False
        #: The rows written when the members table was last analysed (PostgreSQL), see :meth:`_analyze`.
        self.analyzed = 0
        #: The line of each row written, by member number.
        self.lines = WrittenLines()
        #: The keyed hashes of the chunk being written, by line (to name who joined meanwhile).
        self.writing: dict[str, int] = {}
        #: The keyed hashes of valid rows not written because the import is bound to fail, by line.
        self.unwritten: dict[str, int] = {}

    def stream(self, source: CsvFile, workers: int, progress: ImportProgress | None) -> None:
        """Check and write every chunk of the file in a savepoint; raise if anything is refused."""
        session, path = self.session, self.path
        connection = session.connection()
        dbapi_integrity_error = connection.dialect.loaded_dbapi.IntegrityError  # raised by COPY
        try:
            with (
                checked_chunks(source, self.checker, workers, CHUNK_ROWS) as chunks,
                session.begin_nested(),
                _index_cache(session, path.stat().st_size // 64),
            ):
                for chunk, records in chunks:
                    self.take(chunk, records)
                    gc.collect(0)  # the reference cycles a chunk's statements leave (see _no_cyclic_gc)
                    if progress:
                        progress("importing", chunk.lines, None)
                if not self.passed and not self.rejected:
                    raise ValidationError([f"{path}: the file has a header but no rows; nothing was imported"])
                if self.rejected and self.rejects is None:
                    raise ImportRowsError(
                        self.problems,
                        summary=f"{path}: {self.rejected} of {self.rejected + self.passed} rows are invalid; "
                        "nothing was imported (fix them, or use --skip-invalid to import the valid rows):",
                        shown=SHOWN_PROBLEMS,
                        total=self.rejected,
                    )
        except (IntegrityError, dbapi_integrity_error):
            # Another join or import gave some of these people a live membership after they were
            # checked (uq_members_live_person refused them): name them, as a check would have.
            lines = self.writing
            taken = sorted((lines[h], member_id) for h, member_id in live_members(session, self.pool, list(lines)))
            if not taken:
                raise
            raise ImportRowsError(
                [
                    f"{path}:{line}: id_number: this person already holds live membership #{member_id}"
                    for line, member_id in taken
                ],
                summary=f"{path}: {len(taken)} of these people joined pool {self.pool.key!r} while the file was "
                "being checked; nothing was imported:",
            ) from None
        if self.written > self.analyzed and self.written >= _ANALYZE_AFTER and connection.dialect.name == "postgresql":
            # Fresh statistics for the next lookups: without them PostgreSQL estimates an IN list of
            # 500 ID numbers to match every member and filters the whole pool for each batch (a
            # second import of 100,000 rows right after the first took minutes instead of seconds).
            connection.exec_driver_sql("ANALYZE members")
        refresh_statistics(session, Member, MemberStatusChange)
        self.done = True

    def take(self, chunk: CheckedChunk, records: Callable[[], Iterable[tuple[int, list[str]]]]) -> None:
        """Refuse the chunk's people already in the pool or earlier in the file, write the others,
        and record the chunk's bad rows. ``records`` reads the chunk's rows again (the cells of a
        row refused here go to the rejects file)."""
        if chunk.unreadable is not None:
            problems, summary = chunk.unreadable
            raise ImportRowsError(problems, summary=summary)
        refused = self._refuse_known(chunk)
        bad = chunk.bad
        if refused:
            cells = {line: row for line, row in records() if line in refused} if self.rejects is not None else {}
            bad = sorted(
                [*bad, *((line, cells.get(line, []), why) for line, why in refused.items())], key=itemgetter(0)
            )
        failing = bool(self.rejected or bad) and self.rejects is None
        self._note_bad(bad)
        if not chunk.good:
            return
        rows, tails, lines, applicants = [], [], [], []
        for index, (line, row, tail) in enumerate(chunk.good):
            if line in refused:
                continue
            rows.append(row)
            tails.append(tail)
            lines.append(line)
            if chunk.applicants is not None:
                applicants.append(chunk.applicants[index])
        if not rows:
            return
        self.passed += len(rows)
        if failing and len(self.unwritten) + len(rows) <= _UNWRITTEN:
            # Bound to fail: the rows are only remembered, so that a person met again further on is
            # named by line (and PostgreSQL's sequence gives no numbers to members never kept).
            self.unwritten.update((row[_HASH], line) for row, line in zip(rows, lines, strict=True))
            return
        # Past that, they are written even so: one is found among them, and named by line, whatever
        # the file's size. The observers are told only of members kept.
        self.writing = {row[_HASH]: line for row, line in zip(rows, lines, strict=True)}
        ids = lifecycle.admit_many(
            self.session,
            self.plugins,
            self.pool,
            rows,
            self.keys,
            tails,
            applicants=applicants if self.observed and not failing else None,
            columns=self.columns,
        )
        self.writing = {}
        self.lines.add(ids, lines)
        self.written += len(ids)
        self._analyze()

    def _analyze(self) -> None:
        """On PostgreSQL, the members table's statistics again once the rows written have doubled
        since they were last gathered: planned with the statistics of a smaller pool (of an empty
        one, for a new pool), each chunk's look-up of 500 people at a time searched the pool's index
        by the pool alone and filtered every member of it, so that the import's time grew with the
        square of its rows. ``ANALYZE`` inside the transaction counts its own rows, and about
        ``log2(rows / 10,000)`` of them cost little."""
        if self.written < max(_ANALYZE_AFTER, 2 * self.analyzed):
            return
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE members")
            self.analyzed = self.written

    def _refuse_known(self, chunk: CheckedChunk) -> dict[int, str]:
        """The chunk's valid rows refused, by line: people who hold a live membership in the pool
        or are recorded as deceased there (on every line they are on), then people on an earlier
        line of the file (found among the rows written, or earlier in the chunk)."""
        known: dict[str, str] = {}
        hashes = [row[_HASH] for _, row, _ in chunk.good]
        deceased = self.deceased
        if deceased:
            for id_hash in hashes:
                reason = deceased.get(id_hash)
                if reason is not None:
                    known[id_hash] = reason
        for id_hash, member_id in live_members(self.session, self.pool, hashes):
            line = self.lines.line_of(member_id)
            if line is None:
                known[id_hash] = f"id_number: this person already holds live membership #{member_id}"
            else:
                known[id_hash] = f"id_number: the same person is already on line {line}"
        unwritten = self.unwritten
        if unwritten:
            for id_hash in hashes:
                earlier = unwritten.get(id_hash)
                if earlier is not None:
                    known[id_hash] = f"id_number: the same person is already on line {earlier}"
        refused: dict[int, str] = {}
        first: dict[str, int] = {}
        for line, row, _ in chunk.good:
            id_hash = row[_HASH]
            reason = known.get(id_hash)
            if reason is None:
                earlier = first.get(id_hash)
                if earlier is None:
                    first[id_hash] = line
                    continue
                reason = f"id_number: the same person is already on line {earlier}"
            refused[line] = reason
        return refused

    def _note_bad(self, bad: list[tuple[int, list[str], str]]) -> None:
        path, kept = self.path, self.problems
        for line, cells, reason in bad:
            if len(kept) < KEPT_PROBLEMS:
                kept.append(f"{path}:{line}: {reason}")
            if self.rejects is not None:
                self.rejects.write(line, cells, reason)
        self.rejected += len(bad)


def _deceased(session: Session, pool: PoolRecord) -> dict[str, str]:
    """Why each person recorded as deceased in the pool may not join again, by keyed hash."""
    return {
        id_hash: f"id_number: {deceased_reason(member_id, ended_on)}"
        for id_hash, member_id, ended_on in session.execute(
            select(Member.id_hash, Member.id, Member.ended_on)
            .where(Member.pool_id == pool.id, Member.status == MemberStatus.DECEASED)
            .order_by(Member.id)
        )
    }


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Keep the cyclic garbage collector off while the rows are imported: a chunk's rows hold no
    reference cycles, reference counting frees them, and the collector walking the objects of
    every chunk slows the import down by a quarter; it is back on afterwards. What the database's
    statements leave in cycles is collected after each chunk, among the youngest objects only."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _index_cache(session: Session, rows: int) -> Iterator[None]:
    """On SQLite, a page cache that holds the members' indexes of the keyed hashes while the rows are
    written: the hashes are random, so each row lands on any page of the two indexes, and with
    SQLite's default 2 MB cache a large import would read and write them back and forth (six times
    slower at 100,000 rows). About a quarter of a kilobyte per row (``rows``: the file's size over
    64 bytes, more rows than it has), at most :data:`_CACHE_KIB`; as it was after."""
    connection = session.connection()
    if connection.dialect.name != "sqlite" or rows < CHUNK_ROWS:
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{min(2000 + rows // 4, _CACHE_KIB)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")
