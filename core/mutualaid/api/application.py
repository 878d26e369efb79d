"""The base of the API: one database, the installed plugins, and a transaction per verb.

Every verb of :class:`~mutualaid.api.MutualAid` is a method of one of the mixins beside this module
(``pools``, ``members``, ``claims``, ``sharing``, ``ledger``, ``notices``, ``payments``), each of
which opens one transaction through :meth:`Application.transaction`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..plugins import Plugins, load_plugins

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

__all__ = ["Application"]


class Application:
    """An operator's handle on one database and the installed plugins (the base of :class:`MutualAid`).

    :param database_url: any SQLAlchemy URL; default ``MUTUALAID_DATABASE_URL`` or the SQLite file
        in the mutualaid home directory.
    :param plugins: an already loaded :class:`Plugins`; default: load the installed plugins.
    :param auto_upgrade: bring the schema up to date on first use (Alembic migrations).
    """

    def __init__(
        self, database_url: str | None = None, *, plugins: Plugins | None = None, auto_upgrade: bool = True
    ) -> None:
        self._url = database_url
        self._plugins = plugins
        self._engine: Engine | None = None
        self._auto_upgrade = auto_upgrade

    @property
    def plugins(self) -> Plugins:
        if self._plugins is None:
            self._plugins = load_plugins()
        return self._plugins

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from ..db import make_engine, upgrade

            engine = make_engine(self._url)
            if self._auto_upgrade:
                upgrade(engine)
            self._engine = engine
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed if the block succeeds, rolled back if it raises."""
        from ..db import transaction

        with transaction(self.engine) as session:
            yield session

    # -- the database ------------------------------------------------------------------------------

    def upgrade_database(self) -> tuple[bool, str, str]:
        """Create the schema or bring it up to date: ``(applied, revision, database)``, the URL
        without its password."""
        from ..db import head_revision, make_engine, upgrade

        engine = make_engine(self._url)
        try:
            applied = upgrade(engine)
        finally:
            engine.dispose()
        return applied, head_revision(), engine.url.render_as_string(hide_password=True)

    def database_revision(self) -> tuple[str | None, str | None]:
        """``(revision, missing)``: the database's schema revision (``None`` for an empty database),
        or, for a SQLite file that does not exist yet, ``(None, its path)`` -- nothing is created
        to find out."""
        from ..db import current_revision, make_engine

        engine = make_engine(self._url)
        try:
            database = engine.url.database
            if engine.dialect.name == "sqlite" and database and database != ":memory:" and not Path(database).exists():
                return None, database
            return current_revision(engine), None
        finally:
            engine.dispose()

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
