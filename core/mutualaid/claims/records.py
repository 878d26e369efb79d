"""What the claims domain gives back: a claim, a rejection, and a claim's history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ..cohort import BenefitDecision
from ..db.models import Claim, ClaimAmendment, ClaimCost, ClaimNote, ClaimObjection
from ..members.records import MemberRecord
from ..money import Money, from_minor
from ..pools import PoolRecord
from ..vocabulary import ClaimNoteKind, ClaimStatus, ObjectionKind, ObjectionStatus

__all__ = [
    "Amendment",
    "ClaimDetail",
    "ClaimHistoryEntry",
    "ClaimRecord",
    "InvestigationCost",
    "InvestigationNote",
    "Objection",
    "Rejection",
    "amendment_of",
    "cost_of",
    "note_of",
    "objection_of",
    "record_of",
    "utc",
]


def utc(moment: datetime | None) -> datetime | None:
    """A stored moment in UTC (SQLite has no time zones: it hands back naive datetimes, stored as UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """A claim as the API returns it. Amounts are Decimal in the pool's currency."""

    id: int
    pool_key: str
    member_id: int
    event_kind: str
    event_date: date
    filed_on: date
    description: str
    details: dict[str, Any]
    status: ClaimStatus
    benefit: Decimal | None
    cap: Decimal | None
    reasons: list[str]
    sharing_run_id: int | None
    currency: str
    decided_at: datetime | None = None  # when it was approved or rejected, in UTC
    funded: Decimal | None = None  # what the sharing run funded (less than the benefit if prorated)
    refund: Decimal | None = None  # contributions refunded to the member on a denial
    requested: Decimal | None = None  # the most the claim asks for (set by an amendment)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pool": self.pool_key,
            "member_id": self.member_id,
            "event_kind": self.event_kind,
            "event_date": self.event_date.isoformat(),
            "filed_on": self.filed_on.isoformat(),
            "description": self.description,
            "details": self.details,
            "status": self.status.value,
            "benefit": str(self.benefit) if self.benefit is not None else None,
            "cap": str(self.cap) if self.cap is not None else None,
            "reasons": self.reasons,
            "currency": self.currency,
            "sharing_run_id": self.sharing_run_id,
            "decided_at": self.decided_at.isoformat() if self.decided_at is not None else None,
            "funded": str(self.funded) if self.funded is not None else None,
            "refund": str(self.refund) if self.refund is not None else None,
            # Only for a claim amended to ask for less (``claim amend --benefit``).
            **({"requested": str(self.requested)} if self.requested is not None else {}),
        }


def record_of(row: Claim, pool: PoolRecord) -> ClaimRecord:
    def amount(minor: int | None) -> Decimal | None:
        return Money.from_minor(minor, pool.currency).amount if minor is not None else None

    return ClaimRecord(
        id=row.id,
        pool_key=pool.key,
        member_id=row.member_id,
        event_kind=row.event_kind,
        event_date=row.event_date,
        filed_on=row.filed_on,
        description=row.description,
        details=json.loads(row.details_json),
        status=ClaimStatus(row.status),
        benefit=amount(row.benefit_minor),
        cap=amount(row.cap_minor),
        reasons=json.loads(row.reasons_json) if row.reasons_json else [],
        sharing_run_id=row.sharing_run_id,
        currency=pool.currency,
        decided_at=utc(row.decided_at),
        funded=amount(row.funded_minor),
        refund=amount(row.refund_minor),
        requested=amount(row.requested_minor),
    )


@dataclass(frozen=True, slots=True)
class Rejection:
    """What a rejection did.

    :param claim: the claim as now stored (status ``rejected``).
    :param decision: what the cohort decided for it; when that was payable, the operator rejected
        a claim the rules would have paid.
    :param member: the claim's member as now stored.
    :param member_ended: true when this rejection ended the membership (a death the cohort does
        not pay for): the member is now ``deceased`` since the event date.
    :param refund: the contributions refunded to the member (0 unless the cohort's denial
        refunds them).
    """

    claim: ClaimRecord
    decision: BenefitDecision
    member: MemberRecord
    member_ended: bool = False
    refund: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class ClaimHistoryEntry:
    """One step of a claim's life: the status it entered, when (UTC), why, and who took it
    (``--by``, or ``member #N`` for an objection; ``None`` for the system's own steps)."""

    status: ClaimStatus
    changed_at: datetime
    cause: str
    actor: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "changed_at": self.changed_at.isoformat(),
            "cause": self.cause,
            "actor": self.actor,
        }


@dataclass(frozen=True, slots=True)
class InvestigationNote:
    """A document (by reference) or a note in a claim's investigation file."""

    id: int
    claim_id: int
    kind: ClaimNoteKind
    text: str
    added_by: str
    added_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "claim_id": self.claim_id,
            "kind": self.kind.value,
            "text": self.text,
            "added_by": self.added_by,
            "added_at": self.added_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class InvestigationCost:
    """What investigating a claim cost, paid from the operator's fee (``entry_id``: its ledger entry)."""

    id: int
    claim_id: int
    amount: Decimal
    currency: str
    description: str
    incurred_on: date
    recorded_by: str
    entry_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "claim_id": self.claim_id,
            "amount": str(self.amount),
            "currency": self.currency,
            "description": self.description,
            "incurred_on": self.incurred_on.isoformat(),
            "recorded_by": self.recorded_by,
            "entry_id": self.entry_id,
        }


@dataclass(frozen=True, slots=True)
class Objection:
    """A member's objection to a claim in public notice, or the claimant's dispute of a rejection."""

    id: int
    claim_id: int
    member_id: int
    kind: ObjectionKind
    reason: str
    filed_on: date
    status: ObjectionStatus
    resolution: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "claim_id": self.claim_id,
            "member_id": self.member_id,
            "kind": self.kind.value,
            "reason": self.reason,
            "filed_on": self.filed_on.isoformat(),
            "status": self.status.value,
            "resolution": self.resolution,
        }


def note_of(row: ClaimNote) -> InvestigationNote:
    """A row of a claim's investigation file as the API returns it."""
    return InvestigationNote(
        row.id, row.claim_id, ClaimNoteKind(row.kind), row.text, row.added_by, utc(row.added_at) or row.added_at
    )


def cost_of(row: ClaimCost, currency: str) -> InvestigationCost:
    return InvestigationCost(
        row.id,
        row.claim_id,
        from_minor(row.amount_minor, currency),
        currency,
        row.description,
        row.incurred_on,
        row.recorded_by,
        row.entry_id,
    )


def objection_of(row: ClaimObjection) -> Objection:
    return Objection(
        row.id,
        row.claim_id,
        row.member_id,
        ObjectionKind(row.kind),
        row.reason,
        row.filed_on,
        ObjectionStatus(row.status),
        row.resolution,
    )


@dataclass(frozen=True, slots=True)
class ClaimDetail:
    """A claim with its public life (``claim show``): who filed and reviewed it, the decision
    proposed (benefit and cap in minor units), when its notice window closes, its open objections
    and what investigating it cost, and its investigation file."""

    claim: ClaimRecord
    filed_by: str | None
    reviewed_by: str | None
    proposal: dict[str, Any] | None
    notice_closes_on: date | None
    open_objections: int
    investigation_costs: Decimal
    notes: tuple[InvestigationNote, ...] = ()
    costs: tuple[InvestigationCost, ...] = ()
    objections: tuple[Objection, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.claim.as_dict(),
            "filed_by": self.filed_by,
            "reviewed_by": self.reviewed_by,
            "proposal": self.proposal,
            "notice_closes_on": self.notice_closes_on.isoformat() if self.notice_closes_on else None,
            "open_objections": self.open_objections,
            "investigation_costs": str(self.investigation_costs),
            "notes": [n.as_dict() for n in self.notes],
            "costs": [c.as_dict() for c in self.costs],
            "objections": [o.as_dict() for o in self.objections],
        }


@dataclass(frozen=True, slots=True)
class Amendment:
    """One amendment of a claim: when (UTC), by whom, why, each field's ``[old, new]`` value (as
    text; ``benefit`` is the most the claim asks for, ``None`` for what the cohort decides), and the
    status the claim had and was left in."""

    claim_id: int
    amended_at: datetime
    actor: str | None
    reason: str
    changes: dict[str, list[Any]]
    status_before: ClaimStatus
    status_after: ClaimStatus

    @property
    def sent_back(self) -> bool:
        """Whether the amendment sent the claim back to be decided again."""
        return self.status_before != self.status_after

    def describe(self) -> str:
        """The changes in words: ``event_date 2027-03-01 -> 2027-03-02; benefit - -> 500.00``."""
        shown = lambda v: "-" if v in (None, "") else json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v  # noqa: E731
        return "; ".join(f"{field} {shown(old)} -> {shown(new)}" for field, (old, new) in self.changes.items())

    def as_dict(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "amended_at": self.amended_at.isoformat(),
            "actor": self.actor,
            "reason": self.reason,
            "changes": self.changes,
            "status_before": self.status_before.value,
            "status_after": self.status_after.value,
        }


def amendment_of(row: ClaimAmendment) -> Amendment:
    return Amendment(
        claim_id=row.claim_id,
        amended_at=utc(row.amended_at) or row.amended_at,
        actor=row.actor,
        reason=row.reason,
        changes=json.loads(row.changes_json),
        status_before=ClaimStatus(row.status_before),
        status_after=ClaimStatus(row.status_after),
    )
