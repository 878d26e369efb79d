"""What the file imports of payments share to stay flat in memory whatever the file's size: the
rows of a file staged in a temporary table of the transaction, read back in chunks, the problems
kept bounded, and which member numbers a file names more than once.

An import reads its file once, checks each row on its own and stages the rows that pass
(:func:`staged`), in chunks of :data:`CHUNK_ROWS`. It then checks the staged rows against the
database and against each other, again a chunk at a time (:func:`staged_chunks`), and writes them
only when no row anywhere had a problem. The table is temporary (``CREATE TEMPORARY TABLE``, seen
by this connection only) and dropped when the import is done, also when it fails; it lives inside
the caller's transaction, so nothing of the import is visible to anyone before it commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, Select, Table, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..csvfiles import SHOWN_PROBLEMS, RowProblems
from ..db.bulk import bulk_insert
from ..errors import ImportRowsError

__all__ = [
    "CHUNK_ROWS",
    "KEPT_PROBLEMS",
    "RepeatedNumbers",
    "StreamedProblems",
    "analyse",
    "stage",
    "staged",
    "staged_chunks",
]

#: Rows read, checked and written at a time: what an import holds in memory, whatever the file.
CHUNK_ROWS = 10_000

#: Problems an import keeps (those of the lowest lines); the rest are only counted.
KEPT_PROBLEMS = 10_000


class StreamedProblems(RowProblems):
    """:class:`~mutualaid.csvfiles.RowProblems` for a file checked a chunk at a time: the problems
    of the lowest :data:`KEPT_PROBLEMS` lines are kept, the others counted, so that a file of
    millions of bad rows is reported with the same lines and figures in bounded memory.

    Every problem of a row must be added together (no other row's in between), as the imports do:
    the bad rows are then counted by the changes of line.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.total = 0
        self.bad_rows = 0
        self._last_line: int | None = None

    def add(self, line: int, message: str) -> None:
        self.total += 1
        if line != self._last_line:
            self.bad_rows += 1
            self._last_line = line
        self.items.append((line, message))
        kept = max(KEPT_PROBLEMS, SHOWN_PROBLEMS)
        if len(self.items) >= 2 * kept:
            self.items.sort(key=lambda item: item[0])
            del self.items[kept:]

    def raise_for(self, rows: int, what: str) -> None:
        """As :meth:`RowProblems.raise_for`, counting every problem and bad row, kept or not."""
        if not self.total:
            return
        self.items.sort(key=lambda item: item[0])
        shown = [f"{self.path}:{line}: {message}" for line, message in self.items[:SHOWN_PROBLEMS]]
        if self.total > SHOWN_PROBLEMS:
            shown.append(f"... and {self.total - SHOWN_PROBLEMS:,} more problems")
        raise ImportRowsError(
            shown,
            summary=(
                f"{self.path}: {self.bad_rows:,} of {rows + self.unread:,} rows are invalid; no {what} were imported:"
            ),
        )


class RepeatedNumbers:
    """Which member numbers up to ``bound`` were named more than once, two bits a number (a pool of
    ten million members takes 2.5 MB, whatever the file). A number above ``bound`` is no member of
    the pool: its rows are refused whatever else the file holds, so it is not tracked."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self._once = bytearray(bound // 8 + 1)
        self._again = bytearray(bound // 8 + 1)
        self.any = False

    def add(self, number: int) -> None:
        if number > self.bound:
            return
        byte, bit = number >> 3, 1 << (number & 7)
        if self._once[byte] & bit:
            self._again[byte] |= bit
            self.any = True
        else:
            self._once[byte] |= bit

    def __contains__(self, number: int) -> bool:
        return number <= self.bound and bool(self._again[number >> 3] & (1 << (number & 7)))


@contextmanager
def staged(session: Session, name: str, *columns: Column[Any]) -> Iterator[Table]:
    """A temporary table ``name`` of ``columns`` for the ``with`` block, in the session's
    transaction and connection, dropped at its end (rolled back with the transaction as well)."""
    table = Table(name, MetaData(), *columns, prefixes=["TEMPORARY"])
    connection = session.connection()
    drop = f"DROP TABLE IF EXISTS {connection.dialect.identifier_preparer.quote(name)}"
    connection.exec_driver_sql(drop)
    table.create(connection)
    broken = False
    try:
        yield table
    except DBAPIError:
        broken = True  # the transaction cannot go on; its rollback takes the table with it
        raise
    finally:
        if not broken:
            connection.exec_driver_sql(drop)


def analyse(session: Session, table: Table) -> None:
    """Gather the staging table's statistics on PostgreSQL, once its rows and indexes are in:
    autovacuum never sees a temporary table, and without statistics the look-ups of each chunk
    were planned as scans of every staged row. (SQLite plans them by the indexes as they are.)"""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"ANALYZE {connection.dialect.identifier_preparer.quote(table.name)}")


def stage(session: Session, table: Table, rows: Sequence[tuple[Any, ...]], *, days_as_text: bool = False) -> None:
    """Write ``rows`` (tuples in the order of the table's columns) into the staging table; see
    :func:`~mutualaid.db.bulk.bulk_insert` for ``days_as_text``."""
    bulk_insert(session.connection(), table, [c.name for c in table.columns], rows, days_as_text=days_as_text)


def staged_chunks(session: Session, table: Table, size: int, query: Select[Any] | None = None) -> Iterator[list[Any]]:
    """The staged rows in line order (the table's first column), ``size`` at a time: one query a
    chunk by the line after the last one read, so no cursor stays open across the checks. ``query``
    (of the table's columns) picks some of them; by default all."""
    line = table.c[0]
    query = (query if query is not None else select(table)).order_by(line).limit(size)
    last = 0
    while True:
        rows = session.execute(query.where(line > last)).all()
        if not rows:
            return
        yield list(rows)
        if len(rows) < size:
            return
        last = rows[-1][0]
