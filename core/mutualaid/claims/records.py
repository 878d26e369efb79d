"""What the claims domain gives back: a claim, a rejection, and a claim's history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ..cohort import BenefitDecision
from ..db.models import Claim
from ..members.records import MemberRecord
from ..money import Money
from ..pools import PoolRecord
from ..vocabulary import ClaimStatus

__all__ = ["ClaimHistoryEntry", "ClaimRecord", "Rejection", "record_of", "utc"]


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
    """One step of a claim's life: the status it entered, when (UTC) and why."""

    status: ClaimStatus
    changed_at: datetime
    cause: str

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "changed_at": self.changed_at.isoformat(), "cause": self.cause}
