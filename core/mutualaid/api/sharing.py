"""The API's verbs of sharing: run a period (with the steps around it), show one, plan one."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..vocabulary import PaymentModel
from .application import Application

if TYPE_CHECKING:
    from ..sharing import Reconciliation, RunVoid, SharingResult

__all__ = ["SharingVerbs"]


class SharingVerbs(Application):
    """Sharing: running periods, reading and reconciling them, planning one from its inputs."""

    def share(self, pool: str, period: str) -> SharingResult:
        """Run a period's sharing: atomic, and refused if the period was already shared.

        The steps, in one transaction: a postpaid pool's retry windows that closed before the notice
        day are settled (their unpaid members lapse, ``result.settlements``); the run locks the pool,
        refuses a period already shared or out of order (rolling the settlement back with it) and
        charges the members covered at the cut-off (in a prepaid pool, those whose balance covers
        their share; the others are frozen); a prepaid pool's
        balances are deducted and low balances reported (``balances_low``); then the
        ``sharing_completed`` hook is called.
        """
        from .. import payments, pools, sharing
        from ..periods import parse_period

        plugins = self.plugins
        with self.transaction() as session:
            record = pools.get_pool(session, plugins, pool)
            shared = parse_period(period, record.config)
            settled = payments.settle_payments(session, plugins, record, shared.notice_date)
            prepaid = record.config.payments.model == PaymentModel.PREPAID
            result = sharing.run_sharing(session, plugins, record, shared, covers=payments.covers if prepaid else None)
            if prepaid and result.charge_rows:
                payments.deduct(session, result.run_id)
            if prepaid:
                payments.after_deduction(session, plugins, record, shared)
            result = replace(result, settlements=tuple(settled))
            plugins.hook.sharing_completed(pool=record.config, result=result)
            return result

    def void_run(self, pool: str, period: str, *, reason: str, by: str | None = None) -> RunVoid:
        """Void a period's sharing run before its deduction day, in one transaction: the exact
        reversal of its ledger entry, its claims approved again for the next run, a prepaid pool's
        members unfrozen where the run froze them and their charges given back to their balances;
        the run and its charges are kept as history and count nowhere; the period can be shared
        again. Refused after the deduction day, once a payment against the run was recorded, or
        when a later period was shared after it. ``result.statements_sent`` counts the members
        whose statement had gone out: tell them with the ``run-voided`` notice."""
        from .. import payments, pools, sharing
        from ..periods import parse_period

        plugins = self.plugins
        with self.transaction() as session:
            record = pools.get_pool(session, plugins, pool)
            voided = sharing.void_run(
                session, plugins, record, parse_period(period, record.config), reason=reason, by=by
            )
            if voided.payment_model == PaymentModel.PREPAID and voided.charge_rows:
                refunded = payments.give_back(session, voided.run_id)
                voided = replace(voided, refunded_minor=refunded)
            return voided

    def period_runs(self, pool: str, period: str) -> tuple[SharingResult | None, list[RunVoid]]:
        """A period's run that counts (``None`` if it has none now) and its voided runs, oldest first
        (a period never shared is a :class:`NotFoundError`)."""
        from .. import pools, sharing
        from ..errors import NotFoundError
        from ..periods import parse_period

        with self.reading() as session:
            record = pools.get_pool(session, self.plugins, pool)
            shared = parse_period(period, record.config)
            voided = sharing.voids_of(session, record, shared)
            try:
                return sharing.run_of(session, record, shared), voided
            except NotFoundError:
                if voided:
                    return None, voided
                raise

    def sharing_run(self, pool: str, period: str) -> SharingResult:
        """The stored run of a period (a period not yet shared is a :class:`NotFoundError`)."""
        from .. import sharing

        with self.reading() as session:
            return sharing.get_run(session, self.plugins, pool, period)

    def reconcile(self, pool: str, period: str) -> Reconciliation:
        """Recount a period's charges from the database and check them against its run."""
        from .. import sharing

        with self.reading() as session:
            return sharing.reconcile_run(session, self.plugins, pool, period)

    def plan_period(
        self,
        *,
        aid: str | Decimal,
        members: int,
        claims: int = 1,
        surplus_in: str | Decimal = "0",
        pool_file: str | Path | None = None,
        fee_rate: str | Decimal | None = None,
        rounding: str | None = None,
        currency: str | None = None,
    ) -> SharingResult:
        """A period's figures worked out from its inputs alone, with no database: to reproduce a
        published period (aid amount, members sharing, surplus carried in) or to see what one would
        cost. The sharing settings come from ``pool_file`` when given, else the defaults;
        ``fee_rate`` and ``rounding`` override them."""
        from ..config import SharingConfig, load_pool_file
        from ..money import currency_exponent
        from ..sharing.what_if import plan_period

        if currency is not None:
            try:
                currency_exponent(currency)
            except ValueError as exc:  # one line, rather than one for each amount given in it
                raise ValidationError([f"--currency: {exc}"]) from None
        settings = SharingConfig()
        if pool_file is not None:
            definition = load_pool_file(pool_file, self.plugins)
            settings = definition.config.sharing
            currency = currency or definition.config.currency
        return plan_period(
            settings,
            currency or "CNY",
            aid=aid,
            members=members,
            claims=claims,
            surplus_in=surplus_in,
            fee_rate=fee_rate,
            rounding=rounding,
        )
