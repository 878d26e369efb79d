"""Database tables (SQLAlchemy 2 typed models). The schema itself is made by Alembic migrations.

Money columns are integers of minor units (``*_minor``) beside the pool's currency. The charges
table is designed for the write: a natural (run, member) primary key, no per-row foreign keys
(every charge is built from the members table in the same statement) and no secondary index (every
read of charges is by run, or by run and member).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "Charge", "Claim", "Member", "Pool", "SharingRun", "LIVE_STATUSES"]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Member statuses in which a person holds a live membership (at most one per pool).
LIVE_STATUSES = ("active", "frozen")

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


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"))
    id_number: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    joined_on: Mapped[date] = mapped_column(Date)
    waiting_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    ended_on: Mapped[date | None] = mapped_column(Date)
    attributes_json: Mapped[str] = mapped_column(Text)


# One person holds at most one live membership per pool (a partial unique index).
Index(
    "uq_members_live_person",
    Member.pool_id,
    Member.id_number,
    unique=True,
    sqlite_where=Member.status.in_(LIVE_STATUSES),
    postgresql_where=Member.status.in_(LIVE_STATUSES),
)
Index("ix_members_pool_id_joined_on", Member.pool_id, Member.joined_on)
# Look-ups of a person in a pool in any status (member show by ID number, the deceased check).
Index("ix_members_pool_id_id_number", Member.pool_id, Member.id_number)


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
    status: Mapped[str] = mapped_column(String(16))
    benefit_minor: Mapped[int | None] = mapped_column(BigInteger)
    cap_minor: Mapped[int | None] = mapped_column(BigInteger)
    reasons_json: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sharing_run_id: Mapped[int | None] = mapped_column(ForeignKey("sharing_runs.id"), index=True)


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

    __table_args__ = (UniqueConstraint("pool_id", "period"),)


class Charge(Base):
    __tablename__ = "charges"

    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    amount_minor: Mapped[Minor]
