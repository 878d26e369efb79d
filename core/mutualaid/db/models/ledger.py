"""The ledger: entries, their lines, and the verifications recorded."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary import (
    Account,
    EntryKind,
    check_values,
)
from .base import Base, Id, Minor


class LedgerEntry(Base):
    """One balanced, append-only entry of a pool's books, chained to the one before by a hash.

    ``hash`` is SHA-256 over the previous entry's hash and this entry's canonical text (its
    fields and lines), computed before the entry is inserted; ``verify`` recomputes the chain, so
    an edited or deleted entry shows. Triggers (migration 0003) refuse UPDATE and DELETE of
    entries and lines: only mutualaid.ledger.posting writes them, and only by INSERT.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    posted_on: Mapped[date] = mapped_column(Date)
    memo: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(BigInteger)
    claim_id: Mapped[int | None] = mapped_column(BigInteger)
    batch_id: Mapped[int | None] = mapped_column(BigInteger)
    reverses_id: Mapped[int | None] = mapped_column(BigInteger)
    facts_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("pool_id", "seq"),
        CheckConstraint(check_values("kind", EntryKind), name="kind"),
    )


class LedgerLine(Base):
    """A debit (positive) or credit (negative) to one account; an entry's lines sum to zero."""

    __tablename__ = "ledger_lines"

    entry_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    claim_id: Mapped[int | None] = mapped_column(BigInteger)
    amount_minor: Mapped[Minor]

    __table_args__ = (CheckConstraint(check_values("account", Account), name="account"),)


class LedgerVerification(Base):
    """A verification of a pool's chain that found nothing wrong: the entry it reached and that
    entry's hash, when, and whether it checked everything (``full``) or only what was added since
    the verification before it. ``ledger verify`` starts its next incremental check here; only
    mutualaid.ledger.checkpoints writes these rows (migration 0009)."""

    __tablename__ = "ledger_verifications"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger, index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    full: Mapped[bool] = mapped_column(Boolean)
    entries: Mapped[int] = mapped_column(BigInteger)
    # The largest member number and identity correction of the pool when its identities were
    # checked (NULL: they were not; the next verification checks them all): migration 0010.
    members_through: Mapped[int | None] = mapped_column(BigInteger)
    corrections_through: Mapped[int | None] = mapped_column(BigInteger)
    # What the pool's prepaid balances held in all, proved equal to the ledger at ``seq`` (NULL:
    # recorded before migration 0017; ``ledger balance`` then adds every balance up).
    held_minor: Mapped[int | None] = mapped_column(BigInteger)
