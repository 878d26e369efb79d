"""The query planner's table statistics, gathered after a command changes a table's size a lot.

SQLite keeps no statistics until ``ANALYZE`` is run (PostgreSQL's autovacuum gathers its own):
without them its planner guesses, and a guess can walk a 10-million-row index for a few thousand
rows. The commands that grow a table by many rows (a sharing run writing charges, a member
import, a payment or top-up import) call :func:`refresh_statistics` with the tables they wrote,
inside their own transaction, so the statistics commit or roll back with the rows.

SQLite samples :data:`ANALYSIS_LIMIT` rows of each index, and a sample of the first thousand rows
misjudges a leading column of few values: every sampled row has the same pool, so it estimates a
thousand rows to a pool, and a query over a pool of ten million is then planned as for a thousand
(read by the pool's index and sorted, rather than read in key order: 2 s before the first
low-balance notice at 5M). After sampling, :func:`_count_the_few` counts exactly the values of
each leading column (and of each longer prefix) that the sample saw few of, one seek of an index
a value, and writes the true average into ``sqlite_stat1``, as a full ``ANALYZE`` would have; in
every table with statistics, so that those sampled before this correction are corrected too.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

from .models import Base

__all__ = ["ANALYSIS_LIMIT", "FEW", "refresh_statistics"]

#: Rows ``ANALYZE`` reads per index (SQLite's ``analysis_limit``): the statistics are estimates
#: from a sample, so gathering them costs milliseconds whatever the size of the table.
ANALYSIS_LIMIT = 1000

#: The most values of an index's leading columns that are counted one by one after sampling. A
#: prefix the sample saw few values of (fewer than ten: more than a tenth of the sample to a value)
#: is counted, up to this many; past it the sample's estimate stands.
FEW = 10_000


def refresh_statistics(session: Session, *tables: type[Base], postgresql: bool = False) -> None:
    """``ANALYZE`` the table of each of the models ``tables`` on SQLite, sampling at most :data:`ANALYSIS_LIMIT` rows per
    index; on PostgreSQL too with ``postgresql`` (its own sample, a fraction of a second), for a
    table that the same command run again at once would read by the statistics autovacuum has not
    gathered yet (a second file of top-ups looking its references up among the first's). Runs in
    the session's transaction."""
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    if connection.dialect.name == "postgresql" and postgresql:
        for table in tables:
            connection.exec_driver_sql(f"ANALYZE {quote(table.__tablename__)}")
        return
    if connection.dialect.name != "sqlite" or not tables:
        return
    previous = connection.exec_driver_sql("PRAGMA analysis_limit").scalar()
    connection.exec_driver_sql(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
    try:
        for table in tables:
            connection.exec_driver_sql(f"ANALYZE {quote(table.__tablename__)}")
    finally:
        connection.exec_driver_sql(f"PRAGMA analysis_limit = {int(previous or 0)}")
    # Every table with statistics, not only those just sampled: a database whose statistics were
    # sampled before this correction (a pool imported once, then only shared) is corrected by the
    # next command that refreshes any. Milliseconds: one seek a value of the few-valued prefixes.
    analysed = [row[0] for row in connection.exec_driver_sql("SELECT DISTINCT tbl FROM sqlite_stat1")]
    if any([_count_the_few(connection, table) for table in analysed]):
        connection.exec_driver_sql("ANALYZE sqlite_schema")  # the planner reads the statistics again


def _count_the_few(connection: Any, table: str) -> bool:
    """SQLite: correct the sampled statistics of ``table``'s indexes where the sample saw few values
    of a leading prefix of columns, by counting its values exactly (see the module); whether any
    was changed. A prefix is counted through an index that holds every row (not a partial one) and
    starts with those columns, whose columns are all ``NOT NULL``; the count stops at :data:`FEW`."""
    quote = connection.dialect.identifier_preparer.quote
    rows = connection.exec_driver_sql(
        "SELECT idx, stat FROM sqlite_stat1 WHERE tbl = ? AND idx IS NOT NULL", (table,)
    ).all()
    if not rows:
        return False
    not_null = {row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({quote(table)})") if row[3] or row[5]}
    columns: dict[str, tuple[str, ...]] = {}
    whole: list[str] = []  # the indexes that hold every row, to count through
    for row in connection.exec_driver_sql(f"PRAGMA index_list({quote(table)})"):
        name, partial = row[1], row[4]
        columns[name] = tuple(info[2] for info in connection.exec_driver_sql(f"PRAGMA index_info({quote(name)})"))
        if not partial:
            whole.append(name)
    counted: dict[tuple[str, ...], int | None] = {}
    changed = False
    for index, stat in rows:
        words = str(stat).split()
        numbers = []
        for word in words:
            if not word.isdigit():
                break
            numbers.append(int(word))
        keys = columns.get(index, ())
        if len(numbers) < 2 or not keys:
            continue
        rows_in_index, new = numbers[0], list(numbers)
        for width in range(1, min(len(keys), len(numbers) - 1) + 1):
            prefix = keys[:width]
            if new[width] * 10 <= ANALYSIS_LIMIT or not set(prefix) <= not_null:
                break  # the sample saw many values of it (or it may be NULL): its estimate stands
            if prefix not in counted:
                through = next((name for name in whole if columns[name][:width] == prefix), None)
                counted[prefix] = None if through is None else _distinct(connection, table, through, prefix)
            values = counted[prefix]
            if not values:  # more than it counts, or none left (rows deleted since the sample)
                break
            new[width] = max(1, math.ceil(rows_in_index / values))
        for width in range(2, len(new)):  # an average for a longer prefix is never larger
            new[width] = min(new[width], new[width - 1])
        if new != numbers:
            text = " ".join([*map(str, new), *words[len(numbers) :]])
            connection.exec_driver_sql(
                "UPDATE sqlite_stat1 SET stat = ? WHERE tbl = ? AND idx = ?", (text, table, index)
            )
            changed = True
    return changed


def _distinct(connection: Any, table: str, index: str, prefix: tuple[str, ...]) -> int | None:
    """How many values of the columns ``prefix`` the table holds, counted through ``index`` (which
    starts with them) from one value to the next; ``None`` past :data:`FEW`. The next value after
    ``(a, b)`` is the least with ``a`` and a greater ``b``, else the least with a greater ``a``: each
    a seek of the index by equal leading columns and a greater next one (SQLite seeks a row value
    ``(a, b) > (?, ?)`` by its first column only, and walks the rest)."""
    quote = connection.dialect.identifier_preparer.quote
    names = [quote(column) for column in prefix]
    source = f"SELECT {', '.join(names)} FROM {quote(table)} INDEXED BY {quote(index)}"
    order = f"ORDER BY {', '.join(names)} LIMIT 1"
    steps = [
        f"{source} WHERE {' AND '.join([*(f'{name} = ?' for name in names[:level]), f'{names[level]} > ?'])} {order}"
        for level in range(len(names))
    ]
    found = connection.exec_driver_sql(f"{source} {order}").first()
    values = 0
    while found is not None:
        values += 1
        if values > FEW:
            return None
        after = tuple(found)
        for level in reversed(range(len(names))):
            found = connection.exec_driver_sql(steps[level], after[: level + 1]).first()
            if found is not None:
                break
    return values
