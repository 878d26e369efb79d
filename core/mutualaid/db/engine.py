"""Engines, sessions and schema upgrades.

The database is a SQLite file by default (no set-up) and any SQLAlchemy URL otherwise, from
``--database-url`` or ``MUTUALAID_DATABASE_URL``. The default file is
``$MUTUALAID_HOME/mutualaid.db``, where ``MUTUALAID_HOME`` defaults to
``$XDG_DATA_HOME/mutualaid`` (``~/.local/share/mutualaid``).

The schema is created and upgraded by Alembic migrations (:mod:`mutualaid.db.schema`),
automatically on first use.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import DatabaseError

__all__ = ["default_database_url", "default_home", "make_engine", "scratch_database", "transaction"]


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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # pysqlite does not begin a transaction before a statement starting with WITH, nor before
    # DDL; emitting BEGIN ourselves keeps every command one atomic transaction.
    conn.exec_driver_sql("BEGIN")


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
    """Create an engine for ``url`` (default: :func:`default_database_url`).

    A ``postgresql://`` URL uses psycopg 3. A SQLite file's directory is created if missing.
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
            directory = Path(database).expanduser().parent
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"cannot create the directory {directory} for the database file: {exc.strerror or exc}"
                ) from None
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
    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back if it raises."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session, session.begin():
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
