"""Which sharing runs count: a run voided before its deduction day (``sharing_run_voids``) keeps its
row and its charges as history, but counts nowhere -- not in a member's year so far, the caps, the
rotation of extra minor units, the surplus carried, the payments due, a statement, nor the books.
Every query that reads runs or charges for what they mean now keeps to :func:`live_run`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select

from .models import SharingRunVoid

__all__ = ["live_run", "voided_run"]


def voided_run(run_id: Any) -> ColumnElement[bool]:
    """SQL: the run numbered ``run_id`` (a column or a value) was voided."""
    return select(SharingRunVoid.run_id).where(SharingRunVoid.run_id == run_id).exists()


def live_run(run_id: Any) -> ColumnElement[bool]:
    """SQL: the run numbered ``run_id`` (a column or a value) was not voided: it counts."""
    return ~voided_run(run_id)
