"""Helpers the tests share beyond fixtures (importable as ``support``: pytest puts ``tests/`` on the path)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

__all__ = ["drop_ledger_guards"]


def drop_ledger_guards(conn: Any) -> None:
    """Drop the triggers that make the ledger append-only (migration 0003), as the database's owner
    could: what the tests of tampering do before they edit or delete posted entries, to show that
    ``ledger verify`` still catches what the triggers no longer stop."""
    if conn.dialect.name == "sqlite":
        for table in ("ledger_entries", "ledger_lines"):
            for action in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only_{action}"))
    else:
        for table in ("ledger_entries", "ledger_lines"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"))
