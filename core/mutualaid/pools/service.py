"""Pools: create one from a validated definition, look one up, list them, lock one.

Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..config import PoolDefinition, validate_pool
from ..db.engine import ROW_LOCK
from ..db.models import Member, Pool
from ..errors import ConfigError, NotFoundError
from ..plugins import Plugins

__all__ = ["PoolRecord", "create_pool", "get_pool", "list_pools", "lock_pool", "pool_today"]


@dataclass(frozen=True, slots=True)
class PoolRecord:
    """A stored pool and its validated definition."""

    id: int
    created_at: datetime
    definition: PoolDefinition

    @property
    def key(self) -> str:
        return self.definition.config.key

    @property
    def config(self) -> Any:
        return self.definition.config

    @property
    def currency(self) -> str:
        return self.definition.config.currency

    @property
    def settings(self) -> Any:
        """The cohort's validated settings of the pool."""
        return self.definition.settings

    @property
    def cohort(self) -> Any:
        """The pool's :class:`~mutualaid.Cohort`."""
        return self.definition.cohort


#: Set to a day (``YYYY-MM-DD``) to make it "today" for every pool: for tests, demos and replaying
#: a pool's past (each step's ``--on`` is then checked against that day, not the clock's).
TODAY_ENV = "MUTUALAID_TODAY"


def pool_today(definition: PoolDefinition, now: datetime | None = None) -> date:
    """Today's date in the pool's time zone (or the day in ``MUTUALAID_TODAY``, when set)."""
    if now is None:
        pretend = os.environ.get(TODAY_ENV, "").strip()
        if pretend:
            try:
                return date.fromisoformat(pretend)
            except ValueError:
                raise ConfigError(
                    [f"{TODAY_ENV}={pretend!r} is not a day; write it as YYYY-MM-DD, or unset it"]
                ) from None
    now = now or datetime.now(UTC)
    return now.astimezone(definition.config.tz).date()


def _stored_form(definition: PoolDefinition) -> dict[str, Any]:
    data = definition.config.model_dump(mode="json")
    data["settings"] = definition.settings.model_dump(mode="json")
    return data


def create_pool(session: Session, definition: PoolDefinition, *, source: str = "<pool>") -> PoolRecord:
    """Store a new pool. A key already in use is a :class:`ConfigError` naming the key."""
    key = definition.config.key
    if session.scalar(select(Pool.id).where(Pool.key == key)) is not None:
        raise ConfigError(
            [
                f"{source}: key: a pool with key {key!r} already exists; choose another key "
                "('mutualaid pool list' shows the pools)"
            ]
        )
    row = Pool(
        key=key,
        name=definition.config.name,
        cohort=definition.cohort.key,
        currency=definition.config.currency,
        config_json=json.dumps(_stored_form(definition), ensure_ascii=False, sort_keys=True),
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return PoolRecord(id=row.id, created_at=row.created_at, definition=definition)


def get_pool(session: Session, plugins: Plugins, key: str) -> PoolRecord:
    """The pool ``key`` with its definition re-validated against its installed cohort."""
    row = session.scalar(select(Pool).where(Pool.key == key))
    if row is None:
        keys = session.scalars(select(Pool.key).order_by(Pool.key).limit(20)).all()
        hint = (
            f"existing pools: {', '.join(keys)}"
            if keys
            else "no pools exist yet; create one with 'mutualaid pool create FILE'"
        )
        raise NotFoundError(f"no pool {key!r} ({hint})")
    plugins.cohort(row.cohort)  # a clear error when the cohort's plugin is not installed
    definition = validate_pool(json.loads(row.config_json), plugins, source=f"pool {key!r} (stored)")
    return PoolRecord(id=row.id, created_at=row.created_at, definition=definition)


def lock_pool(session: Session, pool: PoolRecord) -> None:
    """Lock the pool's row until the transaction ends (FOR NO KEY UPDATE on PostgreSQL, see
    :data:`~mutualaid.db.engine.ROW_LOCK`; SQLite has one writer): sharing runs, settlements,
    payment and top-up imports of one pool go one at a time.

    A transaction that will post to the pool's ledger and also change its members locks the pool
    first: a sharing run holds this lock while it waits for the members table, so a transaction
    that changed a member before asking for this lock would wait for the run, and the run for it."""
    session.get(Pool, pool.id, with_for_update=ROW_LOCK)


def list_pools(session: Session) -> list[dict[str, Any]]:
    """Every pool with its cohort and live member count."""
    counts = (
        select(Member.pool_id, func.count().label("members"))
        .where(Member.ended_on.is_(None))
        .group_by(Member.pool_id)
        .subquery()
    )
    rows = session.execute(
        select(Pool.key, Pool.name, Pool.cohort, Pool.currency, Pool.created_at, counts.c.members)
        .outerjoin(counts, counts.c.pool_id == Pool.id)
        .order_by(Pool.key)
    ).all()
    return [
        {
            "key": r.key,
            "name": r.name,
            "cohort": r.cohort,
            "currency": r.currency,
            "members": int(r.members or 0),
            "created_at": r.created_at.isoformat() if r.created_at else None,
        }
        for r in rows
    ]
