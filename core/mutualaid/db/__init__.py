"""The database: typed models, engines and sessions, bulk writes, and the schema's migrations.

Everything that knows SQLAlchemy's engine and Alembic lives here; the domain packages write their
own SQL against :mod:`mutualaid.db.models`.
"""

from __future__ import annotations

from .bulk import bulk_insert
from .engine import default_database_url, make_engine, scratch_database, transaction
from .schema import current_revision, head_revision, upgrade

__all__ = [
    "bulk_insert",
    "current_revision",
    "default_database_url",
    "head_revision",
    "make_engine",
    "scratch_database",
    "transaction",
    "upgrade",
]
