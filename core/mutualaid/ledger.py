"""The pool's books: a double-entry, append-only ledger chained by hashes.

Every entry is balanced (its lines sum to zero; a debit is positive, a credit negative, in minor
units) and is tied to what caused it: a sharing run, a claim, a batch of payments or top-ups, or
the entry it reverses. Nothing is ever updated or deleted: a correction is a reversing entry.

Entries of one pool form a chain: each stores the SHA-256 of the entry before it and its own hash
over its canonical text (fields, facts and lines) and that previous hash; the pool row keeps the
head (last sequence number and hash). :func:`verify_ledger` recomputes the chain, so an edited,
inserted or deleted entry -- the last one included -- shows.

Member-level detail lives in sub-ledgers the entries summarise: a run's entry records how many
charge rows it wrote, their total and a checksum over (member, amount), and verification recounts
them from the charges table. At 10 million members the books stay a handful of entries per
period, while every member's charge remains provable.

Accounts (debit-positive):

========================  =====================================================================
``members_due``           postpaid shares charged and not yet paid (asset)
``member_balances``       prepaid balances held for members (liability: normally a credit)
``cash``                  money received (asset)
``aid_payable``           benefits funded and owed to claimants (liability)
``fee_income``            the operator's management fee (income)
``surplus``               collected beyond the need, carried to the next period (liability)
``deficit``               shortfall carried to the next period (asset: owed by later periods)
``sponsor_due``           what the operator/sponsor has undertaken to pay (asset)
``refunds_payable``       contributions to be given back to members (liability)
========================  =====================================================================
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .errors import NotFoundError, StateError, ValidationError
from .models import Balance, Charge, Claim, LedgerEntry, LedgerLine, Payment, Pool, SharingRun, TopUp
from .money import format_minor

__all__ = [
    "ACCOUNTS",
    "BooksReport",
    "ENTRY_KINDS",
    "EntryRecord",
    "Line",
    "LedgerProblem",
    "VerifyReport",
    "account_balances",
    "charge_figures",
    "entry_hash",
    "list_entries",
    "post_adjustment",
    "post_entry",
    "reconcile_books",
    "reverse_entry",
    "verify_ledger",
]

ACCOUNTS: dict[str, str] = {
    "members_due": "postpaid shares charged and not yet paid",
    "member_balances": "prepaid balances held for members",
    "cash": "money received",
    "aid_payable": "benefits funded and owed to claimants",
    "fee_income": "the operator's management fee",
    "surplus": "collected beyond the need, carried to the next period",
    "deficit": "shortfall carried to the next period",
    "sponsor_due": "what the operator or sponsor pays",
    "refunds_payable": "contributions to be given back to members",
}

GENESIS = "0" * 64
#: Charge checksum: sum of amount * (member number mod CHECKSUM_MOD); small enough never to overflow
#: 64 bits at 10^8 members paying up to 10^6 minor units, and it changes when a minor unit moves
#: from one member to another (unless their numbers are equal modulo the prime).
CHECKSUM_MOD = 997


@dataclass(frozen=True, slots=True)
class Line:
    """One side of an entry: ``amount`` minor units, positive for a debit, negative for a credit."""

    account: str
    amount: int
    member_id: int | None = None
    claim_id: int | None = None

    def __post_init__(self) -> None:
        if self.account not in ACCOUNTS:
            raise ValueError(f"unknown ledger account {self.account!r}")
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError(f"ledger amounts are integer minor units, not {self.amount!r}")


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """A stored entry with its lines."""

    id: int
    seq: int
    kind: str
    posted_on: date
    memo: str
    run_id: int | None
    claim_id: int | None
    batch_id: int | None
    reverses_id: int | None
    facts: dict[str, Any]
    hash: str
    lines: tuple[Line, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "kind": self.kind,
            "posted_on": self.posted_on.isoformat(),
            "memo": self.memo,
            "run_id": self.run_id,
            "claim_id": self.claim_id,
            "batch_id": self.batch_id,
            "reverses_id": self.reverses_id,
            "facts": self.facts,
            "hash": self.hash,
            "lines": [
                {"account": ln.account, "amount_minor": ln.amount, "member_id": ln.member_id, "claim_id": ln.claim_id}
                for ln in self.lines
            ],
        }


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; they were written in UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(entry: LedgerEntry, lines: Sequence[LedgerLine], prev_hash: str) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON text (fields, facts, lines)."""
    body = [
        entry.pool_id,
        entry.seq,
        entry.kind,
        entry.posted_on.isoformat(),
        entry.memo,
        entry.run_id,
        entry.claim_id,
        entry.batch_id,
        entry.reverses_id,
        entry.facts_json,
        _utc_text(entry.created_at),
        [[ln.line_no, ln.account, ln.member_id, ln.claim_id, int(ln.amount_minor)] for ln in lines],
    ]
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + "\n" + text).encode("utf-8")).hexdigest()


def post_entry(
    session: Session,
    pool_id: int,
    *,
    kind: str,
    posted_on: date,
    memo: str,
    lines: Iterable[Line],
    facts: dict[str, Any] | None = None,
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
    pool = session.get(Pool, pool_id, with_for_update=True)
    if pool is None:
        raise NotFoundError(f"pool #{pool_id} does not exist")
    seq = int(pool.ledger_seq or 0) + 1
    prev = pool.ledger_head or GENESIS
    entry = LedgerEntry(
        pool_id=pool_id,
        seq=seq,
        kind=kind,
        posted_on=posted_on,
        memo=memo,
        run_id=run_id,
        claim_id=claim_id,
        batch_id=batch_id,
        reverses_id=reverses_id,
        facts_json=json.dumps(facts or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        created_at=datetime.now(UTC),
        prev_hash=prev,
        hash="",
    )
    session.add(entry)
    session.flush()
    rows = [
        LedgerLine(
            entry_id=entry.id,
            line_no=n,
            account=ln.account,
            member_id=ln.member_id,
            claim_id=ln.claim_id,
            amount_minor=ln.amount,
        )
        for n, ln in enumerate(kept, start=1)
    ]
    session.add_all(rows)
    entry.hash = entry_hash(entry, rows, prev)
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


def _lines(session: Session, entry_ids: Sequence[int]) -> dict[int, list[LedgerLine]]:
    out: dict[int, list[LedgerLine]] = {i: [] for i in entry_ids}
    if not entry_ids:
        return out
    for row in session.scalars(
        select(LedgerLine).where(LedgerLine.entry_id.in_(entry_ids)).order_by(LedgerLine.entry_id, LedgerLine.line_no)
    ):
        out.setdefault(row.entry_id, []).append(row)
    return out


def _record(entry: LedgerEntry, lines: Sequence[LedgerLine]) -> EntryRecord:
    return EntryRecord(
        id=entry.id,
        seq=entry.seq,
        kind=entry.kind,
        posted_on=entry.posted_on,
        memo=entry.memo,
        run_id=entry.run_id,
        claim_id=entry.claim_id,
        batch_id=entry.batch_id,
        reverses_id=entry.reverses_id,
        facts=json.loads(entry.facts_json),
        hash=entry.hash,
        lines=tuple(Line(ln.account, int(ln.amount_minor), ln.member_id, ln.claim_id) for ln in lines),
    )


#: The kinds of entry, by what posts them: a sharing run, a payments import, a settlement's
#: write-off, top-ups, a refund on a denied claim, an operator's adjustment or its reversal.
ENTRY_KINDS = ("sharing", "payments", "unpaid", "top-up", "refund", "adjustment")


def list_entries(
    session: Session, pool_id: int, *, kind: str | None = None, limit: int | None = None
) -> list[EntryRecord]:
    """A pool's entries in order (the last ``limit`` when given), of one kind when ``kind`` is given.

    :raises ValidationError: if ``kind`` is not one of :data:`ENTRY_KINDS`.
    """
    query = select(LedgerEntry).where(LedgerEntry.pool_id == pool_id)
    if kind is not None:
        if kind not in ENTRY_KINDS:
            raise ValidationError(
                [f"kind: {kind!r} is not a kind of ledger entry; the kinds are {', '.join(ENTRY_KINDS)}"]
            )
        query = query.where(LedgerEntry.kind == kind)
    if limit:
        entries = list(reversed(session.scalars(query.order_by(LedgerEntry.seq.desc()).limit(limit)).all()))
    else:
        entries = list(session.scalars(query.order_by(LedgerEntry.seq)))
    lines = _lines(session, [e.id for e in entries])
    return [_record(e, lines[e.id]) for e in entries]


#: Accounts an operator may move by hand: money actually paid out or received outside the pool's
#: own records (benefits paid to claimants, refunds paid, the sponsor paying what it owes, the fee
#: taken). Accounts kept by the pool's records (members' dues and balances, surplus, deficit) move
#: only with the records that explain them.
ADJUSTABLE = ("cash", "aid_payable", "refunds_payable", "sponsor_due", "fee_income")


def post_adjustment(
    session: Session, pool_id: int, *, lines: Sequence[Line], memo: str, posted_on: date
) -> LedgerEntry:
    """Post an operator's entry (a payout, a sponsor's payment), balanced and with a memo.

    :raises ValidationError: for an account that only moves with the pool's records, an unbalanced
        entry, or no memo.
    """
    problems = []
    if not memo.strip():
        problems.append("memo: an adjustment needs a memo saying what happened")
    for ln in lines:
        if ln.account not in ADJUSTABLE:
            problems.append(
                f"account {ln.account!r} moves only with the pool's records; adjust one of {', '.join(ADJUSTABLE)}"
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
    return post_entry(session, pool_id, kind="adjustment", posted_on=posted_on, memo=memo.strip(), lines=lines)


def reverse_entry(session: Session, pool_id: int, seq: int, *, memo: str, posted_on: date) -> LedgerEntry:
    """Post the exact opposite of the adjustment numbered ``seq`` (the only way to correct one)."""
    entry = session.scalar(select(LedgerEntry).where(LedgerEntry.pool_id == pool_id, LedgerEntry.seq == seq))
    if entry is None:
        raise NotFoundError(f"the pool's ledger has no entry {seq}; 'mutualaid ledger entries POOL' lists them")
    if not memo.strip():
        raise ValidationError(["reason: a reversal needs a reason"])
    if entry.kind != "adjustment":
        raise StateError(
            f"ledger entry {seq} records a {entry.kind} and stays: it is tied to the pool's records. "
            "Only adjustments are reversed; post an adjustment to correct anything else"
        )
    already = session.scalar(select(LedgerEntry.seq).where(LedgerEntry.reverses_id == entry.id))
    if already is not None:
        raise StateError(f"ledger entry {seq} was already reversed by entry {already}")
    entry_id = entry.id
    lines = _lines(session, [entry_id])[entry_id]
    return post_entry(
        session,
        pool_id,
        kind="adjustment",
        posted_on=posted_on,
        memo=memo.strip(),
        lines=[Line(ln.account, -int(ln.amount_minor), ln.member_id, ln.claim_id) for ln in lines],
        facts={"reverses": entry.kind, "reverses_seq": entry.seq},
        run_id=entry.run_id,
        claim_id=entry.claim_id,
        batch_id=entry.batch_id,
        reverses_id=entry_id,
    )


def account_balances(session: Session, pool_id: int) -> dict[str, int]:
    """Each account's balance (debit-positive), every account listed, from the lines."""
    rows = session.execute(
        select(LedgerLine.account, func.coalesce(func.sum(LedgerLine.amount_minor), 0))
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(LedgerEntry.pool_id == pool_id)
        .group_by(LedgerLine.account)
    ).all()
    balances = dict.fromkeys(ACCOUNTS, 0)
    for account, total in rows:
        balances[account] = int(total)
    return balances


def charge_figures(session: Session, run_id: int) -> tuple[int, int, int]:
    """(rows, total, checksum) of a run's charges, counted in the database in one scan."""
    rows, total, checksum = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Charge.amount_minor), 0),
            func.coalesce(func.sum(Charge.amount_minor * (Charge.member_id % CHECKSUM_MOD)), 0),
        ).where(Charge.run_id == run_id)
    ).one()
    return int(rows), int(total), int(checksum)


@dataclass(frozen=True, slots=True)
class LedgerProblem:
    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.message}" if self.seq is not None else self.message


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The chain rechecked from the first entry: every problem found, or none."""

    entries: int
    head: str
    problems: tuple[LedgerProblem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_ledger(session: Session, pool_id: int, *, batch: int = 2000) -> VerifyReport:
    """Recompute a pool's hash chain and recount every run's charges against its entry.

    Finds: an entry whose fields, facts or lines were edited (its hash no longer matches); an entry
    deleted or inserted (the sequence or the link to the previous hash breaks, or the chain no longer
    ends at the head kept on the pool); an unbalanced entry; a run whose charges were edited or
    deleted (rows, total or checksum differ from what its entry recorded); a run with no entry.
    """
    pool = session.get(Pool, pool_id)
    if pool is None:
        raise NotFoundError(f"pool #{pool_id} does not exist")
    problems: list[LedgerProblem] = []
    prev = GENESIS
    expected_seq = 1
    count = 0
    run_entries: dict[int, dict[str, Any]] = {}
    last_seq = 0
    while True:
        entries = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.pool_id == pool_id, LedgerEntry.seq >= expected_seq)
            .order_by(LedgerEntry.seq)
            .limit(batch)
        ).all()
        if not entries:
            break
        lines = _lines(session, [e.id for e in entries])
        for entry in entries:
            count += 1
            if entry.seq != expected_seq:
                gap = (
                    f"entry {expected_seq} is missing"
                    if entry.seq - 1 == expected_seq
                    else f"entries {expected_seq} to {entry.seq - 1} are missing"
                )
                problems.append(LedgerProblem(entry.seq, f"{gap} (deleted?)"))
            if entry.prev_hash != prev:
                problems.append(
                    LedgerProblem(entry.seq, "does not link to the entry before it (an entry was removed or replaced)")
                )
            own = lines[entry.id]
            if entry_hash(entry, own, entry.prev_hash) != entry.hash:
                problems.append(LedgerProblem(entry.seq, "was edited: its contents no longer match its hash"))
            total = sum(int(ln.amount_minor) for ln in own)
            if total != 0:
                problems.append(LedgerProblem(entry.seq, f"does not balance: its lines sum to {total}"))
            if entry.kind == "sharing" and entry.run_id is not None:
                run_entries[entry.run_id] = {"seq": entry.seq, **json.loads(entry.facts_json)}
            prev = entry.hash
            expected_seq = entry.seq + 1
            last_seq = entry.seq
    if last_seq != int(pool.ledger_seq or 0):
        problems.append(
            LedgerProblem(
                None,
                f"the chain ends at entry {last_seq} but the pool's head is entry {pool.ledger_seq}: "
                "entries at the end were deleted or the head was altered",
            )
        )
    elif prev != (pool.ledger_head or GENESIS):
        problems.append(
            LedgerProblem(
                None,
                f"the chain ends at entry {last_seq} as the pool's head says, but its hash is not the head's: "
                "the last entry was replaced or the head was altered",
            )
        )
    for run_id, period in session.execute(
        select(SharingRun.id, SharingRun.period).where(SharingRun.pool_id == pool_id).order_by(SharingRun.id)
    ):
        facts = run_entries.get(run_id)
        if facts is None:
            problems.append(LedgerProblem(None, f"sharing run #{run_id} (period {period}) has no ledger entry"))
            continue
        rows, total, checksum = charge_figures(session, run_id)
        if (rows, total, checksum) != (facts.get("charge_rows"), facts.get("charged"), facts.get("charge_checksum")):
            problems.append(
                LedgerProblem(
                    facts["seq"],
                    f"the charges of run #{run_id} (period {period}) were altered: the entry recorded "
                    f"{facts.get('charge_rows')} rows totalling {facts.get('charged')}, the database now has "
                    f"{rows} rows totalling {total}"
                    + (
                        " with a different checksum"
                        if (rows, total) == (facts.get("charge_rows"), facts.get("charged"))
                        else ""
                    ),
                )
            )
    return VerifyReport(entries=count, head=prev, problems=tuple(problems))


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
    def ok(self) -> bool:
        return self.total == 0 and all(c.ok for c in self.checks)


def reconcile_books(session: Session, pool_id: int) -> BooksReport:
    """Prove the books balance: the accounts sum to zero, and each account equals what the pool's
    own records say it should (charges less payments, balances held, claims funded, refunds, the
    surplus and deficit the last run carried out, cash received as payments and top-ups)."""
    balances = account_balances(session, pool_id)
    run_ids = select(SharingRun.id).where(SharingRun.pool_id == pool_id)
    postpaid_runs = run_ids.where(SharingRun.payment_model == "postpaid")
    charged_postpaid = int(
        session.scalar(select(func.coalesce(func.sum(Charge.amount_minor), 0)).where(Charge.run_id.in_(postpaid_runs)))
        or 0
    )
    paid = int(
        session.scalar(
            select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
                Payment.run_id.in_(postpaid_runs), Payment.result == "paid"
            )
        )
        or 0
    )
    written_off = int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerLine.amount_minor), 0))
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(LedgerEntry.pool_id == pool_id, LedgerEntry.kind == "unpaid", LedgerLine.account == "members_due")
        )
        or 0
    )
    held = int(
        session.scalar(select(func.coalesce(func.sum(Balance.balance_minor), 0)).where(Balance.pool_id == pool_id)) or 0
    )
    funded = int(
        session.scalar(
            select(func.coalesce(func.sum(Claim.funded_minor), 0)).where(
                Claim.pool_id == pool_id, Claim.sharing_run_id.is_not(None)
            )
        )
        or 0
    )
    refunds = int(
        session.scalar(select(func.coalesce(func.sum(Claim.refund_minor), 0)).where(Claim.pool_id == pool_id)) or 0
    )
    last = session.scalar(
        select(SharingRun)
        .where(SharingRun.pool_id == pool_id)
        .order_by(SharingRun.notice_date.desc(), SharingRun.id.desc())
        .limit(1)
    )
    surplus_out = last.surplus_out_minor if last is not None else 0
    topped_up = int(
        session.scalar(select(func.coalesce(func.sum(TopUp.amount_minor), 0)).where(TopUp.pool_id == pool_id)) or 0
    )
    adjusted = dict.fromkeys(ADJUSTABLE, 0)
    for account, total in session.execute(
        select(LedgerLine.account, func.coalesce(func.sum(LedgerLine.amount_minor), 0))
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(LedgerEntry.pool_id == pool_id, LedgerEntry.kind == "adjustment")
        .group_by(LedgerLine.account)
    ):
        adjusted[account] = int(total)
    checks = (
        BooksCheck(
            "members_due",
            balances["members_due"],
            charged_postpaid - paid + written_off,
            "postpaid charges less payments received and unpaid shares written off",
        ),
        BooksCheck("member_balances", balances["member_balances"], -held, "prepaid balances held for members"),
        BooksCheck(
            "aid_payable",
            balances["aid_payable"],
            -funded + adjusted["aid_payable"],
            "benefits funded by sharing runs, less those paid out",
        ),
        BooksCheck(
            "refunds_payable",
            balances["refunds_payable"],
            -refunds + adjusted["refunds_payable"],
            "contributions refunded on denials, less those paid out",
        ),
        BooksCheck("surplus", balances["surplus"], -surplus_out, "surplus carried out by the last run"),
        BooksCheck(
            "cash",
            balances["cash"],
            paid + topped_up + adjusted["cash"],
            "payments received and top-ups, with money paid out and in by adjustments",
        ),
    )
    return BooksReport(balances=balances, checks=checks)
