"""Where a pool's chain was last verified: the checkpoint an incremental ``ledger verify`` starts at.

Every verification that finds nothing wrong records the entry it reached and that entry's hash
(:class:`~mutualaid.db.models.LedgerVerification`). The next one confirms that entry still has that
hash, then walks only the entries after it and rechecks the records of the runs, payment batches
and top-ups they posted. What it cannot see: the charges, claims, payments and top-ups of entries
at or before the checkpoint, edited since (their digests are only recomputed by a full check). A
rewrite of the entries at or before the checkpoint is seen: it either leaves an entry whose hash no
longer matches (the chain is not recomputed) or, recomputed, changes the checkpoint entry's hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import LedgerVerification

__all__ = ["Checkpoint", "last_checkpoint", "record_checkpoint"]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A successful verification: the entry it reached (``seq``, ``hash``), when, full or not."""

    seq: int
    hash: str
    verified_at: datetime
    full: bool
    #: The pool's largest member and identity correction numbers when the members' identities were
    #: checked with it (``None``: they were not; the next verification checks them all).
    members_through: int | None = None
    corrections_through: int | None = None
    #: What the pool's prepaid balances held in all, proved equal to the ledger at ``seq``
    #: (:mod:`.held`; ``None``: recorded before it was kept).
    held_minor: int | None = None

    @property
    def day(self) -> str:
        return self.verified_at.strftime("%Y-%m-%d %H:%M UTC")


def last_checkpoint(session: Session, pool_id: int) -> Checkpoint | None:
    """The pool's last successful verification, or None if it was never verified."""
    row = session.scalars(
        select(LedgerVerification)
        .where(LedgerVerification.pool_id == pool_id)
        .order_by(LedgerVerification.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    at = row.verified_at if row.verified_at.tzinfo is not None else row.verified_at.replace(tzinfo=UTC)
    return Checkpoint(
        int(row.seq),
        row.hash,
        at.astimezone(UTC),
        bool(row.full),
        None if row.members_through is None else int(row.members_through),
        None if row.corrections_through is None else int(row.corrections_through),
        None if row.held_minor is None else int(row.held_minor),
    )


def record_checkpoint(
    session: Session,
    pool_id: int,
    *,
    seq: int,
    hash: str,
    full: bool,
    entries: int,
    members_through: int | None = None,
    corrections_through: int | None = None,
    held_minor: int | None = None,
) -> Checkpoint:
    """Record a verification that found nothing wrong (only ``ledger verify`` calls this), with how
    far it checked the members' identities, when it did, and what the balances held in all."""
    at = datetime.now(UTC)
    session.add(
        LedgerVerification(
            pool_id=pool_id,
            seq=seq,
            hash=hash,
            verified_at=at,
            full=full,
            entries=entries,
            members_through=members_through,
            corrections_through=corrections_through,
            held_minor=held_minor,
        )
    )
    session.flush()
    return Checkpoint(seq, hash, at, full, members_through, corrections_through, held_minor)
