"""Verifying a pool's books: the hash chain recomputed from the first entry, the records every
entry rests on rechecked against what it recorded, and the chain held against heads published
outside the database.

Member-level detail lives in records the entries summarise: a run's entry records how many charge
rows it wrote, their total and their SHA-256 digest, and the digest and figures of the claims it
funded; a payment batch's or top-up's entry the digest and totals of its rows (:mod:`.digests`,
:mod:`.facts`). At 10 million members the books stay a handful of entries per period, while every
member's charge remains provable. A chain recomputed from scratch after an edit verifies on its
own; the heads members were sent in statements and notices (:mod:`.anchors`) catch it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import LedgerEntry, Pool
from ..errors import NotFoundError
from ..vocabulary import EntryKind
from .anchors import Anchor
from .chain import GENESIS, entry_hash
from .checkpoints import Checkpoint
from .digests import CHECKSUM_MOD
from .facts import Recorded, check_records
from .posting import entry_lines

__all__ = ["CHECKSUM_MOD", "LedgerProblem", "VerifyReport", "verify_ledger"]

#: The kind of a voided run's reversing entry (``EntryKind.VOID``): its run's claims went back to
#: be shared again, so they are no longer checked against the run's entry (its charges still are).
_VOID = "void"


@dataclass(frozen=True, slots=True)
class LedgerProblem:
    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.message}" if self.seq is not None else self.message


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The chain rechecked from the first entry: every problem found, or none. ``head_seq`` and
    ``head`` are where the chain ends; ``anchors`` how many published heads were checked."""

    entries: int
    head: str
    problems: tuple[LedgerProblem, ...] = field(default_factory=tuple)
    head_seq: int = 0
    anchors: int = 0
    #: What else was (or could not be) checked, in words: members' identities (see api/members.py).
    notes: tuple[str, ...] = ()
    #: The verification an incremental check started from (None: the whole chain was checked), and
    #: the first entry it walked.
    since: Checkpoint | None = None
    first_seq: int = 1

    @property
    def full(self) -> bool:
        return self.since is None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(slots=True)
class _Walk:
    """Where a walk of the chain has got to."""

    anchored: set[int] = field(default_factory=set)
    prev: str = GENESIS
    expected_seq: int = 1
    last_seq: int = 0
    count: int = 0
    problems: list[LedgerProblem] = field(default_factory=list)
    recorded: Recorded = field(default_factory=Recorded)
    #: entry number -> (hash stored, hash recomputed), for the entries a published head names
    hashes: dict[int, tuple[str, str]] = field(default_factory=dict)

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
        recomputed = entry_hash(entry, lines, entry.prev_hash)
        if recomputed != entry.hash:
            self.problems.append(LedgerProblem(entry.seq, "was edited: its contents no longer match its hash"))
        if entry.seq in self.anchored:
            self.hashes[entry.seq] = (entry.hash, recomputed)
        total = sum(int(ln.amount_minor) for ln in lines)
        if total != 0:
            self.problems.append(LedgerProblem(entry.seq, f"does not balance: its lines sum to {total}"))
        self.record(entry)
        self.prev = entry.hash
        self.expected_seq = entry.seq + 1
        self.last_seq = entry.seq

    def record(self, entry: LedgerEntry) -> None:
        """Keep what the entry recorded about the records it rests on."""
        kind = entry.kind
        if kind not in (EntryKind.SHARING, EntryKind.PAYMENTS, EntryKind.TOP_UP, _VOID):
            return
        facts = {"seq": entry.seq, **json.loads(entry.facts_json)}
        if kind == EntryKind.SHARING and entry.run_id is not None:
            self.recorded.runs[entry.run_id] = facts
        elif kind == _VOID and entry.run_id is not None:
            self.recorded.voided.add(entry.run_id)
        elif kind == EntryKind.PAYMENTS and entry.batch_id is not None:
            self.recorded.batches[entry.batch_id] = facts
        elif kind == EntryKind.TOP_UP:
            self.recorded.top_ups[entry.id] = facts

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

    def check_anchors(self, anchors: Sequence[Anchor]) -> None:
        """Each head published earlier must still be in the chain, at its entry, with its hash."""
        for anchor in anchors:
            published = f"published head of entry {anchor.seq} ({anchor.short})"
            if anchor.seq == 0:
                if anchor.hash != GENESIS:
                    self.problems.append(
                        LedgerProblem(None, f"{published} is not a head: an empty ledger's hash is {GENESIS[:12]}…")
                    )
            elif anchor.seq not in self.hashes:
                self.problems.append(
                    LedgerProblem(
                        None,
                        f"{published} is not in the chain, which ends at entry {self.last_seq}: entries published "
                        "were deleted",
                    )
                )
            elif self.hashes[anchor.seq] != (anchor.hash, anchor.hash):
                self.problems.append(
                    LedgerProblem(
                        None, f"{published} is not in the chain: the ledger was rewritten after it was published"
                    )
                )


def _resume(session: Session, walk: _Walk, pool_id: int, since: Checkpoint, anchors: Sequence[Anchor]) -> bool:
    """Start ``walk`` after the checkpoint: its entry must still be there with the hash it had when
    it was verified, and its own contents must still match that hash. Published heads at or before
    the checkpoint are held against the entries' stored and recomputed hashes; the records of the
    entries up to the checkpoint are noted as settled (not rechecked). False (with the problem
    added) if the checkpoint does not hold: then nothing after it is walked."""
    wanted = {since.seq} | {a.seq for a in anchors if 0 < a.seq <= since.seq}
    at = {
        e.seq: e
        for e in session.scalars(select(LedgerEntry).where(LedgerEntry.pool_id == pool_id, LedgerEntry.seq.in_(wanted)))
    }
    lines = entry_lines(session, [e.id for e in at.values()])
    for seq, entry in at.items():
        walk.hashes[seq] = (entry.hash, entry_hash(entry, lines[entry.id], entry.prev_hash))
    verified = f"the verification of {since.day} reached entry {since.seq} with hash {since.hash[:12]}…"
    if since.seq not in at:
        walk.problems.append(LedgerProblem(None, f"{verified}, which is no longer in the chain: entries were deleted"))
        return False
    stored, recomputed = walk.hashes[since.seq]
    if stored != since.hash:
        walk.problems.append(
            LedgerProblem(
                since.seq,
                f"{verified}, its hash is now {stored[:12]}…: the ledger up to it was rewritten (use --full to find where)",
            )
        )
        return False
    if recomputed != stored:
        walk.problems.append(LedgerProblem(since.seq, "was edited: its contents no longer match its hash"))
        return False
    settled = session.execute(
        select(LedgerEntry.id, LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.run_id, LedgerEntry.batch_id).where(
            LedgerEntry.pool_id == pool_id, LedgerEntry.seq <= since.seq
        )
    ).all()
    for entry_id, seq, kind, run_id, batch_id in settled:
        if kind == EntryKind.SHARING and run_id is not None:
            walk.recorded.settled_runs[int(run_id)] = int(seq)
        elif kind == EntryKind.PAYMENTS and batch_id is not None:
            walk.recorded.settled_batches[int(batch_id)] = int(seq)
        elif kind == EntryKind.TOP_UP:
            walk.recorded.settled_top_ups.add(int(entry_id))
    walk.prev, walk.expected_seq, walk.last_seq = since.hash, since.seq + 1, since.seq
    return True


def verify_ledger(
    session: Session,
    pool_id: int,
    *,
    anchors: Sequence[Anchor] = (),
    batch: int = 2000,
    since: Checkpoint | None = None,
) -> VerifyReport:
    """Recompute a pool's hash chain, recheck the records its entries rest on, and hold it against
    the heads published earlier.

    Finds: an entry whose fields, facts or lines were edited (its hash no longer matches); an entry
    deleted or inserted (the sequence or the link to the previous hash breaks, or the chain no longer
    ends at the head kept on the pool); an unbalanced entry; a run whose charges were edited, moved,
    deleted or added (rows, total or digest differ from what its entry recorded), or whose funded
    claims were; a run with no entry, or an entry whose run is gone; a payment batch whose rows or
    totals, or a top-up entry whose rows, were altered, and rows belonging to no entry; a published
    head (``anchors``) no longer in the chain -- a chain recomputed from scratch after an edit.

    ``since`` (the last successful verification, :mod:`.checkpoints`) checks only what was added
    after it: the checkpoint's entry must still have its hash, then the entries after it and the
    records of the runs, batches and top-ups they posted are checked. Records of earlier entries
    edited later are only found by a full check (no ``since``).
    """
    pool = session.get(Pool, pool_id)
    if pool is None:
        raise NotFoundError(f"pool #{pool_id} does not exist")
    walk = _Walk(anchored={a.seq for a in anchors})
    if since is not None and not _resume(session, walk, pool_id, since, anchors):
        return VerifyReport(
            entries=0,
            head=since.hash,
            problems=tuple(walk.problems),
            head_seq=since.seq,
            anchors=len(anchors),
            since=since,
            first_seq=since.seq + 1,
        )
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
    walk.check_anchors(anchors)
    for problem in check_records(session, pool, walk.recorded):
        walk.problems.append(LedgerProblem(problem.seq, problem.message))
    return VerifyReport(
        entries=walk.count,
        head=walk.prev,
        problems=tuple(walk.problems),
        head_seq=walk.last_seq,
        anchors=len(anchors),
        since=since,
        first_seq=since.seq + 1 if since is not None else 1,
    )
