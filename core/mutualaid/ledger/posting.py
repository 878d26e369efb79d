"""Posting to a pool's books: the only code that writes ledger entries and lines.

An entry is balanced (its lines sum to zero; a debit is positive, a credit negative, in minor
units), tied to what caused it (a sharing run, a claim, a batch of payments or top-ups, or the
entry it reverses) and complete when it is written: its hash is computed from the values about to
be inserted, and the entry is never written again. The database refuses UPDATE and DELETE of
entries and lines (triggers, migration 0003); a correction is a reversing entry.

Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db.engine import ROW_LOCK
from ..db.models import LedgerEntry, LedgerLine, Pool
from ..errors import NotFoundError, StateError, ValidationError
from ..fields import is_record_number
from ..money import format_minor, to_minor
from ..vocabulary import ADJUSTABLE_ACCOUNTS, Account, EntryKind, values
from .books import account_balances
from .chain import GENESIS, entry_hash
from .limits import sign_problems

__all__ = ["Line", "entry_lines", "lines_from_amounts", "post_adjustment", "post_entry", "reverse", "reverse_entry"]


@dataclass(frozen=True, slots=True)
class Line:
    """One side of an entry: ``amount`` minor units, positive for a debit, negative for a credit."""

    account: Account
    amount: int
    member_id: int | None = None
    claim_id: int | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "account", Account(self.account))
        except ValueError:
            raise ValueError(f"unknown ledger account {self.account!r}") from None
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError(f"ledger amounts are integer minor units, not {self.amount!r}")


def post_entry(
    session: Session,
    pool_id: int,
    *,
    kind: EntryKind | str,
    posted_on: date,
    memo: str,
    lines: Iterable[Line],
    facts: Mapping[str, Any] | None = None,
    run_id: int | None = None,
    claim_id: int | None = None,
    batch_id: int | None = None,
    reverses_id: int | None = None,
) -> LedgerEntry:
    """Append a balanced entry to a pool's chain (inside the caller's transaction).

    Lines of zero are dropped; an entry may have no lines at all (a period with nothing to share is
    still on the record). The pool row is locked, so entries of one pool are appended one at a time.

    :raises ValueError: if the lines do not sum to zero (a bug in the caller, never a user mistake).
    """
    kept = [ln for ln in lines if ln.amount != 0]
    total = sum(ln.amount for ln in kept)
    if total != 0:
        raise ValueError(f"ledger entry {kind!r} does not balance: its lines sum to {total} minor units")
    pool = session.get(Pool, pool_id, with_for_update=ROW_LOCK)
    if pool is None:
        raise NotFoundError(f"pool #{pool_id} does not exist")
    seq = int(pool.ledger_seq or 0) + 1
    prev = pool.ledger_head or GENESIS
    entry = LedgerEntry(
        pool_id=pool_id,
        seq=seq,
        kind=EntryKind(kind).value,
        posted_on=posted_on,
        memo=memo,
        run_id=run_id,
        claim_id=claim_id,
        batch_id=batch_id,
        reverses_id=reverses_id,
        facts_json=json.dumps(dict(facts or {}), ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        created_at=datetime.now(UTC),
        prev_hash=prev,
    )
    rows = [
        LedgerLine(
            line_no=n,
            account=ln.account.value,
            member_id=ln.member_id,
            claim_id=ln.claim_id,
            amount_minor=ln.amount,
        )
        for n, ln in enumerate(kept, start=1)
    ]
    entry.hash = entry_hash(entry, rows, prev)  # before the insert: the row is written once, whole
    session.add(entry)
    session.flush()
    for row in rows:
        row.entry_id = entry.id
    session.add_all(rows)
    # Guarded by the old head: a concurrent append that got past the lock (it cannot on PostgreSQL,
    # and SQLite has one writer) would update nothing here and fail below instead of forking the chain.
    updated = (
        session.connection()
        .execute(
            update(Pool)
            .where(Pool.id == pool_id, Pool.ledger_seq == seq - 1)
            .values(ledger_seq=seq, ledger_head=entry.hash)
        )
        .rowcount
    )
    if updated != 1:  # pragma: no cover - defended by the row lock and the unique (pool, seq) key
        raise StateError(f"the ledger of pool #{pool_id} moved while entry {seq} was written; try again")
    session.flush()
    session.expire(pool, ["ledger_seq", "ledger_head"])
    return entry


def entry_lines(session: Session, entry_ids: Sequence[int]) -> dict[int, list[LedgerLine]]:
    """The lines of each entry, in order."""
    out: dict[int, list[LedgerLine]] = {i: [] for i in entry_ids}
    if not entry_ids:
        return out
    for row in session.scalars(
        select(LedgerLine).where(LedgerLine.entry_id.in_(entry_ids)).order_by(LedgerLine.entry_id, LedgerLine.line_no)
    ):
        out.setdefault(row.entry_id, []).append(row)
    return out


def lines_from_amounts(debit: Mapping[str, Any], credit: Mapping[str, Any], currency: str) -> list[Line]:
    """An operator's debits and credits (account -> amount in major units) as lines.

    :raises ValidationError: listing every amount that is not exact and above 0, and every
        account that does not exist.
    """
    problems: list[str] = []
    lines = []
    for sign, side in ((1, debit), (-1, credit)):
        for account, amount in side.items():
            try:
                minor = to_minor(amount, currency)
            except (ValueError, ArithmeticError) as exc:
                problems.append(f"{account}: {exc}")
                continue
            if minor <= 0:
                problems.append(f"{account}: amounts must be above 0 ({amount} given)")
            elif account not in values(Account):
                problems.append(f"{account}: no such account; the accounts are {', '.join(Account)}")
            else:
                lines.append(Line(Account(account), sign * minor))
    if problems:
        raise ValidationError(problems)
    return lines


def post_adjustment(
    session: Session, pool_id: int, *, lines: Sequence[Line], memo: str, posted_on: date
) -> LedgerEntry:
    """Post an operator's entry (a payout, a sponsor's payment), balanced and with a memo.

    :raises ValidationError: for an account that only moves with the pool's records, an unbalanced
        entry, no memo, or an entry that would take an account past zero (:mod:`.limits`: cash or
        sponsor_due below 0, aid_payable, refunds_payable or fee_income above 0).
    """
    problems = []
    if not memo.strip():
        problems.append("memo: an adjustment needs a memo saying what happened")
    for ln in lines:
        if ln.account not in ADJUSTABLE_ACCOUNTS:
            problems.append(
                f"account {ln.account.value!r} moves only with the pool's records; adjust one of "
                f"{', '.join(ADJUSTABLE_ACCOUNTS)}"
            )
    total = sum(ln.amount for ln in lines)
    if total:
        pool = session.get(Pool, pool_id)
        currency = pool.currency if pool is not None else "CNY"
        debits = sum(ln.amount for ln in lines if ln.amount > 0)
        problems.append(
            f"the lines do not balance: the debits total {format_minor(debits, currency)} {currency} and the "
            f"credits {format_minor(debits - total, currency)} {currency}"
        )
    if not [ln for ln in lines if ln.amount]:
        problems.append("an adjustment needs at least one debit and one credit")
    if problems:
        raise ValidationError(problems)
    _keep_signs(session, pool_id, lines)
    return post_entry(session, pool_id, kind=EntryKind.ADJUSTMENT, posted_on=posted_on, memo=memo.strip(), lines=lines)


def _keep_signs(session: Session, pool_id: int, lines: Sequence[Line]) -> None:
    """Refuse lines that would take an account past zero, read under the pool's lock.

    :raises ValidationError: one line per such account (its balance, the result, the rule).
    """
    pool = session.get(Pool, pool_id, with_for_update=ROW_LOCK)
    if pool is None:
        raise NotFoundError(f"pool #{pool_id} does not exist")
    problems = sign_problems(
        account_balances(session, pool_id), [(ln.account, ln.amount) for ln in lines], pool.currency
    )
    if problems:
        raise ValidationError(problems)


def reverse_entry(session: Session, pool_id: int, seq: int, *, memo: str, posted_on: date) -> LedgerEntry:
    """Post the exact opposite of the adjustment numbered ``seq`` (the only way to correct one)."""
    entry = (
        session.scalar(select(LedgerEntry).where(LedgerEntry.pool_id == pool_id, LedgerEntry.seq == seq))
        if is_record_number(seq)
        else None
    )
    if entry is None:
        raise NotFoundError(f"the pool's ledger has no entry {seq}; 'mutualaid ledger entries POOL' lists them")
    if not memo.strip():
        raise ValidationError(["reason: a reversal needs a reason"])
    if entry.kind != EntryKind.ADJUSTMENT:
        raise StateError(
            f"ledger entry {seq} records a {entry.kind} and stays: it is tied to the pool's records. "
            "Only adjustments are reversed; post an adjustment to correct anything else"
        )
    if session.scalar(select(LedgerEntry.seq).where(LedgerEntry.reverses_id == entry.id)) is None:
        # undoing money paid in can overdraw as surely as paying out: the opposite keeps the signs too
        opposite = [
            Line(Account(ln.account), -int(ln.amount_minor)) for ln in entry_lines(session, [entry.id])[entry.id]
        ]
        _keep_signs(session, pool_id, opposite)
    return reverse(session, entry, kind=EntryKind.ADJUSTMENT, memo=memo.strip(), posted_on=posted_on)


def reverse(
    session: Session,
    entry: LedgerEntry,
    *,
    kind: EntryKind,
    memo: str,
    posted_on: date,
    facts: Mapping[str, Any] | None = None,
) -> LedgerEntry:
    """Post the exact opposite of ``entry`` (each line negated, the same members and claims), as an
    entry of ``kind`` naming it (``reverses_id``) and what it was tied to: how an adjustment is
    reversed, and a sharing run voided (kind ``void``). ``facts`` are added to the reversal's own
    (``reverses``: the entry's kind, ``reverses_seq``: its number).

    :raises StateError: if the entry was already reversed.
    """
    already = session.scalar(select(LedgerEntry.seq).where(LedgerEntry.reverses_id == entry.id))
    if already is not None:
        raise StateError(f"ledger entry {entry.seq} was already reversed by entry {already}")
    entry_id = entry.id
    lines = entry_lines(session, [entry_id])[entry_id]
    return post_entry(
        session,
        entry.pool_id,
        kind=kind,
        posted_on=posted_on,
        memo=memo,
        lines=[Line(Account(ln.account), -int(ln.amount_minor), ln.member_id, ln.claim_id) for ln in lines],
        facts={**dict(facts or {}), "reverses": entry.kind, "reverses_seq": entry.seq},
        run_id=entry.run_id,
        claim_id=entry.claim_id,
        batch_id=entry.batch_id,
        reverses_id=entry_id,
    )
