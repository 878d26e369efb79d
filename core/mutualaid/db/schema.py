"""The schema: Alembic migrations bring a database to this mutualaid's revision.

Migrations live in ``mutualaid/db/migrations`` and run on the connection handed over here (never
offline). A database at a revision this mutualaid does not know (made by a newer version) is
refused rather than touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ..errors import DatabaseError

__all__ = ["HEAD", "alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest revision of ``migrations/``, written out so that opening a database already at it
#: costs one query and no Alembic (every command opens one); a test keeps it equal to Alembic's head.
HEAD = "0008"


def alembic_config(connection: Any = None) -> Any:
    """An Alembic configuration for mutualaid's migrations, running on ``connection`` when given."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("mutualaid ships no migrations")
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision (``None`` for an empty database).

    :raises DatabaseError: when the database cannot be opened.
    """
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        reason = " ".join(str(exc.orig).split())  # drivers' messages span lines; errors are one line
        raise DatabaseError(f"cannot open the database {engine.url!r}: {reason}") from None


def _stored_revision(engine: Engine) -> str | None:
    """The revision recorded in ``alembic_version`` by a plain query, or ``None`` when it cannot be
    read that way (no table yet, or anything else: Alembic then looks properly)."""
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one_or_none()
    except SQLAlchemyError:
        return None


def upgrade(engine: Engine, revision: str = "head") -> bool:
    """Bring the schema to ``revision``; return whether anything was applied.

    A database already at the head is recognised with one query. A database whose revision this
    mutualaid does not know (made by a newer version) is a :class:`DatabaseError`: upgrade
    mutualaid instead.
    """
    if revision == "head" and _stored_revision(engine) == HEAD:
        return False
    from alembic import command
    from alembic.script import ScriptDirectory

    current = current_revision(engine)
    script = ScriptDirectory.from_config(alembic_config())
    if current is not None:
        try:
            script.get_revision(current)
        except Exception:
            raise DatabaseError(
                f"the database {engine.url!r} is at schema revision {current!r}, which this version "
                "of mutualaid does not know; upgrade mutualaid"
            ) from None
    target = script.get_current_head() if revision == "head" else revision
    if current == target:
        return False
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    return True
