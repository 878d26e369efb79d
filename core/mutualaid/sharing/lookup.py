"""Reading back a period's run: its figures, and its charges recounted from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import SharingRun
from ..errors import NotFoundError
from ..ledger.verify import charge_figures
from ..periods import Period, parse_period
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool
from .result import Reconciliation, SharingResult, result_of

__all__ = ["get_run", "reconcile_run", "run_of"]


def get_run(session: Session, plugins: Plugins, pool_key: str, period_key: str) -> SharingResult:
    """The stored run of a period; a period not yet shared is a :class:`NotFoundError`."""
    pool = get_pool(session, plugins, pool_key)
    return run_of(session, pool, parse_period(period_key, pool.config))


def run_of(session: Session, pool: PoolRecord, period: Period) -> SharingResult:
    """The stored run of ``period`` of ``pool``; a period not yet shared is a :class:`NotFoundError`."""
    run = session.scalar(select(SharingRun).where(SharingRun.pool_id == pool.id, SharingRun.period == period.key))
    if run is None:
        raise NotFoundError(
            f"period {period.key} of pool {pool.key!r} has not been shared; run 'mutualaid share run {pool.key} "
            f"--period {period.key}'"
        )
    return result_of(run, pool)


def reconcile_run(session: Session, plugins: Plugins, pool_key: str, period_key: str) -> Reconciliation:
    """Recount a period's charges from the database and check them against the run's figures."""
    run = get_run(session, plugins, pool_key, period_key)
    rows, total, checksum = charge_figures(session, run.run_id)
    return Reconciliation(run=run, charge_rows=rows, charge_total_minor=total, charge_checksum=checksum)
