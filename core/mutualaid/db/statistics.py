"""The query planner's table statistics, gathered after a command changes a table's size a lot.

SQLite keeps no statistics until ``ANALYZE`` is run (PostgreSQL's autovacuum gathers its own):
without them its planner guesses, and a guess can walk a 10-million-row index for a few thousand
rows. The commands that grow a table by many rows (a sharing run writing charges, a member
import, a payment or top-up import) call :func:`refresh_statistics` with the tables they wrote,
inside their own transaction, so the statistics commit or roll back with the rows.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from .models import Base

__all__ = ["ANALYSIS_LIMIT", "refresh_statistics"]

#: Rows ``ANALYZE`` reads per index (SQLite's ``analysis_limit``): the statistics are estimates
#: from a sample, so gathering them costs milliseconds whatever the size of the table.
ANALYSIS_LIMIT = 1000


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
