"""Sharing: what a period owes, and one charge per sharing member, exact to the minor unit.

``plan`` (pure arithmetic, used by ``share run`` and ``share plan`` alike), ``sharers`` (who
shares, in what order: SQL over the members), ``charges`` (the run's ``INSERT ... SELECT`` and its
checks), ``run`` (a run, start to end), ``posting`` (its ledger entry), ``result`` (what a run
gives back), ``lookup`` (reading a run back), ``void`` (voiding a run before its deduction day) and
``what_if`` (a period from its inputs alone).
"""

from __future__ import annotations

from .lookup import get_run, reconcile_run, run_of, run_reference
from .plan import Funding, SharingPlan, fund, plan_sharing, uniform_cap
from .posting import backfill_ledger
from .result import Reconciliation, SharingResult
from .run import open_period, run_sharing
from .sharers import sharing_members_condition
from .void import RunVoid, void_of, void_run, voids_of
from .what_if import plan_period

__all__ = [
    "Funding",
    "Reconciliation",
    "RunVoid",
    "SharingPlan",
    "SharingResult",
    "backfill_ledger",
    "fund",
    "get_run",
    "open_period",
    "plan_period",
    "plan_sharing",
    "reconcile_run",
    "run_of",
    "run_reference",
    "run_sharing",
    "sharing_members_condition",
    "uniform_cap",
    "void_of",
    "void_run",
    "voids_of",
]
