"""A pool's books against its records: each account's balance, and the proof that the books
balance account by account with the charges, payments, balances, claims and runs they summarise,
with no account past zero on the side it must never cross (cash below 0, say: :mod:`.limits`).

The charges, payments and top-ups are the records that grow with the pool (a run charges every
member), so the runs, payment batches and top-up entries that the last successful ``ledger
verify`` reached are counted by the totals their entries recorded, which that verification proved
equal to their rows; only those posted since are summed row by row. The prepaid balances held are
counted the same way from the total the last verification proved (:mod:`.held`). ``ledger balance``
then reads a bounded number of rows on a pool of millions, as long as the ledger is verified after
each run; a row edited behind the ledger's back after a verification is found by ``ledger verify
--full`` (a balance: by the next ``ledger verify``), as for the incremental verification.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..db.models import (
    Charge,
    Claim,
    ClaimCost,
    LedgerEntry,
    LedgerLine,
    Payment,
    PaymentBatch,
    SharingRun,
    TopUp,
    TopUpReversal,
)
from ..db.runs import live_run
from ..vocabulary import ADJUSTABLE_ACCOUNTS, Account, EntryKind, PaymentModel, PaymentResult
from .checkpoints import last_checkpoint
from .held import held_now, held_since, posted_since, run_charged
from .held import sum_of as _sum
from .held import total as _total
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


@dataclass(frozen=True, slots=True)
class _Verified:
    """What the entries at or before the pool's last successful verification recorded: the charged
    total of each run and the paid total of each payment batch (minor units), proved then to equal
    their rows. ``checked`` is False when there is no such verification, or when its entry no
    longer has the hash it had (the chain was rewritten since): every row is then summed."""

    checked: bool
    charged: dict[int, int]
    paid: dict[int, int]
    #: The sequence number of the last entry the verification reached.
    seq: int = 0
    #: What the balances held in all at that entry (:mod:`.held`), if the verification recorded it.
    held: int | None = None


def _verified(session: Session, pool_id: int) -> _Verified:
    checkpoint = last_checkpoint(session, pool_id)
    if checkpoint is None or checkpoint.seq <= 0:
        return _Verified(False, {}, {})
    reached = session.scalar(
        select(LedgerEntry.hash).where(LedgerEntry.pool_id == pool_id, LedgerEntry.seq == checkpoint.seq)
    )
    if reached != checkpoint.hash:
        return _Verified(False, {}, {})
    charged: dict[int, int] = {}
    paid: dict[int, int] = {}
    for kind, run_id, batch_id, facts_json in session.execute(
        select(LedgerEntry.kind, LedgerEntry.run_id, LedgerEntry.batch_id, LedgerEntry.facts_json).where(
            LedgerEntry.pool_id == pool_id,
            LedgerEntry.seq <= checkpoint.seq,
            LedgerEntry.kind.in_((EntryKind.SHARING, EntryKind.PAYMENTS)),
        )
    ):
        facts = json.loads(facts_json)
        if kind == EntryKind.SHARING and run_id is not None and isinstance(facts.get("charged"), int):
            charged[int(run_id)] = facts["charged"]
        elif kind == EntryKind.PAYMENTS and batch_id is not None and isinstance(facts.get("paid"), int):
            paid[int(batch_id)] = facts["paid"]
    return _Verified(True, charged, paid, checkpoint.seq, checkpoint.held_minor)


def _held(session: Session, pool_id: int, verified: _Verified, topped: int) -> int:
    """The prepaid balances held: from what the last verification proved they held and the entries
    posted since (:mod:`.held`), or every balance added up when no verification recorded it."""
    if not verified.checked or verified.held is None:
        return held_now(session, pool_id)
    return held_since(session, pool_id, seq=verified.seq, held=verified.held, charged=verified.charged, topped=topped)


def _charged_postpaid(session: Session, runs: Select[Any], verified: _Verified) -> int:
    """The live postpaid runs' charges: recorded totals for verified runs, the rows of the others."""
    if not verified.checked:
        return _total(session, _sum(Charge.amount_minor).where(Charge.run_id.in_(runs)))
    ids = [int(run_id) for run_id in session.scalars(runs)]
    known = sum(verified.charged[run_id] for run_id in ids if run_id in verified.charged)
    rest = [run_id for run_id in ids if run_id not in verified.charged]  # usually the one run shared since
    return known + sum(run_charged(session, run_id) for run_id in rest)


def _paid(session: Session, pool_id: int, runs: Select[Any], verified: _Verified) -> int:
    """Payments received against the live postpaid runs: recorded totals for verified batches, the
    rows of the others (found by their batch, so that a verified batch's rows are not read)."""
    received = _sum(Payment.amount_minor).where(Payment.run_id.in_(runs), Payment.result == PaymentResult.PAID)
    if not verified.checked:
        return _total(session, received)
    batches = [int(b) for b in session.scalars(select(PaymentBatch.id).where(PaymentBatch.pool_id == pool_id))]
    known = sum(verified.paid[b] for b in batches if b in verified.paid)
    rest = [b for b in batches if b not in verified.paid]
    if not rest:
        return known
    return known + _total(session, received.where(Payment.batch_id.in_(rest)))


def _topped_up(session: Session, pool_id: int, verified: _Verified, since: int) -> int:
    """Top-ups received and not reversed. For the top-up entries the last verification reached,
    what their cash lines recorded: the verification proved each entry's rows equal to the total
    it posted with those lines, under the same hash. ``since``: the rows of the entries posted
    since (:func:`~.held.posted_since`); less every reversed top-up, found by its reversal."""
    if not verified.checked:
        standing = TopUp.id.not_in(select(TopUpReversal.top_up_id))
        return _total(session, _sum(TopUp.amount_minor).where(TopUp.pool_id == pool_id, standing))
    entries = (LedgerEntry.pool_id == pool_id, LedgerEntry.kind == EntryKind.TOP_UP)
    recorded = _total(
        session,
        _sum(LedgerLine.amount_minor)
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(*entries, LedgerEntry.seq <= verified.seq, LedgerLine.account == Account.CASH),
    )
    # each reversal's top-up by its number (a scalar sub-query: read from the reversals, whatever
    # the statistics say of the two tables' sizes)
    amount = select(TopUp.amount_minor).where(TopUp.id == TopUpReversal.top_up_id, TopUp.pool_id == pool_id)
    reversed_ = _total(session, _sum(amount.scalar_subquery()).where(TopUpReversal.pool_id == pool_id))
    return recorded + since - reversed_


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
    verified = _verified(session, pool_id)
    # the top-ups posted since the last verification, read once: cash received, and balances given
    topped = posted_since(session, pool_id, verified.seq, EntryKind.TOP_UP, TopUp) if verified.checked else 0
    return _Records(
        charged_postpaid=_charged_postpaid(session, postpaid_runs, verified),
        paid=_paid(session, pool_id, postpaid_runs, verified),
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
        held=_held(session, pool_id, verified, topped),
        funded=_total(
            session, _sum(Claim.funded_minor).where(Claim.pool_id == pool_id, Claim.sharing_run_id.is_not(None))
        ),
        refunds=_total(session, _sum(Claim.refund_minor).where(Claim.pool_id == pool_id)),
        surplus_out=last.surplus_out_minor if last is not None else 0,
        topped_up=_topped_up(session, pool_id, verified, topped),
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
