"""Database tables (SQLAlchemy 2 typed models). The schema itself is made by Alembic migrations.

Money columns are integers of minor units (``*_minor``) beside the pool's currency. The charges
table is designed for the write: a natural (run, member) primary key, no per-row foreign keys
(every charge is built from the members table in the same statement) and no secondary index (every
read of charges is by run, or by run and member).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..vocabulary import (
    LIVE_STATUSES,
    Account,
    ClaimNoteKind,
    ClaimStatus,
    DeliveryStatus,
    EntryKind,
    FeePolicy,
    JuryStatus,
    JuryThreshold,
    MemberChange,
    MemberStatus,
    ObjectionKind,
    ObjectionStatus,
    PaymentModel,
    PaymentResult,
    Rounding,
    ShortfallPolicy,
    Vote,
    check_values,
)

#: The condition of the partial index of members not active, as queries must repeat it to use it.
NOT_ACTIVE = "status != 'active'"

__all__ = [
    "NOT_ACTIVE",
    "Balance",
    "Base",
    "Charge",
    "Claim",
    "ClaimAmendment",
    "ClaimCost",
    "ClaimNote",
    "ClaimObjection",
    "ClaimStatusChange",
    "Juror",
    "Jury",
    "JuryQualification",
    "LedgerEntry",
    "LedgerLine",
    "LedgerVerification",
    "IdentityKey",
    "Member",
    "MemberIdentityCorrection",
    "MemberStatusChange",
    "NoticeDelivery",
    "Payment",
    "PaymentBatch",
    "Pool",
    "SharingRun",
    "SharingRunVoid",
    "TopUp",
    "TopUpReversal",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# An auto-incrementing 64-bit key that is SQLite's rowid on SQLite.
Id = BigInteger().with_variant(Integer, "sqlite")
Minor = Annotated[int, mapped_column(BigInteger)]
Key = Annotated[str, mapped_column(String(64))]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Pool(Base):
    __tablename__ = "pools"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[Key] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    cohort: Mapped[Key]
    currency: Mapped[str] = mapped_column(String(3))
    config_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The head of the pool's ledger hash chain: deleting the last entry is detected against it.
    ledger_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    ledger_head: Mapped[str | None] = mapped_column(String(64))


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"))
    # The ID number is never stored in plain text (revision 0007, mutualaid.keys): encrypted under
    # the operator's key (AES-GCM, a nonce per row); its keyed hash and masked form are below.
    id_cipher: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    joined_on: Mapped[date] = mapped_column(Date)
    waiting_until: Mapped[date] = mapped_column(Date)
    # Written only by mutualaid.members.lifecycle, which records every change in member_status_changes.
    status: Mapped[str] = mapped_column(String(16))
    ended_on: Mapped[date | None] = mapped_column(Date)
    attributes_json: Mapped[str] = mapped_column(Text)
    # Contact fields, all optional: where notices are sent, the language they are written in, and
    # the home city public notices show beside a claimant's masked name.
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(8))
    city: Mapped[str | None] = mapped_column(String(100))
    # The ID number's keyed hash (HMAC-SHA256: uniqueness, look-ups) and masked form (110****34:
    # every listing and notice), and a keyed seal over the member's identity (pool, number, name,
    # ID number, birth date, joining day): `ledger verify` names a member changed in the database.
    # Written only by mutualaid.members.lifecycle.
    id_hash: Mapped[str] = mapped_column(String(64))
    id_masked: Mapped[str] = mapped_column(String(64))
    identity_seal: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint(check_values("status", MemberStatus), name="status"),)


# One person holds at most one live membership per pool (a partial unique index).
Index(
    "uq_members_live_person",
    Member.pool_id,
    Member.id_hash,
    unique=True,
    sqlite_where=Member.status.in_(LIVE_STATUSES),
    postgresql_where=Member.status.in_(LIVE_STATUSES),
)
# The sharing index: a sharing run counts and charges the members covered on a day from this index
# alone (every column its condition and weights read is in it), in member-number order within a
# joining day, so the charges are written nearly in key order. Narrow rows instead of the table's.
Index(
    "ix_members_sharing",
    Member.pool_id,
    Member.joined_on,
    Member.id,
    Member.ended_on,
    Member.status,
    Member.birth_date,
    Member.waiting_until,
)
# Look-ups of a person in a pool in any status (member show by ID number, the deceased check).
Index("ix_members_pool_id_id_hash", Member.pool_id, Member.id_hash)
# The members not active (frozen, lapsed, exited, deceased), by status and number: listing them on a
# pool of millions. Partial, so that joining active members never writes to it (migration 0010); a
# query uses it only when it repeats the condition word for word (see members.service).
Index(
    "ix_members_not_active",
    Member.pool_id,
    Member.status,
    Member.id,
    sqlite_where=text(NOT_ACTIVE),
    postgresql_where=text(NOT_ACTIVE),
)


class IdentityKey(Base):
    """The check value of the key the database's ID numbers are encrypted under (one row, written
    with the first ID number): a missing, new or wrong key file is refused before anything is
    written with it (mutualaid.members.sealing)."""

    __tablename__ = "identity_keys"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    check_value: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MemberIdentityCorrection(Base):
    """A correction of a member's identity (name, ID number, birth date): who, when, why, the
    values before and after (ID numbers encrypted and masked, as on the member's row), sealed.
    Written only by mutualaid.members.lifecycle."""

    __tablename__ = "member_identity_corrections"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    corrected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    corrected_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    old_name: Mapped[str] = mapped_column(String(200))
    new_name: Mapped[str] = mapped_column(String(200))
    old_id_cipher: Mapped[str] = mapped_column(String(128))
    new_id_cipher: Mapped[str] = mapped_column(String(128))
    old_id_masked: Mapped[str] = mapped_column(String(64))
    new_id_masked: Mapped[str] = mapped_column(String(64))
    old_birth_date: Mapped[date] = mapped_column(Date)
    new_birth_date: Mapped[date] = mapped_column(Date)
    seal: Mapped[str] = mapped_column(String(64))


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


class SharingRun(Base):
    __tablename__ = "sharing_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"))
    period: Mapped[str] = mapped_column(String(16))
    notice_date: Mapped[date] = mapped_column(Date)
    deduction_date: Mapped[date] = mapped_column(Date)
    rounding: Mapped[str] = mapped_column(String(16))
    fee_rate: Mapped[str] = mapped_column(String(32))
    members_count: Mapped[int] = mapped_column(BigInteger)
    claims_count: Mapped[int] = mapped_column(Integer)
    aid_minor: Mapped[Minor]
    fee_minor: Mapped[Minor]
    surplus_in_minor: Mapped[Minor]
    surplus_out_minor: Mapped[Minor]
    need_minor: Mapped[Minor]
    share_minor: Mapped[Minor]
    extra_count: Mapped[int] = mapped_column(BigInteger)
    charged_minor: Mapped[Minor]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Added by migration 0002: fee policy, caps, weights, rotation and the payment model.
    fee_policy: Mapped[str] = mapped_column(String(16), default="rate", server_default="rate")
    payment_model: Mapped[str] = mapped_column(String(16), default="postpaid", server_default="postpaid")
    total_weight: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    aid_funded_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    carried_in_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    carried_out_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    sponsor_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    shortfall_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    shortfall_policy: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    capped_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    charge_rows: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    max_charge_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Before revision 0008: sum(amount x (member mod 997)), the checksum the entries of those runs
    # recorded (and are verified by); runs since leave it 0 and record charge_digest instead.
    charge_checksum: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    frozen_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Rotation of the extra minor units of an exact apportionment: this run gave them from member
    # number extra_from_id on (wrapping round to the lowest numbers); the next run starts after extra_to_id.
    extra_from_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    extra_to_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    plan_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    # Corrections (revision 0006): the period's runs before this one that were voided (0 for the
    # first); a period has at most one run that is not voided (sharing_run_voids).
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Revision 0008: SHA-256 of the run's charges (mutualaid.ledger.digests), as its entry records it.
    charge_digest: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("pool_id", "period", "attempt"),
        CheckConstraint(check_values("rounding", Rounding), name="rounding"),
        CheckConstraint(check_values("fee_policy", FeePolicy), name="fee_policy"),
        CheckConstraint(check_values("payment_model", PaymentModel), name="payment_model"),
        CheckConstraint(check_values("shortfall_policy", ShortfallPolicy), name="shortfall_policy"),
    )


class SharingRunVoid(Base):
    """A sharing run voided before its deduction day (the run's row and charges are kept as they
    were): who, when, why, the entry reversing the run's, what was given back. A voided run's
    charges count nowhere. Written only by mutualaid.sharing.void."""

    __tablename__ = "sharing_run_voids"

    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger, index=True)
    voided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    voided_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[int] = mapped_column(BigInteger)
    claims_count: Mapped[int] = mapped_column(Integer)
    unfrozen_count: Mapped[int] = mapped_column(BigInteger)


class Charge(Base):
    __tablename__ = "charges"
    # On SQLite the rows live in their key's B-tree (no rowid table beside it): migration 0010. On
    # PostgreSQL each run's charges are a partition of their own (mutualaid.db.partitions): 0011.
    __table_args__ = {"sqlite_with_rowid": False, "postgresql_partition_by": "LIST (run_id)"}

    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    amount_minor: Mapped[Minor]


class MemberStatusChange(Base):
    """A member's history: each change (joined, covered, frozen, unfrozen, lapsed, exited, died),
    the status it left and the day it holds from. Claims are decided against it (an event while
    frozen is not covered). Written only by mutualaid.members.lifecycle."""

    __tablename__ = "member_status_changes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger, index=True)
    change: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    since: Mapped[date] = mapped_column(Date)
    cause: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint(check_values("change", MemberChange), name="change"),
        CheckConstraint(check_values("status", MemberStatus), name="status"),
    )


class Balance(Base):
    """A prepaid member's balance in minor units (a liability of the pool to the member)."""

    __tablename__ = "balances"

    member_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger, index=True)
    balance_minor: Mapped[Minor]


class TopUp(Base):
    """Money a prepaid member put into their balance."""

    __tablename__ = "top_ups"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger, index=True)
    member_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amount_minor: Mapped[Minor]
    received_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[int | None] = mapped_column(BigInteger)


class TopUpReversal(Base):
    """A top-up recorded by mistake and reversed (the top-up's row is kept as it was): who, when,
    why and the reversing entry. Written only by mutualaid.payments.reversal."""

    __tablename__ = "top_up_reversals"

    top_up_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger, index=True)
    member_id: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[Minor]
    reversed_on: Mapped[date] = mapped_column(Date)
    reversed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reversed_by: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[int] = mapped_column(BigInteger)


class PaymentBatch(Base):
    """One imported file of payment results (postpaid pools)."""

    __tablename__ = "payment_batches"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger, index=True)
    source: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    paid_count: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[Minor]
    failed_count: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("pool_id", "digest"),)


class Payment(Base):
    """One attempt to collect a charge (postpaid): paid or failed, on a day."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(BigInteger, index=True)
    run_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    result: Mapped[str] = mapped_column(String(16))
    attempted_on: Mapped[date] = mapped_column(Date)
    amount_minor: Mapped[Minor]

    __table_args__ = (CheckConstraint(check_values("result", PaymentResult), name="result"),)


Index("ix_payments_run_id_member_id", Payment.run_id, Payment.member_id)


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


class NoticeDelivery(Base):
    """The send log of notices by email: one row per notice (kind and reference, such as a period
    or a claim) and member. A row is written ``sending`` and committed before the message goes to
    the server, and marked ``sent`` once the server accepted it; ``failed`` keeps the error and is
    retried by the next send."""

    __tablename__ = "notice_deliveries"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pool_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(BigInteger)
    address: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    message_id: Mapped[str] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(check_values("status", DeliveryStatus), name="status"),
        UniqueConstraint("pool_id", "kind", "reference", "member_id"),
    )


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
