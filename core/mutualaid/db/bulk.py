"""Bulk writes: many rows in one round of the driver (``COPY`` on PostgreSQL, ``executemany`` else)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Date, Table, bindparam, insert

__all__ = ["BULK_BATCH", "bulk_insert", "chunks", "ids_in", "upsert"]


#: Rows per ``executemany`` of :func:`bulk_insert`.
BULK_BATCH = 5000


def bulk_insert(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    days_as_text: bool = False,
) -> None:
    """Insert tuples (in the order of ``columns``) with ``COPY`` on PostgreSQL (psycopg), else one
    ``executemany`` of tuples per batch -- about 10x and 3x faster than a Core insert of dicts (see
    PERFORMANCE.md) -- applying the columns' own conversions (SQLite stores dates as ISO text) as
    SQLAlchemy would. With ``days_as_text`` the rows' days are ISO text already, as SQLite stores
    them and ``COPY`` reads them: written as they are there (an import's rows are not converted
    again), turned back into dates for any other driver. Same connection, same transaction."""
    if not rows:
        return
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        driver_connection = connection.connection.driver_connection
        with driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    if days_as_text and dialect.name != "sqlite":
        days = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, Date)]
        rows = [
            tuple(
                date.fromisoformat(value) if i in days and value is not None else value for i, value in enumerate(row)
            )
            for row in rows
        ]
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
    if marker is None:  # pragma: no cover - neither SQLite nor psycopg
        for start in range(0, len(rows), BULK_BATCH):
            batch = rows[start : start + BULK_BATCH]
            connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in batch])
        return
    processors = [_processor(table.c[name].type, dialect) for name in columns]
    ready_on_sqlite = days_as_text and dialect.name == "sqlite"  # ISO text is how SQLite stores a day
    converting = [] if ready_on_sqlite else [(i, proc) for i, proc in enumerate(processors) if proc is not None]
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join([marker] * len(columns))})"
    for start in range(0, len(rows), BULK_BATCH):
        batch = list(rows[start : start + BULK_BATCH])
        if converting:
            ready = []
            for row in batch:
                values = list(row)
                for i, proc in converting:
                    value = values[i]
                    if value is not None:
                        values[i] = proc(value)
                ready.append(tuple(values))
            batch = ready
        connection.exec_driver_sql(sql, batch)


def _processor(column_type: Any, dialect: Any) -> Any:
    """How a column's value is handed to the driver, as SQLAlchemy would: a SQLite date is its ISO
    text (``date.isoformat``, the format of SQLite's default DATE storage, without SQLAlchemy's
    general formatting, which costs a microsecond a value at import scale)."""
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None or dialect.name != "sqlite" or not isinstance(column_type, Date):
        return process
    if getattr(column_type.dialect_impl(dialect), "_storage_format", None) not in (None, _SQLITE_DATE_FORMAT):
        return process

    def iso(value: Any) -> Any:
        return value.isoformat() if type(value) is date else process(value)

    return iso


_SQLITE_DATE_FORMAT = "%(year)04d-%(month)02d-%(day)02d"


def chunks(values: Sequence[int], size: int = BULK_BATCH) -> Iterator[list[int]]:
    """``values`` in lists of at most ``size``, for look-ups and updates of many rows by number."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def ids_in(column: Any, values: list[int]) -> ColumnElement[bool]:
    """``column IN (...)`` with the integers rendered into the statement: a few thousand bound
    parameters per query would run into SQLite's limit, and ints cannot inject anything."""
    return cast(ColumnElement[bool], column.in_(bindparam(None, values, expanding=True, literal_execute=True)))


def upsert(connection: Connection, table: Table) -> Any:
    """An ``INSERT`` into ``table`` in the connection's dialect, which can say what to do with a row
    whose key is there already (``on_conflict_do_nothing``, ``on_conflict_do_update``): the same
    clause on SQLite and PostgreSQL, the two databases supported."""
    from sqlalchemy.dialects import postgresql, sqlite

    from ..errors import StateError

    name = connection.dialect.name
    if name not in ("postgresql", "sqlite"):  # pragma: no cover - the two supported databases
        raise StateError(f"mutualaid needs SQLite or PostgreSQL, not {name}")
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)
