"""Reading back a period's run: its figures, and its charges recounted from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import SharingRun
from ..db.runs import live_run
from ..errors import NotFoundError
from ..ledger.digests import charge_figures
from ..periods import Period, parse_period
from ..plugins import Plugins
from ..pools import PoolRecord, get_pool
from .result import Reconciliation, SharingResult, result_of

__all__ = ["get_run", "reconcile_run", "run_of", "run_reference"]


def get_run(session: Session, plugins: Plugins, pool_key: str, period_key: str) -> SharingResult:
    """The stored run of a period; a period not yet shared is a :class:`NotFoundError`."""
    pool = get_pool(session, plugins, pool_key)
    return run_of(session, pool, parse_period(period_key, pool.config))


def run_of(session: Session, pool: PoolRecord, period: Period) -> SharingResult:
    """The stored run of ``period`` of ``pool``; a period not yet shared is a :class:`NotFoundError`."""
    run = session.scalar(
        select(SharingRun).where(
            SharingRun.pool_id == pool.id, SharingRun.period == period.key, live_run(SharingRun.id)
        )
    )
    if run is None:
        voided = session.scalar(
            select(SharingRun.id)
            .where(SharingRun.pool_id == pool.id, SharingRun.period == period.key)
            .order_by(SharingRun.id.desc())
            .limit(1)
        )
        if voided is not None:
            raise NotFoundError(
                f"run #{voided} of period {period.key} of pool {pool.key!r} was voided and the period has not been "
                f"shared again; run 'mutualaid share run {pool.key} --period {period.key}'"
            )
        raise NotFoundError(
            f"period {period.key} of pool {pool.key!r} has not been shared; run 'mutualaid share run {pool.key} "
            f"--period {period.key}'"
        )
    return result_of(run, pool)


def run_reference(run: SharingRun | SharingResult) -> str:
    """What a run's notices are about in the send log: its period, or for a period shared again
    after a void, the period and the run (``2027-12/run-7``), so that its statements are sent anew."""
    run_id = run.id if isinstance(run, SharingRun) else run.run_id
    return run.period if not run.attempt else f"{run.period}/run-{run_id}"


def reconcile_run(session: Session, plugins: Plugins, pool_key: str, period_key: str) -> Reconciliation:
    """Recount a period's charges from the database and check them against the run's figures."""
    run = get_run(session, plugins, pool_key, period_key)
    figures = charge_figures(session, run.run_id)
    return Reconciliation(
        run=run, charge_rows=figures.rows, charge_total_minor=figures.total, charge_digest=figures.digest
    )
