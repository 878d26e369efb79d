"""Reading a member import's file in chunks of rows, checked here or by worker processes.

A large file's rows are checked by worker processes (forked, with the import's
:class:`~mutualaid.members.import_checks.RowChecker` as it is; they touch no database) while the
importing process writes: it reads the file's records only to find where each chunk ends (a
quoted cell may hold line breaks), sends the chunk's text, and takes the chunks back checked, in
the file's order, a few ahead of the one it writes -- memory bounded by the chunks, not the file.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

from ..csvfiles import CsvFile
from ..errors import ValidationError
from . import import_checks
from .import_checks import CheckedChunk, RowChecker

__all__ = ["WORKERS_ENV", "Chunks", "checked_chunks", "worker_count"]

#: Worker processes that check the rows while the importing one writes: ``0`` checks them there.
#: By default, for a file of :data:`_WORKERS_FROM` bytes or more on a machine of two cores or more,
#: one per core up to :data:`_MOST_WORKERS`. Checking a row costs about twice what writing it does
#: into a pool of a million, so two checkers keep pace with the one writer and a third would wait
#: for it: measured on two cores, 1,000,000 rows took 48.5-49.0 s with two workers and 57.6 s with
#: one (the proportional memory of the importing process and both workers peaked at 266 MB).
WORKERS_ENV = "MUTUALAID_IMPORT_WORKERS"
_WORKERS_FROM = 4_000_000
_MOST_WORKERS = 2
#: Chunks sent to be checked beyond one per worker, ahead of the one being written: what the
#: importing process holds grows by a chunk a worker, not more.
_AHEAD = 1


def worker_count(path: Path) -> int:
    """How many worker processes check the rows (see :data:`WORKERS_ENV`); none where processes
    cannot be forked."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    given = os.environ.get(WORKERS_ENV, "").strip()
    if given:
        if not given.isdecimal() or int(given) > 64:
            raise ValidationError(
                [
                    f"{WORKERS_ENV}={given!r} is not a number of worker processes; give 0 (check the rows in the "
                    "importing process), 1 or 2"
                ]
            )
        return int(given)
    cores = os.cpu_count() or 1
    return min(cores, _MOST_WORKERS) if cores >= 2 and path.stat().st_size >= _WORKERS_FROM else 0


Chunks = Iterator[tuple[CheckedChunk, Callable[[], Iterable[tuple[int, list[str]]]]]]


@contextmanager
def checked_chunks(source: CsvFile, checker: RowChecker, workers: int, rows: int) -> Iterator[Chunks]:
    """The file's chunks of ``rows`` records, checked, each with a function reading its rows
    again: here, or by ``workers`` processes forked before the first chunk is read (they touch no
    database)."""
    if workers <= 0:
        yield _checked_here(source, checker, rows)
        return
    import_checks.WORKER_CHECKER = checker  # the workers have it as forked
    try:
        with multiprocessing.get_context("fork").Pool(workers) as processes:
            import_checks.WORKER_CHECKER = None
            yield _checked_by(processes, workers, source, checker, rows)
    finally:
        import_checks.WORKER_CHECKER = None


def _checked_here(source: CsvFile, checker: RowChecker, size: int) -> Chunks:
    rows = source.rows()
    while True:
        records = list(islice(rows, size))
        if not records:
            return
        chunk = checker.check(records)
        chunk.lines = source.line
        yield chunk, lambda records=records: records  # type: ignore[misc]


def _checked_by(processes: Any, workers: int, source: CsvFile, checker: RowChecker, size: int) -> Chunks:
    pending: deque[tuple[Any, str, int]] = deque()
    for text, before in _record_texts(source, size):
        pending.append((processes.apply_async(import_checks.check_in_worker, (text, before)), text, before))
        if len(pending) > workers + _AHEAD:
            yield _received(pending.popleft(), checker)
    while pending:
        yield _received(pending.popleft(), checker)


def _received(
    sent: tuple[Any, str, int], checker: RowChecker
) -> tuple[CheckedChunk, Callable[[], Iterable[tuple[int, list[str]]]]]:
    result, text, before = sent
    return result.get(), lambda: checker.read_text(text, before)


def _record_texts(source: CsvFile, size: int) -> Iterator[tuple[str, int]]:
    """The text of the file's records after the header, ``size`` records at a time, each
    with the number of lines before it: the file is read again, split where the CSV reader ends a
    record (a quoted cell may hold line breaks). A record that is not valid CSV ends the last
    text, whose reader reports it as the file's reader would."""
    with source.path.open(newline="", encoding="utf-8-sig") as handle:
        captured: list[str] = []

        def lines() -> Iterator[str]:
            for line in handle:
                captured.append(line)
                yield line

        reader = csv.reader(lines(), strict=True)
        next(reader, None)  # the header, checked already
        del captured[:]
        before = reader.line_num
        while True:
            try:
                count = sum(1 for _ in islice(reader, size))
            except csv.Error:
                yield "".join(captured), before
                return
            if not count:
                return
            yield "".join(captured), before
            del captured[:]
            before = reader.line_num
