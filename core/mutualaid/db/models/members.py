"""Members, their history and their identities: the rows ``mutualaid.members`` owns."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ...vocabulary import (
    LIVE_STATUSES,
    MemberChange,
    MemberStatus,
    check_values,
)
from .base import NOT_ACTIVE, PAST_JOINING, Base, Id


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
# The people whose membership has ended (lapsed, exited, deceased) by keyed hash: with the live
# index above it finds a person in any status (member show by ID number, earlier memberships, the
# deceased check), each query repeating one index's condition word for word. Partial, so that
# joining and importing members write one index of the random hashes instead of two (migration 0012).
Index(
    "ix_members_ended_person",
    Member.pool_id,
    Member.id_hash,
    sqlite_where=Member.status.not_in(LIVE_STATUSES),
    postgresql_where=Member.status.not_in(LIVE_STATUSES),
)
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


# The history past joining (frozen, unfrozen, lapsed, exited, died), by change and day: the
# lifecycle notices find the members given one since a day among these rows, not among every
# member's joining rows, which are most of the table. Partial, so that joining and importing
# members never write to it (migration 0018); a query uses it only when it repeats the condition
# word for word (see mutualaid.notices.kinds.lifecycle).
Index(
    "ix_member_status_changes_past_joining",
    MemberStatusChange.change,
    MemberStatusChange.since,
    MemberStatusChange.member_id,
    sqlite_where=text(PAST_JOINING),
    postgresql_where=text(PAST_JOINING),
)
