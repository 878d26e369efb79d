"""Verifying a pool's books: the hash chain recomputed from the first entry, and every run's charges
recounted against what its entry recorded.

Member-level detail lives in sub-ledgers the entries summarise: a run's entry records how many
charge rows it wrote, their total and a checksum over (member, amount), and verification recounts
them from the charges table. At 10 million members the books stay a handful of entries per
period, while every member's charge remains provable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db.models import Charge, LedgerEntry, Pool, SharingRun
from ..errors import NotFoundError
from ..vocabulary import EntryKind
from .chain import GENESIS, entry_hash
from .posting import entry_lines

__all__ = ["CHECKSUM_MOD", "LedgerProblem", "VerifyReport", "charge_figures", "verify_ledger"]

#: Charge checksum: sum of amount * (member number mod CHECKSUM_MOD); small enough never to overflow
#: 64 bits at 10^8 members paying up to 10^6 minor units, and it changes when a minor unit moves
#: from one member to another (unless their numbers are equal modulo the prime).
CHECKSUM_MOD = 997


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


@dataclass(slots=True)
class _Walk:
    """Where a walk of the chain has got to."""

    prev: str = GENESIS
    expected_seq: int = 1
    last_seq: int = 0
    count: int = 0
    problems: list[LedgerProblem] = field(default_factory=list)
    run_entries: dict[int, dict[str, Any]] = field(default_factory=dict)

    def check(self, entry: LedgerEntry, lines: list[Any]) -> None:
        """Check one entry against the one before it and against its own hash and lines."""
        self.count += 1
        if entry.seq != self.expected_seq:
            gap = (
                f"entry {self.expected_seq} is missing"
                if entry.seq - 1 == self.expected_seq
                else f"entries {self.expected_seq} to {entry.seq - 1} are missing"
            )
            self.problems.append(LedgerProblem(entry.seq, f"{gap} (deleted?)"))
        if entry.prev_hash != self.prev:
            self.problems.append(
                LedgerProblem(entry.seq, "does not link to the entry before it (an entry was removed or replaced)")
            )
        if entry_hash(entry, lines, entry.prev_hash) != entry.hash:
            self.problems.append(LedgerProblem(entry.seq, "was edited: its contents no longer match its hash"))
        total = sum(int(ln.amount_minor) for ln in lines)
        if total != 0:
            self.problems.append(LedgerProblem(entry.seq, f"does not balance: its lines sum to {total}"))
        if entry.kind == EntryKind.SHARING and entry.run_id is not None:
            self.run_entries[entry.run_id] = {"seq": entry.seq, **json.loads(entry.facts_json)}
        self.prev = entry.hash
        self.expected_seq = entry.seq + 1
        self.last_seq = entry.seq

    def check_head(self, pool: Pool) -> None:
        """The chain must end where the pool's head says, with the head's hash."""
        if self.last_seq != int(pool.ledger_seq or 0):
            self.problems.append(
                LedgerProblem(
                    None,
                    f"the chain ends at entry {self.last_seq} but the pool's head is entry {pool.ledger_seq}: "
                    "entries at the end were deleted or the head was altered",
                )
            )
        elif self.prev != (pool.ledger_head or GENESIS):
            self.problems.append(
                LedgerProblem(
                    None,
                    f"the chain ends at entry {self.last_seq} as the pool's head says, but its hash is not the head's: "
                    "the last entry was replaced or the head was altered",
                )
            )


def _check_runs(session: Session, pool_id: int, walk: _Walk) -> None:
    """Every run has its entry, and its charges are still what the entry recorded."""
    for run_id, period in session.execute(
        select(SharingRun.id, SharingRun.period).where(SharingRun.pool_id == pool_id).order_by(SharingRun.id)
    ):
        facts = walk.run_entries.get(run_id)
        if facts is None:
            walk.problems.append(LedgerProblem(None, f"sharing run #{run_id} (period {period}) has no ledger entry"))
            continue
        rows, total, checksum = charge_figures(session, run_id)
        recorded = (facts.get("charge_rows"), facts.get("charged"))
        if (rows, total, checksum) != (*recorded, facts.get("charge_checksum")):
            walk.problems.append(
                LedgerProblem(
                    facts["seq"],
                    f"the charges of run #{run_id} (period {period}) were altered: the entry recorded "
                    f"{recorded[0]} rows totalling {recorded[1]}, the database now has {rows} rows totalling {total}"
                    + (" with a different checksum" if (rows, total) == recorded else ""),
                )
            )


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
    walk = _Walk()
    while True:
        entries = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.pool_id == pool_id, LedgerEntry.seq >= walk.expected_seq)
            .order_by(LedgerEntry.seq)
            .limit(batch)
        ).all()
        if not entries:
            break
        lines = entry_lines(session, [e.id for e in entries])
        for entry in entries:
            walk.check(entry, lines[entry.id])
    walk.check_head(pool)
    _check_runs(session, pool_id, walk)
    return VerifyReport(entries=walk.count, head=walk.prev, problems=tuple(walk.problems))
