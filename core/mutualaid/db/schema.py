"""The schema: what a database is at, and the explicit steps that create or upgrade it.

Every command checks the database first (:func:`check`): it must exist and be at this mutualaid's
revision, :data:`HEAD`. A database that is missing (a SQLite file that does not exist, a PostgreSQL
database without mutualaid's tables), older, or newer is refused with one line saying what to do,
and nothing is created or changed to find out. Only two steps change the schema, each when asked:
:func:`create` (``mutualaid db init``, ``mutualaid pool create``) makes a new database at the head,
and :func:`apply` (``mutualaid db upgrade``) runs the Alembic migrations from the database's
revision to the head, after :func:`backup` has copied a SQLite file beside itself.
:func:`preview_sql` writes the migrations' SQL out instead (Alembic's offline mode).
"""

from __future__ import annotations

import io
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ..errors import DatabaseError
from .engine import READ_ONLY, busy_is_an_error, database_name, sqlite_file

__all__ = [
    "HEAD",
    "Revision",
    "SchemaStatus",
    "alembic_config",
    "apply",
    "backup",
    "check",
    "create",
    "current_revision",
    "head_revision",
    "plan_upgrade",
    "preview_sql",
    "schema_status",
    "upgrade",
]

MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest revision of ``migrations/``, written out so that opening a database already at it
#: costs one query and no Alembic (every command opens one); a test keeps it equal to Alembic's head.
HEAD = "0018"
#: Where to point someone whose database is missing.
_CREATE_HINT = (
    "create one with `mutualaid pool create` or `mutualaid db init`, or check --database-url / MUTUALAID_DATABASE_URL"
)


@dataclass(frozen=True)
class Revision:
    """A migration: its revision id and what it does (the first paragraph of its docstring)."""

    id: str
    title: str


@dataclass(frozen=True)
class SchemaStatus:
    """What a database is, found without changing it.

    :ivar database: its name in messages (a SQLite file's path, else the URL without password).
    :ivar exists: ``False`` for a SQLite file that does not exist.
    :ivar revision: its schema revision; ``None`` when it has no ``alembic_version``.
    :ivar tables: whether it has any tables at all (a database without a revision but with
        tables is not mutualaid's).
    :ivar pending: the migrations from its revision to the head, oldest first.
    """

    database: str
    exists: bool
    revision: str | None
    tables: bool
    head: str
    pending: tuple[Revision, ...]
    #: whether this mutualaid knows the revision (a newer mutualaid made it otherwise)
    known: bool
    #: the SQLite file, for a backup
    path: Path | None

    @property
    def missing(self) -> bool:
        """No mutualaid database here yet: no file, or a database without any table."""
        return not self.exists or (self.revision is None and not self.tables)

    @property
    def at_head(self) -> bool:
        return self.revision == self.head


def alembic_config(connection: Any = None) -> Any:
    """An Alembic configuration for mutualaid's migrations, running on ``connection`` when given."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _scripts() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    if head is None:
        raise RuntimeError("mutualaid ships no migrations")
    return str(head)


def _cannot_open(engine: Engine, exc: OperationalError) -> DatabaseError:
    reason = " ".join(str(exc.orig).split())  # drivers' messages span lines; errors are one line
    return DatabaseError(f"cannot open the database {database_name(engine)}: {reason}")


def _reader(engine: Engine) -> Engine:
    return engine.execution_options(**{READ_ONLY: True})


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision (``None`` for an empty database).

    :raises DatabaseError: when the database cannot be opened.
    """
    from alembic.runtime.migration import MigrationContext

    try:
        with busy_is_an_error(engine), _reader(engine).connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise _cannot_open(engine, exc) from None


def _stored_revision(engine: Engine) -> str | None:
    """The revision recorded in ``alembic_version`` by a plain query, or ``None`` when it cannot be
    read that way (no table yet, or anything else: :func:`schema_status` then looks properly)."""
    try:
        with _reader(engine).connect() as conn:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one_or_none()
    except SQLAlchemyError:
        return None


def _title(script: Any) -> str:
    doc = script.module.__doc__ or script.doc or ""
    first = re.split(r"\n\s*\n", doc.strip(), maxsplit=1)[0]
    return " ".join(first.split())


def _pending(revision: str | None) -> tuple[tuple[Revision, ...], bool]:
    """The migrations from ``revision`` (exclusive) to the head, oldest first, and whether this
    mutualaid knows ``revision``."""
    scripts = _scripts()
    if revision is not None:
        try:
            scripts.get_revision(revision)
        except Exception:  # Alembic raises several kinds for an id it has no script of
            return (), False
    steps = [Revision(s.revision, _title(s)) for s in scripts.iterate_revisions("head", revision or "base")]
    return tuple(reversed(steps)), True


def schema_status(engine: Engine) -> SchemaStatus:
    """What the database is at. Nothing is created or changed to find out: a SQLite file that does
    not exist is not opened, and everything else is read in a read-only transaction.

    :raises DatabaseError: when the database cannot be opened.
    """
    path = sqlite_file(engine)
    name = database_name(engine)
    if path is not None and not path.exists():
        return SchemaStatus(name, False, None, False, HEAD, (), True, path)
    if path is not None and path.stat().st_size == 0:  # SQLite makes an empty file a new database
        return SchemaStatus(name, True, None, False, HEAD, (), True, path)
    revision = current_revision(engine)
    tables = True
    if revision is None:
        try:
            with busy_is_an_error(engine), _reader(engine).connect() as conn:
                tables = bool(inspect(conn).get_table_names())
        except OperationalError as exc:
            raise _cannot_open(engine, exc) from None
    pending, known = _pending(revision) if revision is not None else ((), True)
    return SchemaStatus(name, True, revision, tables, HEAD, pending, known, path)


def _refusal(status: SchemaStatus) -> DatabaseError | None:
    """Why a command cannot run on a database in ``status`` (``None``: at the head, it can)."""
    if status.missing:
        if not status.exists:
            return DatabaseError(f"no mutualaid database at {status.database}; {_CREATE_HINT}")
        return DatabaseError(f"no mutualaid database at {status.database} (it is empty); {_CREATE_HINT}")
    if status.revision is None:
        return DatabaseError(
            f"the database {status.database} has tables but no mutualaid schema revision, so it is not a "
            "mutualaid database; check --database-url / MUTUALAID_DATABASE_URL"
        )
    if not status.known:
        return DatabaseError(
            f"the database {status.database} is at schema revision {status.revision!r}, which this version of "
            "mutualaid does not know; upgrade mutualaid"
        )
    if not status.at_head:
        return DatabaseError(
            f"the database {status.database} is at schema revision {status.revision} and this mutualaid needs "
            f"{status.head}; run `mutualaid db upgrade` first (it shows what changes"
            f"{' and backs the file up' if status.path is not None else ''}); nothing was changed"
        )
    return None


def check(engine: Engine) -> None:
    """Refuse a database a command cannot run on: missing, not mutualaid's, older or newer than
    this mutualaid. A database at the head costs one query.

    :raises DatabaseError: naming the database, what it is at, and what to do.
    """
    path = sqlite_file(engine)
    if (path is None or path.exists()) and _stored_revision(engine) == HEAD:
        return
    refusal = _refusal(schema_status(engine))
    if refusal is not None:
        raise refusal


def create(engine: Engine) -> bool:
    """Make a new database at the head where there is none (a SQLite file that does not exist or
    is empty, a database without tables); return whether one was made. A database already at the
    head is left as it is; an older one must be upgraded (:func:`apply`), not created over.

    :raises DatabaseError: for a database this cannot create or use (see :func:`check`).
    """
    status = schema_status(engine)
    if not status.missing:
        refusal = _refusal(status)
        if refusal is not None:
            raise refusal
        return False
    if status.path is not None:
        directory = status.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"cannot create the directory {directory} for the database file: {exc.strerror or exc}"
            ) from None
    try:
        upgrade(engine)
    except OperationalError as exc:
        raise _cannot_open(engine, exc) from None
    return True


def plan_upgrade(engine: Engine) -> SchemaStatus:
    """The database's status for ``db upgrade``: its revision and the migrations to the head.

    :raises DatabaseError: for a missing database (nothing to upgrade: create one), one that is not
        mutualaid's, or one newer than this mutualaid.
    """
    status = schema_status(engine)
    if status.missing or status.revision is None or not status.known:
        refusal = _refusal(status)
        if refusal is None:  # pragma: no cover - _refusal names every status refused here
            raise DatabaseError(f"the database {status!r} cannot be upgraded")
        raise refusal
    return status


def backup(status: SchemaStatus, *, now: datetime | None = None) -> Path | None:
    """Copy a SQLite database beside itself before an upgrade, with SQLite's online backup (a
    consistent copy even while others use it): ``<file>.before-<revision>-<UTC time>.bak``.
    Returns its path, or ``None`` for a database that is not a SQLite file (back it up with the
    server's own tools).

    :raises DatabaseError: when the copy cannot be written (nothing is left behind but the original).
    """
    if status.path is None:
        return None
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = status.path.with_name(f"{status.path.name}.before-{status.revision}-{stamp}.bak")
    n = 1
    while target.exists():
        n += 1
        target = status.path.with_name(f"{status.path.name}.before-{status.revision}-{stamp}-{n}.bak")
    partial = target.with_name(target.name + ".partial")
    try:
        source = sqlite3.connect(f"{status.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise DatabaseError(
            f"cannot back up {status.database} to {target} before upgrading it: {exc}; nothing was changed"
        ) from None
    return target


def apply(engine: Engine) -> bool:
    """Run the migrations from the database's revision to the head, in one transaction (a failed
    migration leaves the database at its revision); return whether anything was applied."""
    return upgrade(engine)


def preview_sql(engine: Engine, status: SchemaStatus, target: str = "head") -> str:
    """The SQL :func:`apply` would run on a database in ``status`` (up to ``target``), written out
    by Alembic's offline mode without connecting to it.

    :raises DatabaseError: naming the first migration that cannot be written out offline: on
        SQLite, one that copies a table (Alembic's batch mode) needs the live table; one that reads
        the database to decide what to write (a backfill computed in Python) needs the rows.
    """
    from alembic import command
    from alembic.util import CommandError

    buffer = io.StringIO()
    cfg = alembic_config()
    cfg.output_buffer = buffer
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=True).replace("%", "%%"))
    try:
        command.upgrade(cfg, f"{status.revision}:{target}", sql=True)
    except Exception as exc:  # offline mode fails in many ways when a migration needs the database
        ran = re.findall(r"Running upgrade (\S+) -> (\S+)", buffer.getvalue())
        revision = ran[-1][1] if ran else (status.pending[0].id if status.pending else status.head)
        if isinstance(exc, CommandError) and "batch mode" in str(exc):
            why = "it copies tables (Alembic's batch mode on SQLite), which needs the live tables"
        else:
            why = "it reads the database to work out what to write"
        raise DatabaseError(
            f"the SQL of revision {revision} cannot be previewed without the database: {why}; "
            f"`mutualaid db upgrade` without --sql lists the revisions"
            f"{', backs the file up' if status.path is not None else ''} and applies them"
        ) from None
    return buffer.getvalue()


def upgrade(engine: Engine, revision: str = "head") -> bool:
    """Bring the schema to ``revision``; return whether anything was applied. The low-level step
    behind :func:`create` and :func:`apply` (and the tests of the migrations); it creates a SQLite
    file that does not exist.

    A database already at the head is recognised with one query. A database whose revision this
    mutualaid does not know (made by a newer version) is a :class:`DatabaseError`: upgrade
    mutualaid instead.
    """
    path = sqlite_file(engine)
    if revision == "head" and (path is None or path.exists()) and _stored_revision(engine) == HEAD:
        return False
    from alembic import command

    current = current_revision(engine) if path is None or path.exists() else None
    script = _scripts()
    if current is not None:
        _, known = _pending(current)
        if not known:
            raise DatabaseError(
                f"the database {database_name(engine)} is at schema revision {current!r}, which this version "
                "of mutualaid does not know; upgrade mutualaid"
            )
    target = script.get_current_head() if revision == "head" else revision
    if current == target:
        return False
    with busy_is_an_error(engine), engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    if current is not None and current < _ENCRYPTED_AT <= (target or ""):
        _rewrite_after_encryption(engine)
    return True


#: The revision that encrypts members' ID numbers (0007): a database upgraded across it is rewritten.
_ENCRYPTED_AT = "0007"


def _rewrite_after_encryption(engine: Engine) -> None:
    """Rewrite the storage once members' ID numbers are encrypted, outside any transaction, so that
    a copy of the files reveals no plain ID number: a SQLite file is VACUUMed (a page freed before
    the upgrade, or by it on a SQLite built without SECURE_DELETE, could still hold one), the
    members table of PostgreSQL gets a VACUUM FULL (the row versions the upgrade replaced are
    dead, not gone)."""
    raw = engine.raw_connection()
    driver = raw.driver_connection
    raw.detach()  # its settings changed here: closed after, never handed back to the pool
    try:
        if engine.dialect.name == "postgresql":
            driver.autocommit = True  # type: ignore[union-attr]
            driver.execute("VACUUM FULL members")  # type: ignore[union-attr]
        elif engine.dialect.name == "sqlite":
            driver.execute("VACUUM")  # type: ignore[union-attr]
    finally:
        raw.close()
