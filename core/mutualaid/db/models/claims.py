"""Claims, their amendments and history, and their public governance: notes, costs, objections
and juries.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary import (
    ClaimNoteKind,
    ClaimStatus,
    JuryStatus,
    JuryThreshold,
    ObjectionKind,
    ObjectionStatus,
    Vote,
    check_values,
)
from .base import Base, Id, Key, Minor


class Claim(Base):
    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    event_kind: Mapped[Key]
    event_date: Mapped[date] = mapped_column(Date)
    filed_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    details_json: Mapped[str] = mapped_column(Text)
    # The member's cohort attributes when the claim was filed: the claim is decided on them, so a
    # later update (a renewed licence) cannot change the outcome of an earlier event.
    member_attributes_json: Mapped[str] = mapped_column(Text)
    # Written only by mutualaid.claims.machine, which records every change in claim_status_changes.
    status: Mapped[str] = mapped_column(String(16))
    benefit_minor: Mapped[int | None] = mapped_column(BigInteger)
    cap_minor: Mapped[int | None] = mapped_column(BigInteger)
    reasons_json: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the sharing run funded (below the benefit only when a cap prorated it).
    funded_minor: Mapped[int | None] = mapped_column(BigInteger)
    # Contributions given back to the member on a denial that refunds them.
    refund_minor: Mapped[int | None] = mapped_column(BigInteger)
    sharing_run_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_runs.id"), index=True)
    # Governance (revision 0005): who filed and who reviewed it (four eyes), the decision proposed
    # and put in public notice, and the day its notice window closes.
    filed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    proposal_json: Mapped[str | None] = mapped_column(Text)
    notice_closes_on: Mapped[date | None] = mapped_column(Date)
    # Corrections (revision 0006): the most the claim asks for, set by an amendment's --benefit
    # (the benefit paid is the cohort's decision, never above it).
    requested_minor: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint(check_values("status", ClaimStatus), name="status"),)


class ClaimAmendment(Base):
    """A claim amended before it was shared: who, when, why, and each field's old and new value
    (``changes_json``: field -> [old, new]); the status it had and the one it was sent back to.
    Written only by mutualaid.claims.corrections."""

    __tablename__ = "claim_amendments"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    claim_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    changes_json: Mapped[str] = mapped_column(Text)
    status_before: Mapped[str] = mapped_column(String(16))
    status_after: Mapped[str] = mapped_column(String(16))


class ClaimStatusChange(Base):
    """A claim's history: each status it entered, when and why (filed, approved, rejected, shared)."""

    __tablename__ = "claim_status_changes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    claim_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cause: Mapped[str] = mapped_column(Text)
    # Who made the change (``--by``); empty for the system's own moves (a sharing run).
    actor: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (CheckConstraint(check_values("status", ClaimStatus), name="status"),)


class ClaimNote(Base):
    """A claim's investigation file: documents attached by reference and investigators' notes."""

    __tablename__ = "claim_notes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    claim_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint(check_values("kind", ClaimNoteKind), name="kind"),)


class ClaimCost(Base):
    """What investigating a claim cost, paid from the operator's fee (posted to the ledger)."""

    __tablename__ = "claim_costs"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    claim_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amount_minor: Mapped[Minor]
    description: Mapped[str] = mapped_column(Text)
    incurred_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    entry_id: Mapped[int | None] = mapped_column(BigInteger)


class ClaimObjection(Base):
    """A member's objection to a claim in public notice, or the claimant's dispute of a rejection."""

    __tablename__ = "claim_objections"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    claim_id: Mapped[int] = mapped_column(BigInteger, index=True)
    member_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    filed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    resolution: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(check_values("kind", ObjectionKind), name="kind"),
        CheckConstraint(check_values("status", ObjectionStatus), name="status"),
    )


class Jury(Base):
    """A member jury (评议团) drawn for one claim: the draw's seed (so it can be made again), its
    size, quorum and threshold, the voting window, and the tally once closed."""

    __tablename__ = "juries"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    claim_id: Mapped[int] = mapped_column(BigInteger, index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    quorum: Mapped[int] = mapped_column(BigInteger)
    threshold: Mapped[str] = mapped_column(String(16))
    opened_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    votes_pay: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    votes_reject: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(check_values("threshold", JuryThreshold), name="threshold"),
        CheckConstraint(check_values("status", JuryStatus), name="status"),
    )


class Juror(Base):
    """A member drawn for a jury, and their vote once cast (one per juror)."""

    __tablename__ = "jurors"

    jury_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    vote: Mapped[str | None] = mapped_column(String(8))
    voted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint(check_values("vote", Vote), name="vote"),)


class JuryQualification(Base):
    """A member who passed the jurors' exam (a pool may draw only them)."""

    __tablename__ = "jury_qualifications"

    member_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger, index=True)
    passed_on: Mapped[date] = mapped_column(Date)
