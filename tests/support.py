"""Helpers the tests share beyond fixtures (importable as ``support``: pytest puts ``tests/`` on the path)."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import event, text

from mutualaid import BenefitDecision, Cohort, CohortRules, EventKind, Plugins, hookimpl, load_plugins
from mutualaid.cohort import SharingWeights

__all__ = [
    "WEIGHTED_COHORT",
    "drop_ledger_guards",
    "plain_id_number",
    "restore_ledger_guards",
    "rolled_back",
    "statements_run",
    "weighted_plugins",
]


class _RolledBack(Exception):
    """Carries what :func:`rolled_back`'s work returned out of its transaction."""

    def __init__(self, value: Any) -> None:
        self.value = value


def rolled_back(app: Any, work: Callable[[Any], Any]) -> Any:
    """What ``work`` returns from a session of a transaction of ``app``'s own, which is then rolled
    back: nothing it wrote is kept, so one state can be tried many ways."""
    try:
        with app.transaction() as session:
            raise _RolledBack(work(session))
    except _RolledBack as done:
        return done.value


def statements_run(
    engine: Any, action: Callable[[], Any], keep: Callable[[str], bool] = lambda statement: True
) -> tuple[Any, list[tuple[str, Any]]]:
    """What ``action`` returns, and the statements it ran through ``engine`` (with their
    parameters) that ``keep`` accepts; the driver's own cursors (a digest's) are not seen."""
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if keep(statement):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        return action(), seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


class _WeightedSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weights: list[tuple[int, int]] = [(0, 1), (40, 2)]


class _NeedDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Decimal


class _WeightedRules(CohortRules[_WeightedSettings]):
    """Anyone may join; a claim pays the amount it asks for; members from 40 weigh 2 when the pool
    shares by weight (to test the engine, not a cohort)."""

    def eligibility_problems(self, applicant, settings):  # type: ignore[no-untyped-def]
        return []

    def decide_benefit(self, claim, settings):  # type: ignore[no-untyped-def]
        return BenefitDecision.pay(claim.details.amount, cap=claim.details.amount, reasons=["test benefit"])

    def sharing_weights(self, settings):  # type: ignore[no-untyped-def]
        return SharingWeights(tuple(settings.weights))


#: The engine tests' cohort: key ``weighted-test``, one event kind ``need`` with an ``amount``.
WEIGHTED_COHORT = Cohort(
    key="weighted-test",
    title="Weighted test cohort",
    settings_model=_WeightedSettings,
    rules=_WeightedRules(),
    event_kinds=(EventKind("need", "A need"),),
    claim_model=_NeedDetails,
)


def weighted_plugins() -> Plugins:
    """The plugins with only the engine tests' cohort registered (no entry points)."""
    module = types.ModuleType("weighted_test_plugin")

    @hookimpl
    def register_cohorts(register):  # type: ignore[no-untyped-def]
        register(WEIGHTED_COHORT)

    module.register_cohorts = register_cohorts  # type: ignore[attr-defined]
    sys.modules.setdefault(module.__name__, module)
    return load_plugins(entry_points=False, extra=[("weighted-test", module)], strict=True)


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


_REFUSAL = "ledger entries are append-only: post a reversing entry instead of changing or deleting one"


def restore_ledger_guards(conn: Any) -> None:
    """Make the triggers of migration 0003 again after :func:`drop_ledger_guards`: on PostgreSQL the
    tests share one database, so a test that dropped them puts them back before it commits."""
    for table in ("ledger_entries", "ledger_lines"):
        if conn.dialect.name == "sqlite":
            for action in ("UPDATE", "DELETE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER IF NOT EXISTS {table}_append_only_{action.lower()} BEFORE {action} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
                    )
                )
        else:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"))
            conn.execute(
                text(
                    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION mutualaid_ledger_append_only()"
                )
            )


def plain_id_number(pool_id: int, cipher: str) -> str | None:
    """A member's stored ID number (``members.id_cipher``) decrypted with the test run's key, to
    compare what was stored with what was given (``None``: it does not decrypt)."""
    from mutualaid.keys import load_key

    keys = load_key()
    assert keys is not None, "the test run's key file is missing"
    return keys.decrypt(pool_id, cipher)
