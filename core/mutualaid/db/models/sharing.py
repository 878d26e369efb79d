"""Sharing runs, their voids and their charges."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary import (
    FeePolicy,
    PaymentModel,
    Rounding,
    ShortfallPolicy,
    check_values,
)
from .base import Base, Id, Minor


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
