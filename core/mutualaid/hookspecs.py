"""The hooks a mutualaid plugin may implement.

Plugins are found through the ``mutualaid`` entry-point group and registered with pluggy. Every
implementation of a hook is called, last registered first, so no hook here answers "how much":
money and eligibility decisions belong to the pool's own cohort (its :class:`~mutualaid.CohortRules`),
which a plugin registers through :func:`register_cohorts`. The other hooks combine naturally.

Implementations may accept fewer arguments than a spec lists; the core calls hooks with keyword
arguments only, so specs can grow without breaking plugins.

Sections: registration hooks, per-operation hooks, observers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from decimal import Decimal

    import click

    from .cohort import Applicant, BenefitDecision, Cohort
    from .config import PoolConfig
    from .health.incidence import IncidenceTable
    from .periods import Period
    from .sharing.result import SharingResult

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("mutualaid")
hookimpl = pluggy.HookimplMarker("mutualaid")


# -- registration hooks -------------------------------------------------------------------------


@hookspec
def register_cohorts(register: Callable[[Cohort], None]) -> None:
    """Register the cohorts this plugin provides.

    Runs once when the plugin manager is built. Call ``register(cohort)`` for each
    :class:`~mutualaid.Cohort`. A cohort key already registered by another plugin is an error
    naming both plugins. If the hook raises, or registers something that is not a ``Cohort``,
    none of the plugin's cohorts are kept and the plugin is skipped with a warning (an error when
    ``MUTUALAID_STRICT_PLUGINS=1``).

    :param register: callback taking one :class:`~mutualaid.Cohort`.
    :returns: nothing; every implementation is called and all registrations are kept.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``mutualaid`` command line.

    Runs when the CLI starts, before arguments are parsed.

    :param cli: the top-level click group; call ``cli.add_command(...)`` or use ``@cli.command()``.
    :returns: nothing; every implementation is called.
    """


@hookspec
def register_incidence(register: Callable[[str, Callable[[Any], IncidenceTable | None]], None]) -> None:
    """Supply the prior incidence of a cohort's events: how often each happens, by age.

    Runs when a pool's expected cost, forecast or public site is worked out. Call
    ``register(cohort_key, rates)`` for each of the plugin's cohorts that has priors: ``rates`` is
    called with the pool's validated cohort settings and returns an
    :class:`~mutualaid.IncidenceTable` (per event kind, age bands with an annual probability per
    member, the benefit model the event pays by, and the source of the figures), or ``None`` when
    the pool gives none (a patients' society whose file has no incidence table). The core blends
    the priors with the pool's own claims (credibility, see docs/honest-cost.md). A cohort key
    registered twice is an error naming both plugins, as is an event kind the cohort does not have.

    :param register: callback taking a cohort key and a function of the pool's settings.
    :returns: nothing; every implementation is called and all registrations are kept (one per cohort).
    """


# -- per-operation hooks ------------------------------------------------------------------------


@hookspec
def eligibility_problems(pool: PoolConfig, applicant: Applicant) -> list[str] | None:
    """Give extra reasons an applicant may not join a pool (a KYC or sanctions check, say).

    Runs at every join and for every imported row, after the core's own checks and together
    with the pool's cohort rules.

    :param pool: the validated configuration of the pool being joined.
    :param applicant: the applicant, with the cohort's attributes validated.
    :returns: whole-sentence problems, or ``None``/empty when there are none; the problems of
        every implementation are concatenated with the cohort's.
    """


@hookspec
def notice_context(pool: PoolConfig, kind: str, locale: str) -> Mapping[str, Any] | None:
    """Add values to the template context of every notice of one kind in a pool.

    Runs once per rendering batch (not per member), before any notice is rendered.

    :param pool: the pool the notices are for.
    :param kind: the notice kind, e.g. ``"statement"`` or ``"welcome"``.
    :param locale: ``"zh-CN"`` or ``"en"``.
    :returns: a mapping merged into the context; implementations are merged in call order and a
        key already set by the core or by an earlier plugin is an error.
    """


@hookspec
def register_notice_kinds(register: Callable[[Any], None]) -> None:
    """Add kinds of notice of the plugin's own.

    Runs each time notices are rendered or sent. A kind's templates
    (``<locale>/<template>.txt.j2`` and ``.html.j2``) go in the cohort's ``templates`` directory.
    A kind cannot take the name of one of the core's kinds or of another plugin's (a plugin error).

    :param register: callback taking one :class:`mutualaid.notices.NoticeSpec` per kind.
    :returns: nothing; every implementation is called and all registrations are kept.
    """


# -- observers ----------------------------------------------------------------------------------


@hookspec
def member_joined(pool: PoolConfig, member_id: int, applicant: Applicant) -> None:
    """Observe a member joining, inside the joining transaction (raise to refuse and roll back).

    Runs for every member a join or an import adds (an import writes its rows in bulk, then calls
    the hook once per member it added, only when a plugin implements it).

    :param pool: the pool joined.
    :param member_id: the new member's number.
    :param applicant: the applicant as validated.
    :returns: nothing; every implementation is called.
    """


@hookspec
def member_ended(pool: PoolConfig, member_id: int, status: str, on: date) -> None:
    """Observe a membership ending: an exit, a death, or a lapse.

    A death is recorded by the operator or by the member's claim; a lapse by the settlement of a
    postpaid retry window in which the member's share failed and was not paid. Runs inside the transaction that ends it (raise to refuse and roll back); a settlement that
    lapses many members calls it once per member, only when a plugin implements it.

    :param pool: the pool left.
    :param member_id: the member's number.
    :param status: ``"exited"``, ``"deceased"`` or ``"lapsed"``.
    :param on: the last day of the membership; the member shares no period whose notice day is later.
    :returns: nothing; every implementation is called.
    """


@hookspec
def member_frozen(pool: PoolConfig, member_id: int, on: date, cause: str) -> None:
    """Observe a prepaid member being frozen (their balance cannot cover their share).

    The member does not share the period, and events from ``on`` are not covered until a top-up
    brings the balance back to the pool's ``[payments] low_balance``. Runs inside the sharing run's transaction (raise to refuse and roll the run back), once per
    member frozen, only when a plugin implements it.

    :param pool: the pool.
    :param member_id: the member's number.
    :param on: the first day the member is frozen (the period's notice day).
    :param cause: why, in words (the period and run).
    :returns: nothing; every implementation is called.
    """


@hookspec
def member_unfrozen(pool: PoolConfig, member_id: int, on: date) -> None:
    """Observe a frozen member covered again (a top-up reached the pool's ``low_balance``).

    Runs inside the top-up's transaction (raise to refuse and roll back), once per member.

    :param pool: the pool.
    :param member_id: the member's number.
    :param on: the first day the member is covered again (the day of the top-up).
    :returns: nothing; every implementation is called.
    """


@hookspec
def claim_decided(pool: PoolConfig, claim_id: int, decision: BenefitDecision, approved: bool) -> None:
    """Observe a claim being approved or rejected, inside the deciding transaction.

    :param pool: the pool of the claim.
    :param claim_id: the claim's number.
    :param decision: the cohort's decision (for a rejection by the operator it may be payable).
    :param approved: whether the claim was approved.
    :returns: nothing; every implementation is called.
    """


@hookspec
def sharing_completed(pool: PoolConfig, result: SharingResult) -> None:
    """Observe a sharing run once its charges are written, inside the run's transaction.

    :param pool: the pool shared.
    :param result: the run's figures (members, aid, fee, surpluses, charges).
    :returns: nothing; every implementation is called.
    """


@hookspec
def balances_low(pool: PoolConfig, period: Period, count: int, threshold: Decimal) -> None:
    """Observe that members' prepaid balances are low after a sharing run's deductions.

    Runs once per prepaid run (not per member), inside the run's transaction, when at least one
    live member's balance is below the pool's ``[payments] low_balance``; a plugin may queue the
    reminders (``mutualaid balance low POOL`` lists the members, ``mutualaid balance notify``
    renders their notices). Raise to refuse and roll the run back.

    :param pool: the pool whose shares were deducted.
    :param period: the period the run shared.
    :param count: how many live (active or frozen) members are below the threshold.
    :param threshold: the pool's ``[payments] low_balance``, in major units of its currency.
    :returns: nothing; every implementation is called.
    """
