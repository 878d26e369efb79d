"""The base of the API: one database, the installed plugins, and a transaction per verb.

Every verb of :class:`~mutualaid.api.MutualAid` is a method of one of the mixins beside this module
(``pools``, ``members``, ``claims``, ``sharing``, ``ledger``, ``notices``, ``payments``), each of
which opens one transaction: :meth:`Application.transaction` for a verb that writes (on SQLite it
takes the write lock up front), :meth:`Application.reading` for one that only reads.

The database must exist and be at this mutualaid's schema revision before any verb runs; nothing
creates or upgrades it but :meth:`Application.create_database` (and :meth:`create_pool
<mutualaid.api.pools.PoolVerbs.create_pool>`, which makes the database of a first pool) and
:meth:`Application.upgrade_database`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..plugins import Plugins, load_plugins

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from ..db.schema import SchemaStatus

__all__ = ["Application", "UpgradeResult"]


@dataclass(frozen=True)
class UpgradeResult:
    """What :meth:`Application.upgrade_database` did: the database as it was (its revision and the
    migrations applied), where the SQLite file was backed up (``None`` when nothing was applied,
    or for PostgreSQL), and whether anything was applied."""

    before: SchemaStatus
    backup: Path | None
    applied: bool


class Application:
    """An operator's handle on one database and the installed plugins (the base of :class:`MutualAid`).

    :param database_url: any SQLAlchemy URL; default ``MUTUALAID_DATABASE_URL`` or the SQLite file
        in the mutualaid home directory. The database must exist at this mutualaid's schema
        revision (see :meth:`create_database`, :meth:`upgrade_database`); nothing is created or
        upgraded implicitly, except by :meth:`create_pool`, which makes the database of a first pool.
    :param plugins: an already loaded :class:`Plugins`; default: load the installed plugins.
    """

    def __init__(self, database_url: str | None = None, *, plugins: Plugins | None = None) -> None:
        self._url = database_url
        self._plugins = plugins
        self._engine: Engine | None = None

    @property
    def plugins(self) -> Plugins:
        if self._plugins is None:
            self._plugins = load_plugins()
        return self._plugins

    @property
    def engine(self) -> Engine:
        """The database's engine, once the database is found at this mutualaid's schema revision.

        :raises DatabaseError: for a database that is missing, older or newer (nothing is changed).
        """
        if self._engine is None:
            from ..db import make_engine
            from ..db.schema import check

            engine = make_engine(self._url)
            try:
                check(engine)
            except BaseException:
                engine.dispose()
                raise
            self._engine = engine
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction that may write: committed if the block succeeds, rolled back
        if it raises. On SQLite it holds the database's write lock throughout (other writers wait
        their turn); a lock not had in time is a :class:`~mutualaid.errors.DatabaseError`."""
        from ..db import transaction

        with transaction(self.engine) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session in one read-only transaction (one snapshot, no write lock; a write is an error)."""
        from ..db import reading

        with reading(self.engine) as session:
            yield session

    # -- the database ------------------------------------------------------------------------------

    @contextmanager
    def _bare_engine(self, *, changing: bool = False) -> Iterator[Engine]:
        """An engine on the database whatever its schema (for the steps that look at, create or
        upgrade it; ``changing`` closes this application's engine first)."""
        from ..db import make_engine

        if changing:
            self.close()
        engine = make_engine(self._url)
        try:
            yield engine
        finally:
            engine.dispose()

    def create_database(self) -> tuple[bool, str, str]:
        """Make the database at this mutualaid's schema revision if there is none (a SQLite file that
        does not exist, a PostgreSQL database without tables): ``(created, revision, database)``.
        A database already at the revision is left as it is; an older one is refused (upgrade it).

        :raises DatabaseError: for a database that is older, newer, or not mutualaid's.
        """
        from ..db.engine import database_name
        from ..db.schema import HEAD, create

        with self._bare_engine(changing=True) as engine:
            created = create(engine)
            return created, HEAD, database_name(engine)

    @contextmanager
    def creating_database(self) -> Iterator[bool]:
        """Make the database if there is none (as :meth:`create_database`) for the block, which
        gets whether it was made; a SQLite file made here is removed again if the block raises,
        so a first pool that is refused leaves no file behind."""
        created, _, _ = self.create_database()
        try:
            yield created
        except BaseException:
            if created:
                self._remove_new_file()
            raise

    def _remove_new_file(self) -> None:
        from ..db import make_engine
        from ..db.engine import sqlite_file

        self.close()
        engine = make_engine(self._url)
        path = sqlite_file(engine)
        engine.dispose()
        if path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    def schema_status(self) -> SchemaStatus:
        """What the database is at (found without creating or changing anything)."""
        from ..db.schema import schema_status

        with self._bare_engine() as engine:
            return schema_status(engine)

    def upgrade_plan(self) -> SchemaStatus:
        """The database's revision and the migrations that would bring it to the head.

        :raises DatabaseError: for a missing database, one not mutualaid's, or one newer than this mutualaid.
        """
        from ..db.schema import plan_upgrade

        with self._bare_engine() as engine:
            return plan_upgrade(engine)

    def upgrade_sql(self, plan: SchemaStatus) -> str:
        """The SQL the upgrade would run, written out without touching the database (Alembic's
        offline mode); a migration that needs the live database to be written out is a
        :class:`~mutualaid.errors.DatabaseError` naming it."""
        from ..db.schema import preview_sql

        with self._bare_engine() as engine:
            return preview_sql(engine, plan)

    def backup_database(self, plan: SchemaStatus) -> Path | None:
        """Copy a SQLite file beside itself (SQLite's online backup); ``None`` for another database."""
        from ..db.schema import backup

        return backup(plan)

    def apply_upgrade(self) -> bool:
        """Run the migrations to the head in one transaction; whether anything was applied."""
        from ..db.schema import apply

        with self._bare_engine(changing=True) as engine:
            return apply(engine)

    def upgrade_database(self) -> UpgradeResult:
        """Bring an existing database to this mutualaid's schema revision: back a SQLite file up,
        then run the migrations (see :meth:`upgrade_plan`, :meth:`backup_database`)."""
        plan = self.upgrade_plan()
        if not plan.pending:
            return UpgradeResult(plan, None, False)
        copy = self.backup_database(plan)
        return UpgradeResult(plan, copy, self.apply_upgrade())

    def database_revision(self) -> tuple[str | None, str | None]:
        """``(revision, missing)``: the database's schema revision (``None`` for an empty database),
        or, for a SQLite file that does not exist, ``(None, its path)`` -- nothing is created
        to find out."""
        status = self.schema_status()
        if not status.exists:
            return None, status.database
        return status.revision, None

    # -- plugins and cohorts -----------------------------------------------------------------------

    def describe_cohort(self, key: str) -> dict[str, Any]:
        """A cohort as ``cohorts show`` prints it: titles, plugin, events, and each field of its
        settings, member attributes and claim details with its type, default and description."""
        from ..fields import describe_model

        plugins = self.plugins
        cohort = plugins.cohort(key)
        return {
            "key": cohort.key,
            "title": cohort.title,
            "titles": dict(cohort.local_titles),
            "description": cohort.description,
            "plugin": plugins.cohort_owner(key),
            "events": [{"key": k.key, "title": k.title} for k in cohort.event_kinds],
            "settings": describe_model(cohort.settings_model),
            "member_attributes": describe_model(cohort.member_model),
            "claim_details": describe_model(cohort.claim_model),
        }
