"""Claims: file, review (a dry run of the decision), approve, reject, list.

The benefit is decided by the pool's cohort and is never above its cap; a claim the cohort does
not find payable cannot be approved. Approved claims wait for the next sharing run.

A death ends the membership on the day of the death: when its claim is approved, and also when it
is rejected because the cohort found it not payable but ending the membership (an excluded death,
``BenefitDecision.deny(..., ends_membership=True)``). When the cohort found a claim payable and
the operator rejects it anyway (disputing that the death happened, say), the membership is left
as it is; ``members.end_membership`` records a death the operator is sure of.
A denial that refunds contributions (``BenefitDecision.deny(..., refund_contributions=True)``,
e.g. an illness diagnosed in the waiting period) records, when the claim is rejected, the refund
of everything the member was charged in the pool, as a ledger entry owed to the member and paid
by the sponsor or by the pool's next period (``[payments] refunds``).
Services take a session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .cohort import BenefitDecision, ClaimFacts, EarlierMembership, MemberFacts, PriorBenefit
from .errors import NotFoundError, PluginError, StateError, ValidationError
from .fields import parse_date, validate_fields
from .ledger import Line, post_entry
from .members import MemberRecord, get_member
from .models import Charge, Claim, Member, Pool, SharingRun
from .money import from_minor, to_minor
from .payments import frozen_spans
from .plugins import Plugins
from .pools import PoolRecord, get_pool, pool_today

__all__ = [
    "ClaimRecord",
    "Rejection",
    "approve_claim",
    "file_claim",
    "get_claim",
    "list_claims",
    "reject_claim",
    "review_claim",
]

PAID_STATUSES = ("approved", "shared")


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
    status: str
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
            "status": self.status,
            "benefit": str(self.benefit) if self.benefit is not None else None,
            "cap": str(self.cap) if self.cap is not None else None,
            "reasons": self.reasons,
            "currency": self.currency,
            "sharing_run_id": self.sharing_run_id,
            "decided_at": self.decided_at.isoformat() if self.decided_at is not None else None,
            "funded": str(self.funded) if self.funded is not None else None,
            "refund": str(self.refund) if self.refund is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Rejection:
    """What :func:`reject_claim` did.

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


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite has no time zones: DateTime(timezone=True) comes back naive there, and is stored as UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _record(row: Claim, pool: PoolRecord) -> ClaimRecord:
    cur = pool.currency
    return ClaimRecord(
        id=row.id,
        pool_key=pool.key,
        member_id=row.member_id,
        event_kind=row.event_kind,
        event_date=row.event_date,
        filed_on=row.filed_on,
        description=row.description,
        details=json.loads(row.details_json),
        status=row.status,
        benefit=from_minor(row.benefit_minor, cur) if row.benefit_minor is not None else None,
        cap=from_minor(row.cap_minor, cur) if row.cap_minor is not None else None,
        reasons=json.loads(row.reasons_json) if row.reasons_json else [],
        sharing_run_id=row.sharing_run_id,
        currency=cur,
        decided_at=_utc(row.decided_at),
        funded=from_minor(row.funded_minor, cur) if row.funded_minor is not None else None,
        refund=from_minor(row.refund_minor, cur) if row.refund_minor is not None else None,
    )


def file_claim(
    session: Session,
    plugins: Plugins,
    pool_key: str,
    member: int | str,
    *,
    event_kind: str,
    event_date: str | date,
    details: Mapping[str, Any] | None = None,
    description: str = "",
    filed_on: str | date | None = None,
) -> ClaimRecord:
    """File a claim for a member. The details are validated by the cohort's claim model.

    :raises ValidationError: listing every problem with the claim's fields.
    """
    pool = get_pool(session, plugins, pool_key)
    cohort = pool.definition.cohort
    record = get_member(session, pool, member)
    problems: list[str] = []
    if cohort.event_kind(event_kind) is None:
        kinds = ", ".join(k.key for k in cohort.event_kinds)
        problems.append(f"kind: {event_kind!r} is not an event of cohort {cohort.key!r}; use one of {kinds}")
    filed: date | None = pool_today(pool.definition)
    event: date | None = None
    if filed_on:
        try:
            filed = parse_date(filed_on, "filed_on")
        except ValueError:
            problems.append(f"filed_on: {filed_on!r} is not a date; write it as YYYY-MM-DD")
            filed = None
    try:
        event = parse_date(event_date, "event date")
    except ValueError as exc:
        problems.append(f"date: {exc}")
    if event is not None and filed is not None and event > filed:
        problems.append(f"date: the event date {event.isoformat()} is after the filing date {filed.isoformat()}")
    if event is not None and event < record.joined_on:
        problems.append(
            f"date: the event date {event.isoformat()} is before member #{record.id} joined ({record.joined_on.isoformat()})"
        )
    parsed, detail_problems = validate_fields(cohort.claim_model, details or {})
    problems.extend(f"detail {p}" for p in detail_problems)
    if problems or parsed is None or event is None or filed is None:
        raise ValidationError(problems, summary=f"the claim for member #{record.id} was not filed:")
    row = Claim(
        pool_id=pool.id,
        member_id=record.id,
        event_kind=event_kind,
        event_date=event,
        filed_on=filed,
        description=description.strip(),
        details_json=parsed.model_dump_json(),
        member_attributes_json=json.dumps(record.attributes, ensure_ascii=False, sort_keys=True),
        status="filed",
    )
    session.add(row)
    session.flush()
    return _record(row, pool)


def _load(session: Session, plugins: Plugins, claim_id: int, *, lock: bool = False) -> tuple[Claim, PoolRecord]:
    # ``lock``: the claim's row is locked (FOR UPDATE on PostgreSQL) until the transaction ends, so
    # that two operators deciding the same claim at once cannot both decide it.
    row = session.get(Claim, claim_id, with_for_update=lock or None)
    if row is None:
        raise NotFoundError(f"no claim #{claim_id}; 'mutualaid claim list POOL' shows the claims")
    key = session.scalar(select(Pool.key).where(Pool.id == row.pool_id))
    return row, get_pool(session, plugins, str(key))


def get_claim(session: Session, plugins: Plugins, claim_id: int) -> ClaimRecord:
    row, pool = _load(session, plugins, claim_id)
    return _record(row, pool)


def _core_denials(member: Member, claim: Claim) -> list[str]:
    reasons = []
    if member.ended_on is not None and claim.event_date > member.ended_on:
        reasons.append(
            f"the event on {claim.event_date.isoformat()} is after the membership ended on {member.ended_on.isoformat()}"
        )
    return reasons


def _decide(session: Session, row: Claim, pool: PoolRecord) -> BenefitDecision:
    cohort = pool.definition.cohort
    member = session.get(Member, row.member_id)
    if member is None:  # pragma: no cover - prevented by the foreign key
        raise NotFoundError(f"claim #{row.id} names member #{row.member_id}, who does not exist")
    denials = _core_denials(member, row)
    if denials:
        return BenefitDecision.deny(denials)
    prior_rows = session.scalars(
        select(Claim)
        .where(Claim.member_id == row.member_id, Claim.status.in_(PAID_STATUSES), Claim.id != row.id)
        .order_by(Claim.event_date, Claim.id)
    ).all()
    prior = tuple(
        PriorBenefit(p.id, p.event_kind, p.event_date, from_minor(p.benefit_minor or 0, pool.currency))
        for p in prior_rows
    )
    details, problems = validate_fields(cohort.claim_model, json.loads(row.details_json))
    if details is None:
        return BenefitDecision.deny([f"the claim's stored details are no longer valid: {'; '.join(problems)}"])
    # Decided on the attributes recorded when the claim was filed, not on later updates.
    recorded = json.loads(row.member_attributes_json)
    attributes, _ = validate_fields(cohort.member_model, recorded)
    if attributes is None:
        attributes = cohort.member_model.model_construct(**recorded)
    earlier = tuple(
        EarlierMembership(m.id, m.joined_on, m.ended_on, m.status)
        for m in session.scalars(
            select(Member)
            .where(Member.pool_id == member.pool_id, Member.id_number == member.id_number, Member.id != member.id)
            .where(Member.joined_on <= member.joined_on)
            .order_by(Member.joined_on, Member.id)
        )
    )
    facts = ClaimFacts(
        claim_id=row.id,
        event_kind=row.event_kind,
        event_date=row.event_date,
        filed_on=row.filed_on,
        details=details,
        description=row.description,
        member=MemberFacts(
            member_id=member.id,
            id_number=member.id_number,
            name=member.name,
            birth_date=member.birth_date,
            joined_on=member.joined_on,
            waiting_until=member.waiting_until,
            status=member.status,
            attributes=attributes,
            frozen_spans=frozen_spans(session, member.id),
            earlier_memberships=earlier,
        ),
        prior_benefits=prior,
        currency=pool.currency,
    )
    decision = cohort.rules.decide_benefit(facts, pool.definition.settings)
    if not isinstance(decision, BenefitDecision):
        raise PluginError(
            f"cohort {cohort.key!r} returned {decision!r} instead of a BenefitDecision for claim #{row.id}"
        )
    try:
        to_minor(decision.amount, pool.currency)
        to_minor(decision.cap, pool.currency)
    except ValueError as exc:
        raise PluginError(f"cohort {cohort.key!r} decided claim #{row.id} with an inexact amount: {exc}") from None
    return decision


def contributions(session: Session, pool_id: int, member_id: int) -> int:
    """Everything a member was charged in a pool, in minor units (one key look-up per run)."""
    runs = select(SharingRun.id).where(SharingRun.pool_id == pool_id)
    total = session.scalar(
        select(func.coalesce(func.sum(Charge.amount_minor), 0)).where(
            Charge.run_id.in_(runs), Charge.member_id == member_id
        )
    )
    return int(total or 0)


def _refund(session: Session, pool: PoolRecord, row: Claim) -> int:
    """Record the refund of a member's contributions after a denial that gives them back."""
    amount = contributions(session, pool.id, row.member_id)
    row.refund_minor = amount
    payer = "sponsor_due" if pool.definition.config.payments.refunds == "sponsor" else "deficit"
    post_entry(
        session,
        pool.id,
        kind="refund",
        posted_on=pool_today(pool.definition),
        memo=f"contributions of member #{row.member_id} refunded on the denial of claim #{row.id}",
        lines=[Line(payer, amount), Line("refunds_payable", -amount, member_id=row.member_id, claim_id=row.id)],
        facts={"member_id": row.member_id, "refund": amount, "funded_by": payer},
        claim_id=row.id,
    )
    return amount


def review_claim(session: Session, plugins: Plugins, claim_id: int) -> tuple[ClaimRecord, BenefitDecision]:
    """What the cohort would decide for a claim now, without changing anything."""
    row, pool = _load(session, plugins, claim_id)
    return _record(row, pool), _decide(session, row, pool)


def approve_claim(session: Session, plugins: Plugins, claim_id: int) -> tuple[ClaimRecord, BenefitDecision]:
    """Approve a filed claim for the benefit the cohort decides.

    :raises StateError: if the claim is not waiting for a decision, or the cohort finds it not
        payable (the message lists the reasons).
    """
    row, pool = _load(session, plugins, claim_id, lock=True)
    if row.status != "filed":
        raise StateError(f"claim #{claim_id} is already {row.status}; only a filed claim can be approved")
    # Lock the member too: approvals of two claims of one member are decided one after the other,
    # each seeing what the other paid, so that together they stay within the combined cap.
    session.get(Member, row.member_id, with_for_update=True)
    decision = _decide(session, row, pool)
    if not decision.payable:
        raise StateError(f"claim #{claim_id} cannot be approved: {'; '.join(decision.reasons)}")
    row.status = "approved"
    row.benefit_minor = to_minor(decision.amount, pool.currency)
    row.cap_minor = to_minor(decision.cap, pool.currency)
    row.reasons_json = json.dumps(list(decision.reasons), ensure_ascii=False)
    row.decided_at = datetime.now(UTC)
    if decision.ends_membership:
        _end_membership(session, plugins, pool, row)
    session.flush()
    plugins.hook.claim_decided(pool=pool.definition.config, claim_id=row.id, decision=decision, approved=True)
    return _record(row, pool), decision


def _end_membership(
    session: Session, plugins: Plugins, pool: PoolRecord, claim: Claim, *, status: str = "deceased"
) -> Member | None:
    """Record the claim's member as deceased (or ``exited``) on the event date, unless the
    membership already ended."""
    member = session.get(Member, claim.member_id)
    if member is None or member.ended_on is not None:
        return None
    member.status = status
    member.ended_on = claim.event_date
    session.flush()
    plugins.hook.member_ended(pool=pool.definition.config, member_id=member.id, status=status, on=claim.event_date)
    return member


def reject_claim(session: Session, plugins: Plugins, claim_id: int, reason: str) -> Rejection:
    """Reject a filed claim with the operator's reason (required).

    When the cohort finds the claim not payable and the event ends the membership (a death the
    pool does not pay for, e.g. while drunk driving), the member is recorded as deceased on the
    event date, as an approval would. When the cohort finds it payable, the operator's rejection
    leaves the membership as it is.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError(["reason: a rejection needs a reason the member can read"])
    row, pool = _load(session, plugins, claim_id, lock=True)
    if row.status != "filed":
        raise StateError(f"claim #{claim_id} is already {row.status}; only a filed claim can be rejected")
    session.get(Member, row.member_id, with_for_update=True)  # as approve_claim: one decision at a time
    decision = _decide(session, row, pool)
    row.status = "rejected"
    row.benefit_minor = 0
    row.reasons_json = json.dumps([reason], ensure_ascii=False)
    row.decided_at = datetime.now(UTC)
    ended = (
        _end_membership(session, plugins, pool, row, status=decision.ends_as)
        if decision.ends_membership and not decision.payable
        else None
    )
    refund = _refund(session, pool, row) if decision.refund_contributions and not decision.payable else 0
    session.flush()
    plugins.hook.claim_decided(pool=pool.definition.config, claim_id=row.id, decision=decision, approved=False)
    return Rejection(
        _record(row, pool),
        decision,
        get_member(session, pool, row.member_id),
        ended is not None,
        from_minor(refund, pool.currency),
    )


def list_claims(session: Session, plugins: Plugins, pool_key: str, *, status: str | None = None) -> list[ClaimRecord]:
    pool = get_pool(session, plugins, pool_key)
    query = select(Claim).where(Claim.pool_id == pool.id).order_by(Claim.id)
    if status:
        query = query.where(Claim.status == status)
    return [_record(row, pool) for row in session.scalars(query)]
