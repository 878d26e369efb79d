"""Engines, sessions, and the one place a busy database becomes a message.

The database is a SQLite file by default (no set-up) and any SQLAlchemy URL otherwise, from
``--database-url`` or ``MUTUALAID_DATABASE_URL``. The default file is
``$MUTUALAID_HOME/mutualaid.db``, where ``MUTUALAID_HOME`` defaults to
``$XDG_DATA_HOME/mutualaid`` (``~/.local/share/mutualaid``).

An engine opens nothing by itself: the schema is created (``mutualaid db init``, ``mutualaid pool
create``) and upgraded (``mutualaid db upgrade``) only when asked, by :mod:`mutualaid.db.schema`.

Transactions come in two kinds. :func:`transaction` writes: on SQLite it begins ``IMMEDIATE``,
taking the database's write lock up front, so two writers queue instead of both reading and then
failing to write (SQLite has no row locks; on PostgreSQL the rows a writer locks serialise it).
:func:`reading` only reads: it begins deferred on SQLite (readers share the file with each other
and with a writer until it commits) and is read-only on both databases, so a command that only
looks cannot change anything. SQLite files keep the rollback journal: in WAL mode a sharing run of a
million members took 15-30% longer, the charges being written twice (to the log, then the file). A writer waits its turn for :func:`lock_timeout` seconds (``MUTUALAID_LOCK_TIMEOUT``,
default 30); past that, or when PostgreSQL gives up a lock or a serialisable transaction,
:class:`~mutualaid.errors.DatabaseError` says the database is busy, in one line.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import DatabaseError

__all__ = [
    "ROW_LOCK",
    "busy",
    "busy_error",
    "busy_is_an_error",
    "database_name",
    "default_database_url",
    "default_home",
    "lock_timeout",
    "make_engine",
    "reading",
    "scratch_database",
    "sqlite_file",
    "transaction",
]

#: The execution option that marks a connection's transactions as read-only (see :func:`reading`).
READ_ONLY = "mutualaid_read_only"
#: How long a writer waits for another's lock by default, in seconds.
LOCK_TIMEOUT = 30
#: How a transaction locks a row it will change (``with_for_update=ROW_LOCK``): ``FOR NO KEY
#: UPDATE`` on PostgreSQL, which holds off other writers of the row but not an insert elsewhere that
#: refers to it (a foreign key's check takes ``FOR KEY SHARE``). With ``FOR UPDATE``, a join waited
#: for a sharing run's lock on the pool row while holding its own on the members table, which the
#: run then waited for: a deadlock. No row locked this way is deleted or has its key changed.
ROW_LOCK: dict[str, bool] = {"key_share": True}
#: PostgreSQL's codes for a lock not obtained in time, a serialisation failure, a deadlock.
_PG_BUSY = {"55P03", "40001", "40P01"}


def default_home() -> Path:
    home = os.environ.get("MUTUALAID_HOME")
    if home:
        return Path(home)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "mutualaid"


def default_database_url() -> str:
    """``MUTUALAID_DATABASE_URL`` if set, else the SQLite file in the mutualaid home directory."""
    url = os.environ.get("MUTUALAID_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{default_home() / 'mutualaid.db'}"


def lock_timeout() -> float:
    """Seconds a writer waits for another's lock: ``MUTUALAID_LOCK_TIMEOUT``, default 30."""
    value = os.environ.get("MUTUALAID_LOCK_TIMEOUT")
    if not value:
        return LOCK_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86_400:
        raise DatabaseError(
            f"MUTUALAID_LOCK_TIMEOUT={value!r} is not a number of seconds between 0 and 86400; "
            f"unset it for the default ({LOCK_TIMEOUT} s)"
        )
    return seconds


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite engine (``None`` for an in-memory or URI database, or another database)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def database_name(engine: Engine) -> str:
    """The database as messages name it: a SQLite file's path, else the URL without its password."""
    path = sqlite_file(engine)
    return str(path) if path is not None else engine.url.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout() * 1000)}")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # pysqlite does not begin a transaction before a statement starting with WITH, nor before
    # DDL; emitting BEGIN ourselves keeps every command one atomic transaction. A writer takes the
    # write lock now (IMMEDIATE), waiting up to busy_timeout for it: a deferred transaction that
    # read first would find, when it came to write, that another had written meanwhile, and fail
    # at once. A reader begins deferred, and query_only makes any write in it an error.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("PRAGMA query_only=ON")
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("PRAGMA query_only=OFF")
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_writable(dbapi_connection: Any, _record: Any) -> None:
    # A connection goes back to the pool as it came: writable (a raw connection taken from the pool
    # next, for a VACUUM or a backup, goes through no begin).
    if dbapi_connection is not None:
        dbapi_connection.execute("PRAGMA query_only=OFF")


def _postgresql_session(dbapi_connection: Any, _record: Any) -> None:
    # A writer waits for a row or table lock as long as SQLite's writers wait for theirs.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = {int(lock_timeout() * 1000)}")
    dbapi_connection.autocommit = autocommit


def _postgresql_begin(conn: Any) -> None:
    # A reader sees one snapshot, as on SQLite: at READ COMMITTED each statement saw what had been
    # committed when it began, so the sums of one ``ledger balance`` could straddle a top-up
    # committed in between. A read-only transaction at REPEATABLE READ never fails to serialise.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


#: The first 16 bytes of every SQLite database file.
SQLITE_HEADER = b"SQLite format 3\x00"


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that exists but is not a SQLite database (SQLite would fail on it later with a
    driver error); an empty file is one SQLite makes into a database."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except (FileNotFoundError, NotADirectoryError):  # a new file (its directory is made, or refused, next)
        return
    except IsADirectoryError:
        raise DatabaseError(f"{path} is a directory, not a database file; check --database-url") from None
    except OSError as exc:
        raise DatabaseError(f"cannot read the database file {path}: {exc.strerror or exc}") from None
    if head and head != SQLITE_HEADER:
        raise DatabaseError(
            f"{path} is not a SQLite database (it does not start with SQLite's header); check --database-url"
        )


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (default: :func:`default_database_url`); nothing is connected
    to, and no file or directory made, until it is used.

    A ``postgresql://`` URL uses psycopg 3. A path that is a directory, or a file that is not a
    SQLite database, is refused here.
    """
    url = url or default_database_url()
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"database URL {url!r} is not valid; use e.g. sqlite:///path/to/file.db or "
            "postgresql://user@host:5432/dbname"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            _check_sqlite_file(Path(database).expanduser())
    try:
        engine = create_engine(parsed, **kwargs)
    except ModuleNotFoundError as exc:
        raise DatabaseError(
            f"the database driver for {parsed.drivername!r} is not installed ({exc.name}); "
            "for PostgreSQL run: pip install 'mutualaid[postgresql]'"
        ) from None
    except ArgumentError:  # includes NoSuchModuleError: a dialect or driver SQLAlchemy does not know
        raise DatabaseError(
            f"database URL {parsed.render_as_string(hide_password=True)!r} names a database SQLAlchemy does not "
            f"support ({parsed.drivername!r}); use e.g. sqlite:///path/to/file.db or postgresql://user@host:5432/dbname"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "checkin", _sqlite_writable)
    elif engine.dialect.name == "postgresql" and kwargs.get("isolation_level") != "AUTOCOMMIT":
        event.listen(engine, "connect", _postgresql_session)
        event.listen(engine, "begin", _postgresql_begin)
    return engine


def busy(exc: BaseException) -> bool:
    """Whether ``exc`` is the database refusing to wait longer for another transaction's lock:
    SQLite's ``database is locked``, PostgreSQL's lock timeout, serialisation failure or deadlock."""
    original = getattr(exc, "orig", exc)
    if isinstance(original, sqlite3.OperationalError):
        return getattr(original, "sqlite_errorname", "").startswith("SQLITE_BUSY") or "is locked" in str(original)
    return getattr(original, "sqlstate", None) in _PG_BUSY


def busy_error(engine: Engine) -> DatabaseError:
    """The one line a busy database becomes."""
    return DatabaseError(
        f"the database {database_name(engine)} is busy: another mutualaid command is writing to it; try again "
        f"(commands wait {lock_timeout():g} s for each other; MUTUALAID_LOCK_TIMEOUT sets how long)"
    )


@contextmanager
def busy_is_an_error(engine: Engine) -> Iterator[None]:
    """Turn a busy database (see :func:`busy`) met inside the block into :func:`busy_error`."""
    try:
        yield
    except DBAPIError as exc:
        if busy(exc):
            raise busy_error(engine) from None
        raise


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work that writes: committed if the block succeeds, rolled back if it raises.

    On SQLite it holds the database's write lock from its first statement; a writer that cannot
    have it within :func:`lock_timeout` is a :class:`DatabaseError`, as is a lock PostgreSQL gives up.
    """
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with busy_is_an_error(engine), factory() as session, session.begin():
        yield session


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A read-only unit of work: it sees one snapshot, takes no write lock, and writes nothing (on
    SQLite ``query_only``, on PostgreSQL ``READ ONLY``: a write in it is an error, a bug)."""
    factory = sessionmaker(bind=engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
    with busy_is_an_error(engine), factory() as session, session.begin():
        yield session


@contextmanager
def scratch_database(server_url: str, *, prefix: str = "mutualaid_scratch", keep: bool = False) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``server_url``, for tests and benchmarks.

    Yields the new database's URL; the database is dropped when the block ends (unless ``keep``).
    ``server_url`` may name any database the user can connect to (``.../postgres``, ``.../test``).
    """
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    if admin.dialect.name != "postgresql":
        admin.dispose()
        raise ValueError(f"a scratch database needs a PostgreSQL URL, not {server_url!r}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin.url.set(database=name).render_as_string(hide_password=False)
        finally:
            if not keep:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
