"""The API's verbs of payments: postpaid results and settlements, prepaid top-ups and balances."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..fields import parse_date
from .application import Application

if TYPE_CHECKING:
    from ..payments import (
        BalanceRecord,
        LowBalance,
        PaymentImport,
        PaymentStatus,
        Settlement,
        TopUpImport,
        TopUpRecord,
        TopUpReversalRecord,
    )

__all__ = ["PaymentVerbs"]


class PaymentVerbs(Application):
    """Payments: what members paid, and what their balances hold."""

    def import_payments(self, pool: str, path: str | Path) -> PaymentImport:
        """Import a postpaid pool's payment results (``member_id,period,result,date[,amount]``), all or
        nothing; the same file is imported once."""
        from .. import payments

        with self.transaction() as session:
            return payments.import_payments(session, self.plugins, pool, path)

    def settle_payments(self, pool: str, on: str | date | None = None) -> list[Settlement]:
        """Settle the postpaid runs whose retry window closed before ``on`` (default: today in the pool's
        time zone): the shares whose collection failed and was never paid are written off and their
        members lapse; a share with no result reported stays due. A day in the future is refused (it
        would lapse members whose window is still open)."""
        from .. import payments, pools

        with self.transaction() as session:
            record = pools.get_pool(session, self.plugins, pool)
            today = pools.pool_today(record.definition)
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
            return payments.settle_payments(session, self.plugins, record, day)

    def payments(
        self, pool: str, period: str, *, unpaid: bool = False, limit: int | None = None
    ) -> list[PaymentStatus]:
        """Each share of a postpaid period and what became of it (``unpaid=True``: only those not paid)."""
        from .. import payments

        with self.reading() as session:
            return list(payments.list_payments(session, self.plugins, pool, period, unpaid=unpaid, limit=limit))

    def iter_payments(
        self, pool: str, period: str, *, unpaid: bool = False, limit: int | None = None, after: int | None = None
    ) -> Iterator[PaymentStatus]:
        """:meth:`payments` as it is read, for pools of any size: the shares after member number
        ``after`` (if given) in member order, read a page at a time in one read transaction that
        stays open until the iterator is exhausted or closed. Nothing is read, and no mistake
        raised, until the first share is asked for."""
        from .. import payments

        with self.reading() as session:
            yield from payments.list_payments(
                session, self.plugins, pool, period, unpaid=unpaid, limit=limit, after=after
            )

    def top_up(
        self,
        pool: str,
        member: int | str,
        amount: Decimal | str | int,
        on: str | date | None = None,
        reference: str = "",
    ) -> TopUpRecord:
        """Record a prepaid member's top-up received on ``on`` (default: today in the pool's time zone);
        a frozen member whose balance reaches the pool's ``low_balance`` is unfrozen."""
        from .. import payments, pools

        with self.transaction() as session:
            if on is None:
                on = pools.pool_today(pools.get_pool(session, self.plugins, pool).definition)
            return payments.top_up(session, self.plugins, pool, member, amount, on, reference)

    def import_top_ups(self, pool: str, path: str | Path) -> TopUpImport:
        """Import a prepaid pool's top-ups (``member_id,amount,date,reference``), all or nothing."""
        from .. import payments

        with self.transaction() as session:
            return payments.import_top_ups(session, self.plugins, pool, path)

    def reverse_top_up(self, pool: str, top_up: int, *, reason: str, by: str | None = None) -> TopUpReversalRecord:
        """Reverse a top-up recorded by mistake: a reversing entry, the member's balance reduced by its
        amount (refused if the member holds less now, or if it was already reversed); the top-up's
        row stays as it was, the reversal is its own record (``balance show`` lists it)."""
        from .. import payments

        with self.transaction() as session:
            return payments.reverse_top_up(session, self.plugins, pool, top_up, reason=reason, by=by)

    def balance(self, pool: str, member: int | str) -> BalanceRecord:
        """A prepaid member's balance, frozen or not, with their top-ups, deductions and frozen spans."""
        from .. import payments

        with self.reading() as session:
            return payments.balance(session, self.plugins, pool, member)

    def low_balances(
        self, pool: str, threshold: Decimal | str | int | None = None, *, limit: int | None = None
    ) -> list[LowBalance]:
        """The live members of a prepaid pool whose balance is below ``threshold`` (default: the pool's
        ``low_balance``)."""
        from .. import payments, pools

        with self.reading() as session:
            record = pools.get_pool(session, self.plugins, pool)
            return list(payments.low_balance_members(session, record, threshold, limit=limit))

    def iter_low_balances(
        self, pool: str, threshold: Decimal | str | int | None = None, *, limit: int | None = None
    ) -> Iterator[LowBalance]:
        """:meth:`low_balances` as they are read, for pools of any size (a new prepaid pool of
        millions has every member below the level): one query streamed in one read transaction that
        stays open until the iterator is exhausted or closed. Nothing is read, and no mistake
        raised, until the first member is asked for."""
        from .. import payments, pools

        with self.reading() as session:
            record = pools.get_pool(session, self.plugins, pool)
            yield from payments.low_balance_members(session, record, threshold, limit=limit)
