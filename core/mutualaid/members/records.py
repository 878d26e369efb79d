"""What the members domain gives back: a member, an update, an identity correction, and the state a
person sees on a day."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..db.models import Member, MemberIdentityCorrection
from ..keys import IdentityKeys
from ..vocabulary import LIVE_STATUSES, MemberChange, MemberState, MemberStatus

__all__ = [
    "HistoryEntry",
    "IdentityCorrection",
    "MemberRecord",
    "MemberUpdate",
    "correction_of",
    "member_state",
    "record_of",
]


def member_state(status: str, waiting: date, on: date) -> MemberState:
    """The state a person sees: ``waiting`` while an active member is inside the waiting period."""
    if status == MemberStatus.ACTIVE and on <= waiting:
        return MemberState.WAITING
    return MemberState(status)


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A member as the API returns it; the contact fields are ``None`` when not given.

    ``id_number`` is masked (``110*************34``) unless the caller asked for it revealed (with
    the operator's key): then ``revealed`` is true.
    """

    id: int
    pool_key: str
    id_number: str
    name: str
    birth_date: date
    joined_on: date
    waiting_until: date
    status: MemberStatus
    ended_on: date | None
    attributes: dict[str, Any]
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    city: str | None = None
    revealed: bool = False

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES

    def state_on(self, on: date) -> MemberState:
        return member_state(self.status, self.waiting_until, on)

    @property
    def contacts(self) -> dict[str, str]:
        """The contact fields given, by name, in the order of :data:`~mutualaid.contacts.CONTACT_FIELDS`."""
        given = {"email": self.email, "phone": self.phone, "locale": self.locale, "city": self.city}
        return {name: value for name, value in given.items() if value is not None}

    def as_dict(self, on: date | None = None) -> dict[str, Any]:
        """The member as JSON values; each contact field is there only when given."""
        data: dict[str, Any] = {
            "id": self.id,
            "pool": self.pool_key,
            "id_number": self.id_number,
            "name": self.name,
            "birth_date": self.birth_date.isoformat(),
            "joined_on": self.joined_on.isoformat(),
            "waiting_until": self.waiting_until.isoformat(),
            "status": self.status.value,
            "ended_on": self.ended_on.isoformat() if self.ended_on else None,
            "attributes": self.attributes,
            **self.contacts,
        }
        if on is not None:
            data["state"] = self.state_on(on).value
        return data


def record_of(row: Member, pool_key: str, keys: IdentityKeys | None = None) -> MemberRecord:
    """The member as the API returns it: the ID number masked, or decrypted with ``keys`` (a value
    that does not decrypt, changed in the database, stays masked: ``ledger verify`` names it)."""
    plain = keys.decrypt(row.pool_id, row.id_cipher) if keys is not None else None
    return MemberRecord(
        id=row.id,
        pool_key=pool_key,
        id_number=plain if plain is not None else row.id_masked,
        name=row.name,
        birth_date=row.birth_date,
        joined_on=row.joined_on,
        waiting_until=row.waiting_until,
        status=MemberStatus(row.status),
        ended_on=row.ended_on,
        attributes=json.loads(row.attributes_json),
        email=row.email,
        phone=row.phone,
        locale=row.locale,
        city=row.city,
        revealed=plain is not None,
    )


@dataclass(frozen=True, slots=True)
class MemberUpdate:
    """What an update did: the member as now stored, and each attribute or contact field that
    changed as ``name: (old, new)`` (JSON values; ``None`` where there was or is no value)."""

    member: MemberRecord
    changes: dict[str, tuple[Any, Any]]

    def as_dict(self, on: date | None = None) -> dict[str, Any]:
        return {
            "member": self.member.as_dict(on),
            "changes": {name: {"old": old, "new": new} for name, (old, new) in self.changes.items()},
        }


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change in a member's history: what changed, the status from ``since`` on, and why."""

    change: MemberChange
    status: MemberStatus
    since: date
    cause: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": self.change.value,
            "status": self.status.value,
            "since": self.since.isoformat(),
            "cause": self.cause,
        }


@dataclass(frozen=True, slots=True)
class IdentityCorrection:
    """A correction of a member's identity: when, by whom, why, and each value before and after
    (ID numbers masked)."""

    member_id: int
    corrected_at: datetime
    corrected_by: str
    reason: str
    old_name: str
    new_name: str
    old_id_number: str
    new_id_number: str
    old_birth_date: date
    new_birth_date: date
    #: Whether the ID number changed (two numbers may have the same masked form).
    id_number_changed: bool = False

    @property
    def changes(self) -> dict[str, tuple[str, str]]:
        """What the correction changed, as ``name: (old, new)``."""
        changes = {}
        if self.old_name != self.new_name:
            changes["name"] = (self.old_name, self.new_name)
        if self.id_number_changed:
            changes["id_number"] = (self.old_id_number, self.new_id_number)
        if self.old_birth_date != self.new_birth_date:
            changes["birth_date"] = (self.old_birth_date.isoformat(), self.new_birth_date.isoformat())
        return changes

    def as_dict(self) -> dict[str, Any]:
        return {
            "member": self.member_id,
            "corrected_at": self.corrected_at.isoformat(),
            "by": self.corrected_by,
            "reason": self.reason,
            "changes": {name: {"old": old, "new": new} for name, (old, new) in self.changes.items()},
        }


def correction_of(row: MemberIdentityCorrection) -> IdentityCorrection:
    return IdentityCorrection(
        member_id=row.member_id,
        corrected_at=row.corrected_at,
        corrected_by=row.corrected_by,
        reason=row.reason,
        old_name=row.old_name,
        new_name=row.new_name,
        old_id_number=row.old_id_masked,
        new_id_number=row.new_id_masked,
        old_birth_date=row.old_birth_date,
        new_birth_date=row.new_birth_date,
        id_number_changed=row.old_id_cipher != row.new_id_cipher,
    )
