"""The Python API: :class:`MutualAid`, the same verbs as the command line, one transaction each.

>>> app = MutualAid("sqlite:///pools.db")            # doctest: +SKIP
>>> app.create_pool("pool.toml")                      # doctest: +SKIP
>>> app.join("jiangsu-truckers", id_number=..., name=..., birth_date=..., attributes={...})  # doctest: +SKIP
>>> app.share("jiangsu-truckers", "2026-11")          # doctest: +SKIP

For several operations in one transaction, use :meth:`MutualAid.transaction` and the service
modules (``mutualaid.members``, ``mutualaid.claims``, ``mutualaid.sharing`` ...), which take the
session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from . import claims as _claims
from . import ledger as _ledger
from . import members as _members
from . import notices as _notices
from . import payments as _payments
from . import pools as _pools
from . import sharing as _sharing
from .cohort import BenefitDecision
from .config import PoolDefinition, load_pool_file, validate_pool
from .database import make_engine, transaction, upgrade
from .errors import ValidationError
from .fields import parse_date
from .money import to_minor
from .plugins import Plugins, load_plugins

__all__ = ["MutualAid"]


class MutualAid:
    """An operator's handle on one database and the installed plugins.

    :param database_url: any SQLAlchemy URL; default ``MUTUALAID_DATABASE_URL`` or the SQLite file
        in the mutualaid home directory.
    :param plugins: an already loaded :class:`Plugins`; default: load the installed plugins.
    :param auto_upgrade: bring the schema up to date on first use (Alembic migrations).
    """

    def __init__(
        self, database_url: str | None = None, *, plugins: Plugins | None = None, auto_upgrade: bool = True
    ) -> None:
        self._url = database_url
        self._plugins = plugins
        self._engine: Engine | None = None
        self._auto_upgrade = auto_upgrade

    @property
    def plugins(self) -> Plugins:
        if self._plugins is None:
            self._plugins = load_plugins()
        return self._plugins

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            engine = make_engine(self._url)
            if self._auto_upgrade:
                upgrade(engine)
            self._engine = engine
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed if the block succeeds, rolled back if it raises."""
        with transaction(self.engine) as session:
            yield session

    # -- pools -----------------------------------------------------------------------------------

    def load_pool(self, source: str | Path | Mapping[str, Any]) -> PoolDefinition:
        """Validate a pool file (or mapping) without storing it."""
        if isinstance(source, Mapping):
            return validate_pool(dict(source), self.plugins)
        return load_pool_file(source, self.plugins)

    def create_pool(self, source: str | Path | Mapping[str, Any]) -> _pools.PoolRecord:
        """Validate and store a new pool from a TOML file or a mapping."""
        definition = self.load_pool(source)
        name = str(source) if not isinstance(source, Mapping) else "<pool>"
        with self.transaction() as session:
            return _pools.create_pool(session, definition, source=name)

    def pool(self, key: str) -> _pools.PoolRecord:
        with self.transaction() as session:
            return _pools.get_pool(session, self.plugins, key)

    def pools(self) -> list[dict[str, Any]]:
        with self.transaction() as session:
            return _pools.list_pools(session)

    def today(self, pool: str) -> date:
        """Today's date in the pool's time zone (the default day of joining, exits and filing)."""
        return _pools.pool_today(self.pool(pool).definition)

    # -- members ---------------------------------------------------------------------------------

    def join(
        self,
        pool: str,
        *,
        id_number: str,
        name: str,
        birth_date: str | date,
        attributes: Mapping[str, Any] | None = None,
        joined_on: str | date | None = None,
    ) -> _members.MemberRecord:
        """Add a member after the cohort's eligibility checks (:class:`IneligibleError` lists every reason)."""
        with self.transaction() as session:
            return _members.join_member(
                session,
                self.plugins,
                pool,
                id_number=id_number,
                name=name,
                birth_date=birth_date,
                attributes=attributes,
                joined_on=joined_on,
            )

    def import_members(self, pool: str, path: str | Path, **options: Any) -> _members.ImportResult:
        """Import a CSV of members, all or nothing unless ``skip_invalid=True``."""
        with self.transaction() as session:
            return _members.import_members(session, self.plugins, pool, path, **options)

    def members(self, pool: str, **options: Any) -> list[_members.MemberRecord]:
        with self.transaction() as session:
            return list(_members.list_members(session, self.plugins, pool, **options))

    def member(self, pool: str, member: int | str) -> _members.MemberRecord:
        with self.transaction() as session:
            return _members.get_member(session, _pools.get_pool(session, self.plugins, pool), member)

    def update_member(self, pool: str, member: int | str, attributes: Mapping[str, Any]) -> _members.MemberUpdate:
        """Change some of a live member's cohort attributes; the whole set is validated again, eligibility
        is not (:class:`ValidationError` lists every problem). The result lists each change as ``(old, new)``."""
        with self.transaction() as session:
            return _members.update_member(session, self.plugins, pool, member, attributes)

    def exit_member(self, pool: str, member: int | str, on: str | date | None = None) -> _members.MemberRecord:
        """Record that a member leaves the pool on ``on`` (default: today in the pool's time zone).

        The member still shares every period whose notice day is on or before ``on`` (its cases were
        already in public notice), and no later one.
        """
        with self.transaction() as session:
            return _members.end_membership(session, self.plugins, pool, member, status="exited", on=on)

    def record_death(self, pool: str, member: int | str, on: str | date) -> _members.MemberRecord:
        """Record that a member died on ``on``: the membership ends that day, as for an exit.

        A death claim the cohort decides records the death by itself when it is approved, or rejected as
        not payable; use this when there is no such claim.
        """
        with self.transaction() as session:
            return _members.end_membership(session, self.plugins, pool, member, status="deceased", on=on)

    # -- claims ----------------------------------------------------------------------------------

    def file_claim(self, pool: str, member: int | str, **fields: Any) -> _claims.ClaimRecord:
        """File a claim (``event_kind``, ``event_date``, ``details``, ``description``)."""
        with self.transaction() as session:
            return _claims.file_claim(session, self.plugins, pool, member, **fields)

    def review_claim(self, claim_id: int) -> tuple[_claims.ClaimRecord, BenefitDecision]:
        with self.transaction() as session:
            return _claims.review_claim(session, self.plugins, claim_id)

    def approve_claim(self, claim_id: int) -> tuple[_claims.ClaimRecord, BenefitDecision]:
        with self.transaction() as session:
            return _claims.approve_claim(session, self.plugins, claim_id)

    def reject_claim(self, claim_id: int, reason: str) -> _claims.Rejection:
        """Reject a filed claim with a reason. A death the cohort does not pay for still ends the membership
        (``Rejection.member_ended``); a claim the cohort found payable leaves the member as they are."""
        with self.transaction() as session:
            return _claims.reject_claim(session, self.plugins, claim_id, reason)

    def claims(self, pool: str, *, status: str | None = None) -> list[_claims.ClaimRecord]:
        with self.transaction() as session:
            return _claims.list_claims(session, self.plugins, pool, status=status)

    # -- sharing and notices ---------------------------------------------------------------------

    def share(self, pool: str, period: str) -> _sharing.SharingResult:
        """Run a period's sharing: atomic, and refused if the period was already shared."""
        with self.transaction() as session:
            return _sharing.run_sharing(session, self.plugins, pool, period)

    def sharing_run(self, pool: str, period: str) -> _sharing.SharingResult:
        with self.transaction() as session:
            return _sharing.get_run(session, self.plugins, pool, period)

    def reconcile(self, pool: str, period: str) -> _sharing.Reconciliation:
        """Recount a period's charges from the database and check them against its run."""
        with self.transaction() as session:
            return _sharing.reconcile_run(session, self.plugins, pool, period)

    # -- the ledger -------------------------------------------------------------------------------

    def verify_ledger(self, pool: str) -> _ledger.VerifyReport:
        """Recheck a pool's hash chain from the first entry and recount every run's charges."""
        with self.transaction() as session:
            return _ledger.verify_ledger(session, _pools.get_pool(session, self.plugins, pool).id)

    def backfill_ledger(self, pool: str) -> list[str]:
        """Post the entries of runs shared before the ledger existed; returns their periods."""
        with self.transaction() as session:
            return _sharing.backfill_ledger(session, self.plugins, pool)

    def ledger_balances(self, pool: str) -> dict[str, int]:
        """Each ledger account's balance in minor units (debit-positive)."""
        with self.transaction() as session:
            return _ledger.account_balances(session, _pools.get_pool(session, self.plugins, pool).id)

    def reconcile_books(self, pool: str) -> _ledger.BooksReport:
        """Prove a pool's books balance, account by account, against its records."""
        with self.transaction() as session:
            return _ledger.reconcile_books(session, _pools.get_pool(session, self.plugins, pool).id)

    def ledger_entries(
        self, pool: str, *, kind: str | None = None, limit: int | None = None
    ) -> list[_ledger.EntryRecord]:
        with self.transaction() as session:
            pool_id = _pools.get_pool(session, self.plugins, pool).id
            return _ledger.list_entries(session, pool_id, kind=kind, limit=limit)

    def adjust(
        self, pool: str, *, debit: Mapping[str, Any], credit: Mapping[str, Any], memo: str, on: str | date | None = None
    ) -> _ledger.EntryRecord:
        """Post an operator's adjustment: ``debit``/``credit`` map accounts to amounts in the pool's
        currency (a benefit paid out: ``debit={"aid_payable": 300000}, credit={"cash": 300000}``)."""
        with self.transaction() as session:
            record = _pools.get_pool(session, self.plugins, pool)
            problems: list[str] = []
            day = _pools.pool_today(record.definition)
            if on is not None:
                try:
                    day = parse_date(on, "the adjustment's day")
                except ValueError as exc:
                    problems.append(f"--on: {exc}")
            lines = []
            for sign, side in ((1, debit), (-1, credit)):
                for account, amount in side.items():
                    try:
                        minor = to_minor(amount, record.currency)
                    except (ValueError, ArithmeticError) as exc:
                        problems.append(f"{account}: {exc}")
                        continue
                    if minor <= 0:
                        problems.append(f"{account}: amounts must be above 0 ({amount} given)")
                    elif account not in _ledger.ACCOUNTS:
                        problems.append(f"{account}: no such account; the accounts are {', '.join(_ledger.ACCOUNTS)}")
                    else:
                        lines.append(_ledger.Line(account, sign * minor))
            if problems:
                raise ValidationError(problems)
            _ledger.post_adjustment(session, record.id, lines=lines, memo=memo, posted_on=day)
            return _ledger.list_entries(session, record.id, limit=1)[-1]

    def reverse_entry(self, pool: str, entry_seq: int, reason: str) -> _ledger.EntryRecord:
        """Correct an adjustment by posting its exact opposite."""
        with self.transaction() as session:
            record = _pools.get_pool(session, self.plugins, pool)
            _ledger.reverse_entry(
                session, record.id, entry_seq, memo=reason, posted_on=_pools.pool_today(record.definition)
            )
            return _ledger.list_entries(session, record.id, limit=1)[-1]

    def render_statements(self, pool: str, period: str, out_dir: str | Path, **options: Any) -> _notices.RenderResult:
        with self.transaction() as session:
            return _notices.render_statements(session, self.plugins, pool, period, out_dir, **options)

    def render_welcome(self, pool: str, out_dir: str | Path, **options: Any) -> _notices.RenderResult:
        with self.transaction() as session:
            return _notices.render_welcome(session, self.plugins, pool, out_dir, **options)

    # -- payments and balances ---------------------------------------------------------------------

    def import_payments(self, pool: str, path: str | Path) -> _payments.PaymentImport:
        """Import a postpaid pool's payment results (``member_id,period,result,date[,amount]``), all or
        nothing; the same file is imported once."""
        with self.transaction() as session:
            return _payments.import_payments(session, self.plugins, pool, path)

    def settle_payments(self, pool: str, on: str | date | None = None) -> list[_payments.Settlement]:
        """Settle the postpaid runs whose retry window closed before ``on`` (default: today in the pool's
        time zone): the shares whose collection failed and was never paid are written off and their
        members lapse; a share with no result reported stays due. A day in the future is refused (it
        would lapse members whose window is still open)."""
        with self.transaction() as session:
            record = _pools.get_pool(session, self.plugins, pool)
            today = _pools.pool_today(record.definition)
            try:
                day = parse_date(on, "the settling day") if on is not None else today
            except ValueError as exc:
                raise ValidationError([str(exc)]) from None
            if day > today:
                raise ValidationError(
                    [
                        f"the settling day {day.isoformat()} is in the future (today is {today.isoformat()} in the "
                        "pool's time zone); settling early would lapse members whose retry window is still open"
                    ]
                )
            return _payments.settle_payments(session, self.plugins, record, day)

    def payments(
        self, pool: str, period: str, *, unpaid: bool = False, limit: int | None = None
    ) -> list[_payments.PaymentStatus]:
        """Each share of a postpaid period and what became of it (``unpaid=True``: only those not paid)."""
        with self.transaction() as session:
            return list(_payments.list_payments(session, self.plugins, pool, period, unpaid=unpaid, limit=limit))

    def top_up(
        self,
        pool: str,
        member: int | str,
        amount: Decimal | str | int,
        on: str | date | None = None,
        reference: str = "",
    ) -> _payments.TopUpRecord:
        """Record a prepaid member's top-up received on ``on`` (default: today in the pool's time zone);
        a frozen member whose balance reaches the pool's ``low_balance`` is unfrozen."""
        with self.transaction() as session:
            if on is None:
                on = _pools.pool_today(_pools.get_pool(session, self.plugins, pool).definition)
            return _payments.top_up(session, self.plugins, pool, member, amount, on, reference)

    def import_top_ups(self, pool: str, path: str | Path) -> _payments.TopUpImport:
        """Import a prepaid pool's top-ups (``member_id,amount,date,reference``), all or nothing."""
        with self.transaction() as session:
            return _payments.import_top_ups(session, self.plugins, pool, path)

    def balance(self, pool: str, member: int | str) -> _payments.BalanceRecord:
        """A prepaid member's balance, frozen or not, with their top-ups, deductions and frozen spans."""
        with self.transaction() as session:
            return _payments.balance(session, self.plugins, pool, member)

    def low_balances(
        self, pool: str, threshold: Decimal | str | int | None = None, *, limit: int | None = None
    ) -> list[_payments.LowBalance]:
        """The live members of a prepaid pool whose balance is below ``threshold`` (default: the pool's
        ``low_balance``)."""
        with self.transaction() as session:
            record = _pools.get_pool(session, self.plugins, pool)
            return list(_payments.low_balance_members(session, record, threshold, limit=limit))

    def render_low_balance(self, pool: str, out_dir: str | Path, **options: Any) -> _notices.RenderResult:
        """Render low-balance reminders of a prepaid pool (default: every member below the threshold)."""
        with self.transaction() as session:
            return _notices.render_low_balance(session, self.plugins, pool, out_dir, **options)
