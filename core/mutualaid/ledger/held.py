"""What a pool's members hold in their prepaid balances, proved at each verification and counted
from there.

Every member of a prepaid pool has a balance row, so adding them all up reads as many rows as the
pool has members (0.4 s at 10M on SQLite, every ``ledger balance``). ``ledger verify`` adds them up
once (:func:`check_held`): the total must equal what the ledger's ``member_balances`` account
holds at the entry the verification reached, or that is a problem of the books; the total is then
recorded with the verification. ``ledger balance`` starts from it (:func:`held_since`) and adds
what the entries posted since moved into and out of the balances, each from its own rows: the
top-ups of the top-up entries, the top-ups their reversals took back, the charges each prepaid run
deducted, and those a voided prepaid run gave back (the charged total its entry recorded, when the
run's entry was verified). A balance edited behind the ledger's back after a verification is found
by the next ``ledger verify``, which adds every balance up again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.bulk import chunks, ids_in
from ..db.models import Balance, Charge, LedgerEntry, LedgerLine, SharingRun, TopUpReversal
from ..vocabulary import Account, EntryKind, PaymentModel

if TYPE_CHECKING:  # verify imports posting, which imports the books, which import this
    from .verify import VerifyReport

__all__ = ["check_held", "held_now", "held_since", "posted_since", "run_charged", "sum_of", "total"]


def total(session: Session, query: Any) -> int:
    """The one value of a ``SELECT`` of a sum (:func:`sum_of`), as an exact int of minor units."""
    return int(session.scalar(query) or 0)


def sum_of(column: Any) -> Any:
    """``SELECT coalesce(sum(column), 0)``: 0 when there are no rows."""
    return select(func.coalesce(func.sum(column), 0))


def run_charged(session: Session, run_id: int) -> int:
    """A run's charges added up. One equality a run: SQLite searches the charges' key by it, where
    an ``IN`` list of runs may have it scan every run's charges."""
    return total(session, sum_of(Charge.amount_minor).where(Charge.run_id == run_id))


def posted_since(session: Session, pool_id: int, seq: int, kind: EntryKind, model: Any) -> int:
    """The amounts of ``model``'s rows (top-ups, or top-up reversals) that the pool's entries of
    ``kind`` posted after entry ``seq`` wrote, found by their entry."""
    entries = [entry for entry, _ in _entries_since(session, pool_id, seq, kind)]
    return sum(
        total(session, sum_of(model.amount_minor).where(model.pool_id == pool_id, ids_in(model.entry_id, chunk)))
        for chunk in chunks(entries)
    )


def held_now(session: Session, pool_id: int) -> int:
    """Every balance of the pool added up (one pass over the pool's balances), in minor units."""
    return total(session, sum_of(Balance.balance_minor).where(Balance.pool_id == pool_id))


def _owed_at(session: Session, pool_id: int, seq: int) -> int:
    """What the ``member_balances`` account holds for the members after entry ``seq`` (its credit)."""
    return -total(
        session,
        sum_of(LedgerLine.amount_minor)
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(LedgerEntry.pool_id == pool_id, LedgerEntry.seq <= seq, LedgerLine.account == Account.MEMBER_BALANCES),
    )


def check_held(session: Session, pool_id: int, report: VerifyReport, currency: str) -> tuple[VerifyReport, int]:
    """``ledger verify``'s report with the balances held against the ledger at the entry it reached:
    a problem when they differ. Returns the report and the total held, which the verification
    records when it finds nothing wrong."""
    from ..money import format_minor
    from .verify import LedgerProblem

    held = held_now(session, pool_id)
    owed = _owed_at(session, pool_id, report.head_seq)
    if held == owed:
        return report, held
    problem = LedgerProblem(
        None,
        f"the members' balances add up to {format_minor(held, currency)} {currency}, but the ledger's "
        f"member_balances account holds {format_minor(owed, currency)} {currency} for them at entry "
        f"#{report.head_seq}: a balance was changed outside mutualaid",
    )
    return replace(report, problems=(*report.problems, problem)), held


def _entries_since(session: Session, pool_id: int, seq: int, kind: EntryKind) -> list[tuple[int, int | None]]:
    """(entry id, run id) of the pool's entries of ``kind`` posted after entry ``seq``."""
    return [
        (int(entry_id), None if run_id is None else int(run_id))
        for entry_id, run_id in session.execute(
            select(LedgerEntry.id, LedgerEntry.run_id).where(
                LedgerEntry.pool_id == pool_id, LedgerEntry.seq > seq, LedgerEntry.kind == kind
            )
        )
    ]


def held_since(session: Session, pool_id: int, *, seq: int, held: int, charged: dict[int, int], topped: int) -> int:
    """The balances held now, from ``held`` (what a verification that reached entry ``seq`` proved
    they held) and the rows of the entries posted since. ``charged`` is the charged total of each
    run whose entry that verification reached (proved equal to its charges); ``topped`` the top-ups
    the top-up entries posted since wrote (:func:`posted_since`, which the books read once for the
    cash received too)."""
    taken_back = posted_since(session, pool_id, seq, EntryKind.TOP_UP_REVERSAL, TopUpReversal)
    prepaid = set(
        session.scalars(
            select(SharingRun.id).where(SharingRun.pool_id == pool_id, SharingRun.payment_model == PaymentModel.PREPAID)
        )
    )
    deducted = sum(
        run_charged(session, run_id)
        for _, run_id in _entries_since(session, pool_id, seq, EntryKind.SHARING)
        if run_id in prepaid
    )
    given_back = sum(
        charged[run_id] if run_id in charged else run_charged(session, run_id)
        for _, run_id in _entries_since(session, pool_id, seq, EntryKind.VOID)
        if run_id in prepaid
    )
    return held + topped - taken_back - deducted + given_back
