"""The API's verbs of pools: create, validate, find and list them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .application import Application

if TYPE_CHECKING:
    from ..config import PoolDefinition
    from ..pools import PoolRecord

__all__ = ["PoolVerbs"]


class PoolVerbs(Application):
    """Pools: create one from a file or a mapping, look one up, list them."""

    def load_pool(self, source: str | Path | Mapping[str, Any]) -> PoolDefinition:
        """Validate a pool file (or mapping) without storing it."""
        from ..config import load_pool_file, validate_pool

        if isinstance(source, Mapping):
            return validate_pool(dict(source), self.plugins)
        return load_pool_file(source, self.plugins)

    def create_pool(self, source: str | Path | Mapping[str, Any]) -> PoolRecord:
        """Validate and store a new pool from a TOML file or a mapping; the database is made if there
        is none yet (see :meth:`create_database`), and removed again if the pool is refused."""
        from .. import pools

        definition = self.load_pool(source)
        name = str(source) if not isinstance(source, Mapping) else "<pool>"
        with self.creating_database(), self.transaction() as session:  # a first pool makes the database
            return pools.create_pool(session, definition, source=name)

    def pool(self, key: str) -> PoolRecord:
        from .. import pools

        with self.reading() as session:
            return pools.get_pool(session, self.plugins, key)

    def pools(self) -> list[dict[str, Any]]:
        from .. import pools

        with self.reading() as session:
            return pools.list_pools(session)

    def today(self, pool: str) -> date:
        """Today's date in the pool's time zone (the default day of joining, exits and filing)."""
        from ..pools import pool_today

        return pool_today(self.pool(pool).definition)
