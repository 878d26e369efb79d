"""The database: typed models, engines and sessions, bulk writes, and the schema's migrations.

Everything that knows SQLAlchemy's engine and Alembic lives here; the domain packages write their
own SQL against :mod:`mutualaid.db.models`.
"""

from __future__ import annotations

from .bulk import bulk_insert
from .engine import default_database_url, make_engine, reading, scratch_database, transaction
from .schema import check, create, current_revision, head_revision, schema_status, upgrade

__all__ = [
    "bulk_insert",
    "check",
    "create",
    "current_revision",
    "default_database_url",
    "head_revision",
    "make_engine",
    "reading",
    "schema_status",
    "scratch_database",
    "transaction",
    "upgrade",
]
