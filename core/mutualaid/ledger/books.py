"""A pool's books against its records: each account's balance, and the proof that the books
balance account by account with the charges, payments, balances, claims and runs they summarise,
with no account past zero on the side it must never cross (cash below 0, say: :mod:`.limits`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..db.models import (
    Balance,
    Charge,
    Claim,
    ClaimCost,
    LedgerEntry,
    LedgerLine,
    Payment,
    SharingRun,
    TopUp,
    TopUpReversal,
)
from ..db.runs import live_run
from ..vocabulary import ADJUSTABLE_ACCOUNTS, Account, EntryKind, PaymentModel, PaymentResult
from .limits import overdrawn, why

__all__ = ["BooksCheck", "BooksReport", "account_balances", "reconcile_books"]


def account_balances(session: Session, pool_id: int) -> dict[str, int]:
    """Each account's balance (debit-positive), every account listed, from the lines."""
    rows = session.execute(
        select(LedgerLine.account, func.coalesce(func.sum(LedgerLine.amount_minor), 0))
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(LedgerEntry.pool_id == pool_id)
        .group_by(LedgerLine.account)
    ).all()
    balances: dict[str, int] = {account.value: 0 for account in Account}
    for account, total in rows:
        balances[account] = int(total)
    return balances


@dataclass(frozen=True, slots=True)
class BooksCheck:
    account: str
    ledger_minor: int
    records_minor: int
    what: str

    @property
    def ok(self) -> bool:
        return self.ledger_minor == self.records_minor


@dataclass(frozen=True, slots=True)
class BooksReport:
    """A pool's books checked against its records, account by account, to the minor unit."""

    balances: dict[str, int]
    checks: tuple[BooksCheck, ...]

    @property
    def total(self) -> int:
        return sum(self.balances.values())

    @property
    def overdrawn(self) -> dict[str, int]:
        """Accounts past zero on the side they must never cross (:mod:`.limits`): cash below 0, say."""
        return overdrawn(self.balances)

    def rule(self, account: str) -> str:
        """The side an account must keep, in words (for an account :attr:`overdrawn` lists)."""
        return why(account)

    @property
    def ok(self) -> bool:
        """The accounts sum to zero, each equals the records, and none is past zero."""
        return self.total == 0 and all(c.ok for c in self.checks) and not self.overdrawn


def _total(session: Session, query: Select[Any]) -> int:
    return int(session.scalar(query) or 0)


def _sum(column: Any) -> Any:
    return select(func.coalesce(func.sum(column), 0))


@dataclass(frozen=True, slots=True)
class _Records:
    """What the pool's own records say the accounts should hold (minor units)."""

    charged_postpaid: int
    paid: int
    written_off: int
    held: int
    funded: int
    refunds: int
    surplus_out: int
    topped_up: int
    investigated: int
    adjusted: dict[str, int]


def _records(session: Session, pool_id: int) -> _Records:
    # A voided run counts nowhere: its charges are not due and it carried no surplus out.
    postpaid_runs = select(SharingRun.id).where(
        SharingRun.pool_id == pool_id, SharingRun.payment_model == PaymentModel.POSTPAID, live_run(SharingRun.id)
    )
    last = session.scalar(
        select(SharingRun)
        .where(SharingRun.pool_id == pool_id, live_run(SharingRun.id))
        .order_by(SharingRun.notice_date.desc(), SharingRun.id.desc())
        .limit(1)
    )
    entry_lines = select(LedgerLine.account, func.coalesce(func.sum(LedgerLine.amount_minor), 0)).join(
        LedgerEntry, LedgerEntry.id == LedgerLine.entry_id
    )
    adjusted: dict[str, int] = {account.value: 0 for account in ADJUSTABLE_ACCOUNTS}
    for account, total in session.execute(
        entry_lines.where(LedgerEntry.pool_id == pool_id, LedgerEntry.kind == EntryKind.ADJUSTMENT).group_by(
            LedgerLine.account
        )
    ):
        adjusted[account] = int(total)
    return _Records(
        charged_postpaid=_total(session, _sum(Charge.amount_minor).where(Charge.run_id.in_(postpaid_runs))),
        paid=_total(
            session,
            _sum(Payment.amount_minor).where(Payment.run_id.in_(postpaid_runs), Payment.result == PaymentResult.PAID),
        ),
        written_off=_total(
            session,
            _sum(LedgerLine.amount_minor)
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(
                LedgerEntry.pool_id == pool_id,
                LedgerEntry.kind == EntryKind.UNPAID,
                LedgerLine.account == Account.MEMBERS_DUE,
            ),
        ),
        held=_total(session, _sum(Balance.balance_minor).where(Balance.pool_id == pool_id)),
        funded=_total(
            session, _sum(Claim.funded_minor).where(Claim.pool_id == pool_id, Claim.sharing_run_id.is_not(None))
        ),
        refunds=_total(session, _sum(Claim.refund_minor).where(Claim.pool_id == pool_id)),
        surplus_out=last.surplus_out_minor if last is not None else 0,
        topped_up=_total(
            session,
            _sum(TopUp.amount_minor).where(TopUp.pool_id == pool_id, TopUp.id.not_in(select(TopUpReversal.top_up_id))),
        ),
        investigated=_total(
            session,
            _sum(ClaimCost.amount_minor).where(
                ClaimCost.claim_id.in_(select(Claim.id).where(Claim.pool_id == pool_id)),
                ClaimCost.entry_id.is_not(None),
            ),
        ),
        adjusted=adjusted,
    )


def reconcile_books(session: Session, pool_id: int) -> BooksReport:
    """Prove the books balance: the accounts sum to zero, and each account equals what the pool's
    own records say it should (charges less payments, balances held, claims funded, refunds, the
    surplus the last run carried out, cash received as payments and top-ups)."""
    balances = account_balances(session, pool_id)
    r = _records(session, pool_id)
    checks = (
        BooksCheck(
            Account.MEMBERS_DUE,
            balances[Account.MEMBERS_DUE],
            r.charged_postpaid - r.paid + r.written_off,
            "postpaid charges less payments received and unpaid shares written off",
        ),
        BooksCheck(
            Account.MEMBER_BALANCES, balances[Account.MEMBER_BALANCES], -r.held, "prepaid balances held for members"
        ),
        BooksCheck(
            Account.AID_PAYABLE,
            balances[Account.AID_PAYABLE],
            -r.funded + r.adjusted[Account.AID_PAYABLE],
            "benefits funded by sharing runs, less those paid out",
        ),
        BooksCheck(
            Account.REFUNDS_PAYABLE,
            balances[Account.REFUNDS_PAYABLE],
            -r.refunds + r.adjusted[Account.REFUNDS_PAYABLE],
            "contributions refunded on denials, less those paid out",
        ),
        BooksCheck(Account.SURPLUS, balances[Account.SURPLUS], -r.surplus_out, "surplus carried out by the last run"),
        BooksCheck(
            Account.CASH,
            balances[Account.CASH],
            r.paid + r.topped_up - r.investigated + r.adjusted[Account.CASH],
            "payments received and top-ups, less claims' investigation costs, with money paid out and in by "
            "adjustments",
        ),
    )
    return BooksReport(balances=balances, checks=checks)
